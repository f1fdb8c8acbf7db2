"""The `checkpoint` state file: which checkpoints of a directory exist and which is latest.

Same text format as TF1 (a CheckpointState protocol buffer in text form), so tools that
read TF's file read ours:

    model_checkpoint_path: "model.ckpt-7"
    all_model_checkpoint_paths: "model.ckpt-5"
    all_model_checkpoint_paths: "model.ckpt-7"
    all_model_checkpoint_timestamps: 1790000000.5
    all_model_checkpoint_timestamps: 1790000060.1
    last_preserved_timestamp: 1789999990.0

Paths are stored relative to the directory when the directory was given as a relative
path (or `save_relative_paths` is set), as TF does. The file is replaced atomically, and
only after the checkpoint it names is complete on disk.
"""
import logging
import os

from . import files

_logger = logging.getLogger("hpcflow")

DEFAULT_STATE_FILENAME = "checkpoint"


class CheckpointState:
    """TF1's CheckpointState: the latest checkpoint and the ones still kept."""

    def __init__(self, model_checkpoint_path="", all_model_checkpoint_paths=(),
                 all_model_checkpoint_timestamps=(), last_preserved_timestamp=0.0):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths)
        self.all_model_checkpoint_timestamps = list(all_model_checkpoint_timestamps)
        self.last_preserved_timestamp = last_preserved_timestamp

    def __eq__(self, other):
        return isinstance(other, CheckpointState) and vars(self) == vars(other)

    def __repr__(self):
        return to_text(self)


def _quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unquote(text, path):
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError("%s: expected a quoted string, got %s" % (path, text))
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def to_text(state):
    """The text form of CheckpointState `state`."""
    lines = ["model_checkpoint_path: %s" % _quote(state.model_checkpoint_path)]
    lines += ["all_model_checkpoint_paths: %s" % _quote(p)
              for p in state.all_model_checkpoint_paths]
    lines += ["all_model_checkpoint_timestamps: %r" % float(t)
              for t in state.all_model_checkpoint_timestamps]
    if state.last_preserved_timestamp:
        lines.append("last_preserved_timestamp: %r" % float(state.last_preserved_timestamp))
    return "\n".join(lines) + "\n"


def parse(text, path="<text>"):
    """A CheckpointState from its text form.

    Raises:
      ValueError: for a malformed line.
    """
    state = CheckpointState()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError("%s:%d: expected 'field: value', got %r" % (path, number, line))
        key, value = key.strip(), value.strip()
        if key == "model_checkpoint_path":
            state.model_checkpoint_path = _unquote(value, path)
        elif key == "all_model_checkpoint_paths":
            state.all_model_checkpoint_paths.append(_unquote(value, path))
        elif key == "all_model_checkpoint_timestamps":
            state.all_model_checkpoint_timestamps.append(float(value))
        elif key == "last_preserved_timestamp":
            state.last_preserved_timestamp = float(value)
        else:
            raise ValueError("%s:%d: unknown field %r" % (path, number, key))
    return state


def generate_checkpoint_state_proto(save_dir, model_checkpoint_path,
                                    all_model_checkpoint_paths=None,
                                    all_model_checkpoint_timestamps=None,
                                    last_preserved_timestamp=None):
    """A CheckpointState for `save_dir`, with paths relative to it if `save_dir` is relative.

    Raises:
      ValueError: if the timestamps do not match the paths one to one.
    """
    if all_model_checkpoint_paths is None:
        all_model_checkpoint_paths = []
    if not all_model_checkpoint_paths or all_model_checkpoint_paths[-1] != model_checkpoint_path:
        _logger.info("%s is not in all_model_checkpoint_paths. Manually adding it.",
                     model_checkpoint_path)
        all_model_checkpoint_paths = list(all_model_checkpoint_paths) + [model_checkpoint_path]
    if all_model_checkpoint_timestamps is not None and \
            len(all_model_checkpoint_timestamps) != len(all_model_checkpoint_paths):
        raise ValueError("Checkpoint timestamps, if provided, must match checkpoint paths (got "
                         "paths %s and timestamps %s)" % (all_model_checkpoint_paths,
                                                          all_model_checkpoint_timestamps))
    if not os.path.isabs(save_dir):
        if not os.path.isabs(model_checkpoint_path):
            model_checkpoint_path = os.path.relpath(model_checkpoint_path, save_dir)
        all_model_checkpoint_paths = [p if os.path.isabs(p) else os.path.relpath(p, save_dir)
                                      for p in all_model_checkpoint_paths]
    return CheckpointState(model_checkpoint_path, all_model_checkpoint_paths,
                           all_model_checkpoint_timestamps or (),
                           last_preserved_timestamp or 0.0)


