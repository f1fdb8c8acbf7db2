"""`tf.train.Saver`: saves and restores variables as HDF5 checkpoints (TF1 API).

The Saver groups the variables by device and builds, under each device, one save op and
one restore op taking that group's variables (hpcflow/checkpoint/ops.py). Run in a placed
MPI job, every rank writes its own shard in parallel and restores its own variables; rank 0
then writes the index and, from Python, the `checkpoint` state file. Nothing large passes
through rank 0. Run data parallel, rank 0 writes the one file and every rank restores its
replica from it. The checkpoint directory must therefore be on a file system every rank
sees (as HPC scratch and home file systems are).

Typical use, as in TF1:

    saver = tf.train.Saver(max_to_keep=3)
    with tf.Session() as sess:
        path = tf.train.latest_checkpoint("ckpt")
        if path:
            saver.restore(sess, path)
        else:
            sess.run(tf.global_variables_initializer())
        ...
        saver.save(sess, "ckpt/model.ckpt", global_step=step)   # -> "ckpt/model.ckpt-<step>"
"""
import collections
import logging
import os
import time

import numpy as np

from ..checkpoint import files as ckpt_files
from ..checkpoint import ops as ckpt_ops
from ..checkpoint import reader as ckpt_reader
from ..checkpoint.reader import (NewCheckpointReader, list_variables,  # noqa: F401 - TF1 names
                                 load_checkpoint, load_variable)
from ..checkpoint.state_file import (CheckpointState, checkpoint_exists,  # noqa: F401
                                     generate_checkpoint_state_proto, get_checkpoint_mtimes,
                                     get_checkpoint_state, latest_checkpoint, remove_checkpoint,
                                     update_checkpoint_state)
from ..framework import dtypes, errors
from ..framework.graph import GraphKeys, Tensor, get_default_graph
from ..ops import array_ops, constant_op, control_flow_ops
from ..ops import variables as variables_lib
from ..ops.partitioned_variables import PartitionedVariable
from . import training_util

_logger = logging.getLogger("hpcflow")

# A variable to save: its checkpoint name, the Variable (or VariableV2 tensor wrapper), and
# where it sits in a partitioned variable (a SaveSliceInfo) or None.
_Saveable = collections.namedtuple("_Saveable", "key variable slice_info")


class SaverDef:
    """TF1's SaverDef: how to drive a Saver's ops by name."""

    V1, V2 = 1, 2

    def __init__(self, filename_tensor_name, save_tensor_name, restore_op_name, max_to_keep,
                 sharded, keep_checkpoint_every_n_hours, version=2):
        self.filename_tensor_name = filename_tensor_name
        self.save_tensor_name = save_tensor_name
        self.restore_op_name = restore_op_name
        self.max_to_keep = max_to_keep
        self.sharded = sharded
        self.keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self.version = version

    def __repr__(self):
        return "SaverDef(%s)" % ", ".join("%s=%r" % kv for kv in vars(self).items())


class _RefVariable:
    """A bare VariableV2 tensor (a var_list entry that is not a Variable), seen as one."""

    def __init__(self, tensor):
        self._tensor = tensor
        self.op = tensor.op
        self.shape = tensor.shape
        self.dtype = tensor.dtype
        self.name = tensor.name

    def _ref(self):
        return self._tensor


def _as_saveable_variable(value, where):
    if isinstance(value, variables_lib.Variable):
        return value
    if isinstance(value, Tensor) and value.op.type == "VariableV2":
        return _RefVariable(value)
    raise TypeError("Variable to save is not a Variable or a VariableV2 tensor: %r (%s)"
                    % (value, where))


