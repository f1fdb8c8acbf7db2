"""HDF5 checkpoints: the file format, atomic writers, verified readers, the save/restore ops
and the `checkpoint` state file. `hpcflow.train.Saver` is the user-facing API."""
from . import ops  # noqa: F401 - registers SaveHDF5, MergeHDF5Index, RestoreHDF5 on every rank
from .format import FORMAT_VERSION  # noqa: F401
from .reader import (CheckpointReader, NewCheckpointReader, list_variables,  # noqa: F401
                     load_checkpoint, load_variable)
from .state_file import (CheckpointState, checkpoint_exists,  # noqa: F401
                         generate_checkpoint_state_proto, get_checkpoint_mtimes,
                         get_checkpoint_state, latest_checkpoint, remove_checkpoint,
                         update_checkpoint_state)
