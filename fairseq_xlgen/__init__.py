"""fairseq-xlgen: zero-shot cross-lingual generation as a fairseq ``--user-dir`` plugin.

Importing the package registers every task, model, architecture and criterion with
fairseq. Pass ``--user-dir $(xlgen-userdir)`` to the fairseq command-line tools.
"""
import importlib
import logging
import os

# fairseq logs an install hint for an optional speech dependency on import; text paths never use it
logging.getLogger("fairseq.tasks.text_to_speech").setLevel(logging.WARNING)

__version__ = "0.1.0"

_REGISTERED_PACKAGES = ("criterions", "models", "tasks")


def _import_components():
    """Import every module of the registering sub-packages (fairseq's own convention)."""
    root = os.path.dirname(__file__)
    for package in _REGISTERED_PACKAGES:
        for name in sorted(os.listdir(os.path.join(root, package))):
            if name.endswith(".py") and not name.startswith("_"):
                importlib.import_module(f"{__name__}.{package}.{name[:-3]}")
    importlib.import_module(f"{__name__}.testbed.architectures")  # the *_tiny sizes of the models above


_import_components()

from fairseq_xlgen.errors import report_input_errors_in_one_line

report_input_errors_in_one_line()