def _saveables(var_list):
    """The list of _Saveable for a Saver's `var_list` (None, list, tuple or dict).

    Raises:
      TypeError: for an entry that is not a variable.
      ValueError: for two variables under one name, or one variable saved twice.
    """
    if var_list is None:
        var_list = variables_lib.global_variables() + \
            get_default_graph().get_collection(GraphKeys.SAVEABLE_OBJECTS)
    result = []
    if isinstance(var_list, dict):
        for name in sorted(var_list):
            value = var_list[name]
            pieces = list(value) if isinstance(value, (PartitionedVariable, list, tuple)) \
                else [value]
            for piece in pieces:
                variable = _as_saveable_variable(piece, "name %r" % name)
                info = getattr(variable, "_save_slice_info", None)
                if len(pieces) > 1 and info is None:
                    raise ValueError("Variable %s saved under %r is one of several values but "
                                     "has no slice information" % (variable.name, name))
                result.append(_Saveable(name, variable, info))
    elif isinstance(var_list, (list, tuple, set)):
        for value in var_list:
            pieces = list(value) if isinstance(value, PartitionedVariable) else [value]
            for piece in pieces:
                variable = _as_saveable_variable(piece, "in var_list")
                info = getattr(variable, "_save_slice_info", None)
                key = info.full_name if info is not None else variable.op.name
                result.append(_Saveable(key, variable, info))
    else:
        raise TypeError("var_list must be a list, tuple or dict of variables, got %s"
                        % type(var_list).__name__)
    seen_ops, whole_keys, slice_keys = set(), set(), set()
    for saveable in result:
        op = saveable.variable.op
        if op in seen_ops:
            raise ValueError("Variable %s is in the Saver's var_list twice" % op.name)
        seen_ops.add(op)
        keys = slice_keys if saveable.slice_info is not None else whole_keys
        other = whole_keys if saveable.slice_info is not None else slice_keys
        if saveable.key in other or (saveable.slice_info is None and saveable.key in keys):
            raise ValueError("At least two variables have the same name: %s" % saveable.key)
        keys.add(saveable.key)
    return result


def _group_by_device(saveables):
    """[(device, [_Saveable])] sorted by device string (shard numbering is stable)."""
    groups = collections.defaultdict(list)
    for saveable in saveables:
        groups[saveable.variable.op.device or ""].append(saveable)
    return sorted(groups.items())


