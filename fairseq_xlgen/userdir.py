"""xlgen-userdir: print the directory to pass as ``fairseq-train --user-dir``."""
import argparse
import os

USER_DIR = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    argparse.ArgumentParser(prog="xlgen-userdir", description=__doc__).parse_args(argv)
    print(USER_DIR)


if __name__ == "__main__":
    main()
