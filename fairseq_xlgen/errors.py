"""Bad user input, reported in one line: the error types, the CLI exit decorator, fairseq's exception hook
and the argparse types of counts.

Every problem with user input is an :class:`InputError` whose message names the file (and line) or flag
and says what to do; the command-line tools print it as one line ``error: <message>`` and exit with status
2 (:func:`exit_on_input_error`); inside fairseq's own tools :func:`report_input_errors_in_one_line` does
the same through ``sys.excepthook``.
"""
import argparse
import functools
import sys


class InputError(ValueError):
    """Bad user input: reported as one ``error:`` line with exit status 2."""



class InputFileError(InputError):
    """A missing or malformed input file; ``str(error)`` is ``file:line: what is wrong``."""

    def __init__(self, path, message, line=None):
        self.path = path
        self.line = line
        location = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{location}: {message}")



def positive_int(value):
    """argparse type of a count that must be at least 1 (a size, a number of items or epochs)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be a positive integer")
    return number



def non_negative_int(value):
    """argparse type of a count that may be 0."""
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be 0 or a positive integer")
    return number



def exit_on_input_error(main):
    """Decorate a command-line ``main``: an :class:`InputError` becomes ``error: ...`` on
    stderr and exit status 2, without a traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)

    return wrapper



def report_input_errors_in_one_line():
    """Inside fairseq's own tools (``fairseq-train --user-dir ...``), an uncaught :class:`InputError`,
    or an exception raised while handling one (fairseq wraps checkpoint-loading errors), prints
    ``error: <message>`` instead of a traceback (Python still exits with status 1)."""
    previous = sys.excepthook
    if getattr(previous, "reports_input_errors", False):
        return

    def hook(kind, error, traceback):
        cause = error
        while cause is not None and not isinstance(cause, InputError):  # fairseq re-raises load errors
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            previous(kind, error, traceback)
        else:
            print(f"error: {cause}", file=sys.stderr)

    hook.reports_input_errors = True
    sys.excepthook = hook