class Saver:
    """Saves and restores variables as HDF5 checkpoints (TF1 `tf.train.Saver`).

    Args:
      var_list: the variables to save: a list (Variables, PartitionedVariables), a dict
        {checkpoint name: Variable, PartitionedVariable or list of its slices}, or None for
        all global variables (trainable ones, optimizer slots, the global step).
      reshape: if True, restore a variable from a checkpoint value of another shape with the
        same number of elements.
      sharded: accepted for TF compatibility; hpcflow always saves per device group (one
        shard per device holding variables, written where the variables live).
      max_to_keep: how many recent checkpoints to keep (None or 0: keep all).
      keep_checkpoint_every_n_hours: also keep one checkpoint per this many hours.
      name: the name scope of the Saver's ops (default "save").
      pad_step_number: format the step in checkpoint names with 8 digits.
      save_relative_paths: write paths relative to the directory in the state file.
      filename: the default checkpoint path fed to the ops.
      restore_sequentially, write_version: accepted for TF compatibility, no effect (each
        device group restores in one op; there is one, HDF5, format).
      saver_def, builder: not supported (hpcflow has no meta-graph import).
      defer_build: build the ops at `build()` instead of now.
      allow_empty: with no variables, build nothing instead of raising.

    Raises:
      ValueError: with no variables (unless `allow_empty`), for duplicate names, or for
        `saver_def`/`builder`.
      TypeError: for a `var_list` entry that is not a variable.
    """

    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False,
                 saver_def=None, builder=None, defer_build=False, allow_empty=False,
                 write_version=None, pad_step_number=False, save_relative_paths=False,
                 filename=None):
        if saver_def is not None or builder is not None:
            raise ValueError("hpcflow's Saver builds its own ops: saver_def and builder are not "
                             "supported (there is no meta-graph import)")
        self._var_list = var_list
        self._reshape = bool(reshape)
        self._max_to_keep = max_to_keep
        self._keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self._name = name
        self._allow_empty = allow_empty
        self._pad_step_number = pad_step_number
        self._save_relative_paths = save_relative_paths
        self._filename = filename
        self._next_checkpoint_time = time.time() + keep_checkpoint_every_n_hours * 3600
        self._last_checkpoints = []  # [(path, time saved)]
        self._checkpoints_to_be_deleted = []
        self._built = False
        self._is_empty = False
        self.saver_def = None
        if not defer_build:
            self.build()

    # -- building ------------------------------------------------------------------------------

    def build(self):
        """Builds the save and restore ops (once).

        Raises:
          ValueError: if there is nothing to save and `allow_empty` is False.
          RuntimeError: if the graph is finalized.
        """
        if self._built:
            return
        saveables = _saveables(self._var_list)
        if not saveables:
            if not self._allow_empty:
                raise ValueError("No variables to save")
            self._is_empty = True
            self._built = True
            return
        graph = saveables[0].variable.op.graph
        self._graph = graph
        self._saveables = saveables
        groups = _group_by_device(saveables)
        with graph.as_default(), graph.name_scope(self._name or "save") as scope, \
                graph.control_dependencies(None), graph.device(None):
            self._filename_tensor = constant_op.constant(self._filename or "model",
                                                         dtype=dtypes.string, name="Const")
            self._step_tensor = constant_op.constant(-1, dtype=dtypes.int64, name="global_step")
            self._token_tensor = constant_op.constant("", dtype=dtypes.string, name="token")
            save_ops, restore_ops = [], []
            for shard, (device, group) in enumerate(groups):
                members = [(s.key, s.variable, s.slice_info) for s in group]
                # Each group's ops run where its variables live (no device: with the client).
                with graph.device(device or None):
                    save_ops.append(ckpt_ops.save_hdf5(
                        self._filename_tensor, self._step_tensor, self._token_tensor, members,
                        shard, len(groups), name="SaveHDF5"))
                    restore_ops.append(ckpt_ops.restore_hdf5(
                        self._filename_tensor, members, reshape=self._reshape,
                        name="RestoreHDF5"))
            final = save_ops[0]
            if len(groups) > 1:
                final = ckpt_ops.merge_hdf5_index(self._filename_tensor, self._step_tensor,
                                                  self._token_tensor, len(groups), save_ops)
            with graph.control_dependencies([final]):
                self._save_tensor = array_ops.identity(self._filename_tensor,
                                                       name="control_dependency")
            self._restore_op = control_flow_ops.group(*restore_ops, name="restore_all")
        self._num_shards = len(groups)
        self.saver_def = SaverDef(self._filename_tensor.name, self._save_tensor.name,
                                  self._restore_op.name, self._max_to_keep, True,
                                  self._keep_checkpoint_every_n_hours)
        self._scope = scope
        self._built = True

    def as_saver_def(self):
        """The SaverDef naming this Saver's tensors and ops."""
        return self.saver_def

    def to_proto(self, export_scope=None):
        return self.saver_def

    # -- bookkeeping of kept checkpoints ---------------------------------------------------------

    @property
    def last_checkpoints(self):
        """The checkpoints this Saver keeps, oldest first."""
        return [path for path, _ in self._last_checkpoints]

    def set_last_checkpoints(self, last_checkpoints):
        """Deprecated TF1 API: sets the kept checkpoints (their times unknown: now)."""
        if not isinstance(last_checkpoints, list):
            raise TypeError("last_checkpoints must be a list, got %s" % type(last_checkpoints))
        self._last_checkpoints = [(path, time.time()) for path in last_checkpoints]

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time):
        """Sets the kept checkpoints as [(path, timestamp)], oldest first."""
        if not isinstance(last_checkpoints_with_time, list):
            raise TypeError("last_checkpoints_with_time must be a list")
        self._last_checkpoints = list(last_checkpoints_with_time)

    def recover_last_checkpoints(self, checkpoint_paths):
        """Resumes pruning after a restart: keeps those of `checkpoint_paths` that exist."""
        existing = [p for p in checkpoint_paths if checkpoint_exists(p)]
        self.set_last_checkpoints_with_time(list(zip(existing, get_checkpoint_mtimes(existing))))

    def _record_last_checkpoint(self, path):
        if not self._max_to_keep:
            return
        self._last_checkpoints = [p for p in self._last_checkpoints if p[0] != path]
        self._last_checkpoints.append((path, time.time()))
        if len(self._last_checkpoints) > self._max_to_keep:
            self._checkpoints_to_be_deleted.append(self._last_checkpoints.pop(0))

    def _maybe_delete_old_checkpoints(self):
        while self._checkpoints_to_be_deleted:
            path, saved_at = self._checkpoints_to_be_deleted.pop(0)
            if saved_at > self._next_checkpoint_time:
                # Kept for good: one per keep_checkpoint_every_n_hours.
                self._next_checkpoint_time += self._keep_checkpoint_every_n_hours * 3600
                continue
            remove_checkpoint(path)

    # -- save / restore --------------------------------------------------------------------------

    def _check_session(self, sess):
        from ..runtime.session import BaseSession
        if not isinstance(sess, BaseSession):
            raise TypeError("'sess' must be a Session; %s" % (sess,))
        if sess.graph is not self._graph:
            raise ValueError("The session's graph is not the graph of the Saver's variables")

    def save(self, sess, save_path, global_step=None, latest_filename=None,
             meta_graph_suffix="meta", write_meta_graph=True, write_state=True,
             strip_default_attrs=False, save_debug_info=False):
        """Saves the variables; returns the checkpoint path (`save_path-<global_step>`).

        Args:
          sess: the Session holding the values.
          save_path: the checkpoint prefix, e.g. "ckpt/model.ckpt"; its directory must exist.
          global_step: an int, or a Tensor/Variable evaluated in `sess`, appended to the path.
          latest_filename: the state file's name (default "checkpoint").
          write_state: if True, update the state file and prune old checkpoints.
          meta_graph_suffix, write_meta_graph, strip_default_attrs, save_debug_info:
            accepted for TF compatibility; hpcflow writes no meta graph.

        Returns:
          The checkpoint path, or None if the Saver has no variables.

        Raises:
          TypeError: if `sess` is not a Session.
          ValueError: if the parent directory does not exist or names collide.
          ResourceExhaustedError, PermissionDeniedError, NotFoundError, UnknownError: if a
            rank cannot write its file (disk full, read-only, ...), naming the rank.
        """
        self.build()
        if self._is_empty:
            _logger.info("Saver has no variables to save: nothing written for %s", save_path)
            return None
        self._check_session(sess)
        latest_filename = latest_filename or "checkpoint"
        if os.path.split(latest_filename)[0]:
            raise ValueError("'latest_filename' must not contain path components")
        step = -1
        if global_step is not None:
            if not isinstance(global_step, (int, np.integer)):
                global_step = training_util.global_step(sess, global_step)
            step = int(global_step)
            checkpoint_file = ("%s-%08d" if self._pad_step_number else "%s-%d") % (save_path,
                                                                                 step)
        else:
            checkpoint_file = save_path
            if os.path.basename(save_path) == latest_filename:
                raise ValueError("'latest_filename' collides with 'save_path': '%s' and '%s'"
                                 % (latest_filename, save_path))
        save_dir = os.path.dirname(save_path)
        if save_dir and not os.path.isdir(save_dir):
            raise ValueError("Parent directory of {} doesn't exist, can't save.".format(save_path))
        token = os.urandom(6).hex()
        sess.run(self._save_tensor, {self._filename_tensor: checkpoint_file,
                                     self._step_tensor: step, self._token_tensor: token})
        # Shards of an earlier save to this path are no longer referenced by the new index.
        ckpt_files.remove_stale_shards(checkpoint_file, token if self._num_shards > 1 else None)
        if write_state:
            self._record_last_checkpoint(checkpoint_file)
            update_checkpoint_state(save_dir or ".", checkpoint_file, self.last_checkpoints,
                                    latest_filename,
                                    save_relative_paths=self._save_relative_paths)
            self._maybe_delete_old_checkpoints()
        return checkpoint_file

    def restore(self, sess, save_path):
        """Restores the variables from checkpoint `save_path` (each rank restores its own).

        Everything is checked first: a missing or mismatched variable, or a damaged file,
        raises before any variable changes.

        Raises:
          ValueError: if `save_path` is None or not a checkpoint.
          NotFoundError: if a variable is missing from the checkpoint (naming it).
          InvalidArgumentError: if a variable's shape or dtype differs (naming it).
          DataLossError: if the checkpoint is damaged (naming the file).
        """
        self.build()
        if self._is_empty:
            return
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        if not checkpoint_exists(save_path):
            raise ValueError("The passed save_path is not a valid checkpoint: %s" % save_path)
        self._check_session(sess)
        _logger.info("Restoring parameters from %s", save_path)
        self._verify(save_path)
        sess.run(self._restore_op, {self._filename_tensor: save_path})

    def _verify(self, save_path):
        """Checks names, shapes and dtypes against the checkpoint's metadata (cheap)."""
        with ckpt_reader.CheckpointReader(save_path) as reader:
            shapes = reader.get_variable_to_shape_map()
            types = reader.get_variable_to_dtype_map()
            for saveable in self._saveables:
                key, variable = saveable.key, saveable.variable
                if key not in shapes:
                    raise errors.NotFoundError(
                        None, None, "Restoring from checkpoint failed: variable %s (saved as "
                        "%r) is not in checkpoint %s, which holds %s" % (
                            variable.op.name, key, save_path, _summary(sorted(shapes))))
                if types[key].name != variable.dtype.base_dtype.name:
                    raise errors.InvalidArgumentError(
                        None, None, "Restoring from checkpoint failed: variable %s has dtype %s "
                        "but %r has dtype %s in checkpoint %s" % (
                            variable.op.name, variable.dtype.base_dtype.name, key,
                            types[key].name, save_path))
                if saveable.slice_info is not None:
                    expected = list(saveable.slice_info.full_shape)
                    what = "partitioned variable %s (holding %s) has full shape" % (
                        key, variable.op.name)
                else:
                    expected = variable.shape.as_tuple_or_none()
                    what = "variable %s has shape" % variable.op.name
                _check_shape(what, key, expected, shapes[key], save_path,
                             self._reshape and saveable.slice_info is None)


def _summary(names, limit=8):
    shown = ", ".join(names[:limit])
    return shown + (", ... (%d in all)" % len(names) if len(names) > limit else "")


def _check_shape(what, key, expected, stored, save_path, reshape):
    if expected is None:
        return
    expected = list(expected)
    if reshape and None not in expected and \
            np.prod(expected, dtype=np.int64) == np.prod(stored, dtype=np.int64):
        return
    if len(expected) != len(stored) or any(e is not None and e != s
                                            for e, s in zip(expected, stored)):
        raise errors.InvalidArgumentError(
            None, None, "Restoring from checkpoint failed: %s %s but %r has shape %s in "
            "checkpoint %s" % (what, _dims(expected), key, _dims(stored), save_path))


def _dims(shape):
    return "[%s]" % ",".join("?" if d is None else str(d) for d in shape)


__all__ = ["CheckpointState", "NewCheckpointReader", "Saver", "SaverDef", "checkpoint_exists",
           "generate_checkpoint_state_proto", "get_checkpoint_mtimes", "get_checkpoint_state",
           "latest_checkpoint", "list_variables", "load_checkpoint", "load_variable",
           "remove_checkpoint", "update_checkpoint_state"]