def state_file_path(save_dir, latest_filename=None):
    return os.path.join(save_dir, latest_filename or DEFAULT_STATE_FILENAME)


def update_checkpoint_state(save_dir, model_checkpoint_path, all_model_checkpoint_paths=None,
                            latest_filename=None, all_model_checkpoint_timestamps=None,
                            last_preserved_timestamp=None, save_relative_paths=False):
    """Atomically rewrites the state file of `save_dir` (TF1 `tf.train.update_checkpoint_state`).

    Args:
      save_dir: the directory of the checkpoints.
      model_checkpoint_path: the latest checkpoint (made the last of the kept ones).
      all_model_checkpoint_paths: the checkpoints kept, oldest first.
      latest_filename: the state file's name (default "checkpoint").
      all_model_checkpoint_timestamps, last_preserved_timestamp: as TF's CheckpointState.
      save_relative_paths: store paths relative to `save_dir` even if it is absolute.

    Raises:
      RuntimeError: if the state file would be the checkpoint file itself.
    """
    state_path = state_file_path(save_dir, latest_filename)
    if save_relative_paths:
        model_checkpoint_path = _relative(model_checkpoint_path, save_dir)
        all_model_checkpoint_paths = [_relative(p, save_dir)
                                      for p in (all_model_checkpoint_paths or [])]
    state = generate_checkpoint_state_proto(
        save_dir, model_checkpoint_path, all_model_checkpoint_paths,
        all_model_checkpoint_timestamps, last_preserved_timestamp)
    if os.path.abspath(state_path) == os.path.abspath(
            os.path.join(save_dir, state.model_checkpoint_path)):
        raise RuntimeError("Save path '%s' conflicts with path used for checkpoint state. "
                           "Please use a different save path." % model_checkpoint_path)
    files.write_text_atomic(state_path, to_text(state))


def _relative(path, save_dir):
    return os.path.relpath(path, save_dir) if os.path.isabs(path) else path


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """The CheckpointState of `checkpoint_dir` with paths made usable from here, or None.

    As TF, a missing state file gives None, and so does an unreadable one (with a warning
    naming it).
    """
    path = state_file_path(checkpoint_dir, latest_filename)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            state = parse(f.read(), path)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        _logger.warning("%s: %s", type(e).__name__, e)
        _logger.warning("%s: Checkpoint ignored", path)
        return None
    if not state.model_checkpoint_path:
        _logger.warning("%s: Checkpoint ignored: it names no checkpoint", path)
        return None
    if not os.path.isabs(state.model_checkpoint_path):
        state.model_checkpoint_path = os.path.join(checkpoint_dir, state.model_checkpoint_path)
    state.all_model_checkpoint_paths = [
        p if os.path.isabs(p) else os.path.join(checkpoint_dir, p)
        for p in state.all_model_checkpoint_paths]
    return state


def checkpoint_exists(checkpoint_prefix):
    """True if a complete checkpoint exists at `checkpoint_prefix`.

    The prefix file is published last, so its existence means every shard was written.
    """
    return os.path.isfile(checkpoint_prefix)


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The path of the latest checkpoint in `checkpoint_dir`, or None (TF1 API)."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state and state.model_checkpoint_path:
        if checkpoint_exists(state.model_checkpoint_path):
            return state.model_checkpoint_path
        _logger.error("Couldn't match files for checkpoint %s", state.model_checkpoint_path)
    return None


def get_checkpoint_mtimes(checkpoint_prefixes):
    """The modification times of the checkpoints that exist, in order (TF1 API; missing
    checkpoints are skipped, as TF does)."""
    times = []
    for prefix in checkpoint_prefixes:
        try:
            times.append(os.stat(prefix).st_mtime)
        except OSError:
            continue
    return times


def remove_checkpoint(checkpoint_prefix, checkpoint_format_version=None, meta_graph_suffix=None):
    """Deletes checkpoint `checkpoint_prefix` (its index or whole file and its shards)."""
    files.remove_checkpoint(checkpoint_prefix)


__all__ = ["CheckpointState", "checkpoint_exists", "generate_checkpoint_state_proto",
           "get_checkpoint_mtimes", "get_checkpoint_state", "latest_checkpoint",
           "remove_checkpoint", "update_checkpoint_state"]
