"""The `checkpoint` state file: TF's text format, relative paths, latest_checkpoint."""
import logging
import os

import numpy as np
import pytest

from hpcflow.checkpoint import state_file, writer


def _make_checkpoint(path):
    writer.write_checkpoint(path, [writer.Entry("v", np.ones(1), None, None, "v")])


def test_text_is_tfs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.makedirs("ck")
    state_file.update_checkpoint_state("ck", "ck/plain", ["ck/model.ckpt-4", "ck/plain"])
    # The text real TensorFlow 1 writes for the same call (relative directory).
    assert open("ck/checkpoint").read() == ('model_checkpoint_path: "plain"\n'
                                           'all_model_checkpoint_paths: "model.ckpt-4"\n'
                                           'all_model_checkpoint_paths: "plain"\n')
    assert not os.path.exists("ck/checkpoint.tmp")


def test_paths_absolute_for_an_absolute_directory_unless_asked(tmp_path):
    directory = str(tmp_path)
    state_file.update_checkpoint_state(directory, os.path.join(directory, "m-1"))
    assert str(tmp_path) in open(tmp_path / "checkpoint").read()
    state_file.update_checkpoint_state(directory, os.path.join(directory, "m-2"),
                                       save_relative_paths=True)
    assert open(tmp_path / "checkpoint").read().startswith('model_checkpoint_path: "m-2"')
    state = state_file.get_checkpoint_state(directory)
    assert state.model_checkpoint_path == os.path.join(directory, "m-2")
    assert state.all_model_checkpoint_paths == [os.path.join(directory, "m-2")]


def test_round_trip_with_timestamps_and_odd_characters():
    state = state_file.CheckpointState('a "quoted" \\ path', ["x", 'a "quoted" \\ path'],
                                       [1.5, 2.25], 0.5)
    assert state_file.parse(state_file.to_text(state)) == state
    with pytest.raises(ValueError, match="unknown field"):
        state_file.parse('model_checkpoint_path: "a"\nbogus: 1\n')
    with pytest.raises(ValueError, match="quoted string"):
        state_file.parse("model_checkpoint_path: a\n")


def test_latest_checkpoint(tmp_path, caplog):
    directory = str(tmp_path)
    assert state_file.latest_checkpoint(directory) is None
    assert state_file.latest_checkpoint(str(tmp_path / "nowhere")) is None
    path = os.path.join(directory, "model.ckpt-3")
    _make_checkpoint(path)
    state_file.update_checkpoint_state(directory, path)
    assert state_file.latest_checkpoint(directory) == path
    assert state_file.checkpoint_exists(path)
    os.remove(path)
    with caplog.at_level(logging.ERROR, logger="hpcflow"):
        assert state_file.latest_checkpoint(directory) is None
    assert "Couldn't match files for checkpoint" in caplog.text


def test_unreadable_state_file_is_ignored_with_a_warning(tmp_path, caplog):
    (tmp_path / "checkpoint").write_text("model_checkpoint_path oops\n")
    with caplog.at_level(logging.WARNING, logger="hpcflow"):
        assert state_file.get_checkpoint_state(str(tmp_path)) is None
    assert "Checkpoint ignored" in caplog.text


def test_bad_arguments(tmp_path):
    with pytest.raises(RuntimeError, match="conflicts with path used for checkpoint state"):
        state_file.update_checkpoint_state(str(tmp_path), str(tmp_path / "checkpoint"))
    with pytest.raises(ValueError, match="timestamps"):
        state_file.generate_checkpoint_state_proto(str(tmp_path), "a", ["a"], [1.0, 2.0])


def test_mtimes_skip_missing_checkpoints(tmp_path):
    path = str(tmp_path / "m-1")
    _make_checkpoint(path)
    assert len(state_file.get_checkpoint_mtimes([path, str(tmp_path / "m-2")])) == 1
