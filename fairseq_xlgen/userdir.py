"""Print the directory to pass as ``fairseq-train --user-dir``."""
import os

USER_DIR = os.path.dirname(os.path.abspath(__file__))


def main():
    print(USER_DIR)


if __name__ == "__main__":
    main()
