"""fairseq's binarized data (``PREFIX.bin`` + ``PREFIX.idx`` of ``fairseq-preprocess``), loaded with checks:
a missing, unreadable or truncated file is one :class:`InputFileError` line naming it, raised when the
task loads the split, not an index error in the middle of training."""
import os

from fairseq.data import data_utils
from fairseq.data.indexed_dataset import MMapIndexedDataset

from fairseq_xlgen.errors import InputFileError


def load_binarized(prefix, dictionary, dataset_impl, remedy):
    """The indexed dataset at ``prefix``; ``remedy`` says how to (re)make it."""
    try:
        dataset = data_utils.load_indexed_dataset(prefix, dictionary, dataset_impl)
    except Exception as error:  # a torn .idx: struct, numpy and assertion errors
        raise InputFileError(f"{prefix}.idx", f"unreadable index ({type(error).__name__}); {remedy}") from None
    if dataset is None:
        raise InputFileError(f"{prefix}.bin", f"missing; {remedy}")
    if isinstance(dataset, MMapIndexedDataset) and len(dataset):
        index = dataset._index
        needed = int(index._pointers[-1]) + int(index._sizes[-1]) * index.dtype().itemsize
        found = os.path.getsize(f"{prefix}.bin")
        if found < needed:
            raise InputFileError(f"{prefix}.bin", f"truncated: {found} bytes, its index needs {needed}; {remedy}")
    return dataset
