"""`hpcflow.data`: input pipelines that read from files on every rank, not through rank 0.

`HDF5Reader` reads shuffled batches of HDF5 datasets; in a data-parallel MPI job each rank
reads only its block of every batch. See hdf5_reader.py.
"""
from .hdf5_reader import HDF5Reader, read_rows  # noqa: F401
from .schedule import EpochSchedule, split_counts  # noqa: F401

__all__ = ["EpochSchedule", "HDF5Reader", "read_rows", "split_counts"]
