"""tf.train.Saver over HDF5: round trips, pruning, sharding by device, partitioned variables,
mismatches, damaged files, and a save killed midway."""
import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import hpcflow as tf
from hpcflow.checkpoint import reader as ckpt_reader
from hpcflow.framework import errors
from hpcflow.train import saver as saver_lib
from hpcflow.train.saver import Saver, get_checkpoint_state, latest_checkpoint


def _model(optimizer=tf.train.AdamOptimizer):
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="layer1/weights")
    b = tf.Variable(np.zeros(3, np.float32), name="layer1/biases")
    step = tf.train.get_or_create_global_step()
    loss = tf.reduce_sum(tf.square(w)) + tf.reduce_sum(b)
    train = optimizer(0.1).minimize(loss, global_step=step)
    return w, b, step, train


def _values(sess):
    return {v.op.name: sess.run(v) for v in tf.global_variables()}


def _assert_same(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_round_trip_includes_slots_and_global_step(tmp_path):
    w, b, step, train = _model()
    saver = Saver()
    prefix = str(tmp_path / "model.ckpt")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        sess.run(train)
        path = saver.save(sess, prefix, global_step=step)
        saved = _values(sess)
    assert path == prefix + "-2"
    assert latest_checkpoint(str(tmp_path)) == path
    with h5py.File(path, "r") as f:
        assert f.attrs["global_step"] == 2
        assert f["global_step"][()] == 2
        np.testing.assert_array_equal(f["layer1/weights:0"][...], saved["layer1/weights"])
        np.testing.assert_array_equal(f["layer1/weights/Adam"][...],
                                      saved["layer1/weights/Adam"])
        assert {"beta1_power", "beta2_power"} <= set(f)
    with tf.Session() as sess:  # a fresh session: nothing initialized
        saver.restore(sess, path)
        _assert_same(saved, _values(sess))
        sess.run(train)  # training continues from the restored state
        assert sess.run(step) == 3


def test_save_path_forms_and_state_file(tmp_path, monkeypatch):
    v = tf.Variable(1.0, name="v")
    saver = Saver(pad_step_number=True)
    monkeypatch.chdir(tmp_path)
    os.makedirs("ck")
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert saver.save(sess, "ck/model.ckpt", global_step=7) == "ck/model.ckpt-00000007"
        assert saver.save(sess, "ck/plain") == "ck/plain"
        assert saver.save(sess, "ck/no_state", write_state=False) == "ck/no_state"
    assert open("ck/checkpoint").read() == ('model_checkpoint_path: "plain"\n'
                                           'all_model_checkpoint_paths: "model.ckpt-00000007"\n'
                                           'all_model_checkpoint_paths: "plain"\n')
    state = get_checkpoint_state("ck")
    assert state.model_checkpoint_path == "ck/plain"
    assert saver.last_checkpoints == ["ck/model.ckpt-00000007", "ck/plain"]


def test_max_to_keep_prunes_oldest(tmp_path):
    v = tf.Variable(1.0, name="v")
    saver = Saver(max_to_keep=2)
    prefix = str(tmp_path / "m")
    with tf.Session() as sess:
        sess.run(v.initializer)
        for step in range(5):
            saver.save(sess, prefix, global_step=step)
        saver.save(sess, prefix, global_step=4)  # the same path again does not count twice
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m-3", "m-4"]
    assert get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths == [
        prefix + "-3", prefix + "-4"]


def test_keep_all_and_keep_every_n_hours(tmp_path, monkeypatch):
    v = tf.Variable(1.0, name="v")
    keep_all = Saver(max_to_keep=None)
    with tf.Session() as sess:
        sess.run(v.initializer)
        for step in range(4):
            keep_all.save(sess, str(tmp_path / "all"), global_step=step, write_state=False)
        assert len([f for f in os.listdir(tmp_path) if f.startswith("all-")]) == 4
        # A clock advancing an hour per save: of the checkpoints pruned by max_to_keep, one
        # saved more than 2 hours after the last one kept is kept too (TF's rule).
        now = [1000.0]
        monkeypatch.setattr(saver_lib.time, "time", lambda: now[0])
        hourly = Saver(max_to_keep=1, keep_checkpoint_every_n_hours=2)
        for step in range(6):
            now[0] += 3600
            hourly.save(sess, str(tmp_path / "h"), global_step=step)
    kept = sorted(f for f in os.listdir(tmp_path) if f.startswith("h-"))
    assert kept == ["h-2", "h-4", "h-5"]


def test_recover_last_checkpoints_resumes_pruning(tmp_path):
    v = tf.Variable(1.0, name="v")
    first = Saver(max_to_keep=2)
    prefix = str(tmp_path / "m")
    with tf.Session() as sess:
        sess.run(v.initializer)
        first.save(sess, prefix, global_step=1)
        first.save(sess, prefix, global_step=2)
        second = Saver(max_to_keep=2)  # as after a restart
        second.recover_last_checkpoints(get_checkpoint_state(str(tmp_path))
                                        .all_model_checkpoint_paths + [prefix + "-0"])
        assert second.last_checkpoints == [prefix + "-1", prefix + "-2"]
        second.save(sess, prefix, global_step=3)
    assert not os.path.exists(prefix + "-1") and os.path.exists(prefix + "-2")


def test_var_list_forms_and_names(tmp_path):
    a = tf.Variable([1.0, 2.0], name="a")
    b = tf.Variable(3, name="b")
    saver = Saver({"renamed/a": a, "b": b})
    path = str(tmp_path / "ck")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver.save(sess, path)
    assert ckpt_reader.list_variables(path) == [("b", []), ("renamed/a", [2])]
    only_a = Saver({"renamed/a": a})
    with tf.Session() as sess:
        only_a.restore(sess, path)
        np.testing.assert_array_equal(sess.run(a), [1.0, 2.0])
        with pytest.raises(errors.FailedPreconditionError):
            sess.run(b)


def test_bad_var_lists():
    a = tf.Variable(1.0, name="a")
    partitioned = tf.get_variable("a", [4], partitioner=tf.fixed_size_partitioner(2))
    with pytest.raises(ValueError, match="same name: a"):
        Saver([a, partitioned])
    with pytest.raises(ValueError, match="twice"):
        Saver([a, a])
    with pytest.raises(TypeError, match="not a Variable"):
        Saver([tf.constant(1.0)])
    with pytest.raises(TypeError, match="list, tuple or dict"):
        Saver(a)


def test_no_variables(tmp_path):
    with pytest.raises(ValueError, match="No variables to save"):
        Saver()
    empty = Saver(allow_empty=True)
    with tf.Session() as sess:
        assert empty.save(sess, str(tmp_path / "m")) is None
        empty.restore(sess, str(tmp_path / "m"))


def test_bad_save_and_restore_arguments(tmp_path):
    v = tf.Variable(1.0, name="v")
    saver = Saver()
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(ValueError, match="Parent directory of .* doesn't exist"):
            saver.save(sess, str(tmp_path / "missing" / "m"))
        with pytest.raises(TypeError, match="'sess' must be a Session"):
            saver.save("not a session", str(tmp_path / "m"))
        with pytest.raises(ValueError, match="collides"):
            saver.save(sess, str(tmp_path / "checkpoint"))
        with pytest.raises(ValueError, match="when it is None"):
            saver.restore(sess, None)
        with pytest.raises(ValueError, match="not a valid checkpoint"):
            saver.restore(sess, str(tmp_path / "nothing"))
    with pytest.raises(ValueError, match="saver_def and builder are not supported"):
        Saver(saver_def=object())


def _saved_checkpoint(tmp_path, **values):
    with tf.Graph().as_default():
        variables = [tf.Variable(v, name=k) for k, v in values.items()]
        saver = Saver(variables)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return saver.save(sess, str(tmp_path / "given"))


def test_missing_variable_is_not_found_and_named(tmp_path):
    path = _saved_checkpoint(tmp_path, w=np.ones(2, np.float32))
    zz = tf.Variable(np.ones(2, np.float32), name="zz")
    with tf.Session() as sess:
        with pytest.raises(errors.NotFoundError, match="variable zz .* is not in checkpoint"):
            Saver([zz]).restore(sess, path)


@pytest.mark.parametrize("value, message", [
    (np.ones((2, 4), np.float32), r"shape \[2,4\] but 'w' has shape \[2,3\]"),
    (np.ones((2, 3), np.float64), "dtype float64 but 'w' has dtype float32"),
])
def test_mismatched_variable_is_invalid_and_named(tmp_path, value, message):
    path = _saved_checkpoint(tmp_path, w=np.ones((2, 3), np.float32))
    w = tf.Variable(value, name="w")
    with tf.Session() as sess:
        sess.run(w.initializer)
        with pytest.raises(errors.InvalidArgumentError, match="variable w has " + message):
            Saver([w]).restore(sess, path)
        np.testing.assert_array_equal(sess.run(w), value)  # untouched


def test_reshape_restores_same_size_into_another_shape(tmp_path):
    path = _saved_checkpoint(tmp_path, w=np.arange(6, dtype=np.float32).reshape(2, 3))
    w = tf.Variable(np.zeros((3, 2), np.float32), name="w")
    with tf.Session() as sess:
        Saver([w], reshape=True).restore(sess, path)
        np.testing.assert_array_equal(sess.run(w), np.arange(6).reshape(3, 2))


def test_damaged_checkpoint_is_data_loss_and_changes_nothing(tmp_path):
    path = _saved_checkpoint(tmp_path, a=np.ones(1000, np.float32), b=np.ones(10, np.float32))
    with h5py.File(path, "r") as f:
        offset = f["b"].id.get_offset()
    with open(path, "r+b") as f:
        f.seek(offset + 5)
        f.write(b"\x7f")
    damaged = open(path, "rb").read()
    a = tf.Variable(np.zeros(1000, np.float32), name="a")
    tf.Variable(np.zeros(10, np.float32), name="b")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(errors.DataLossError, match="checksum mismatch in variable b"):
            Saver().restore(sess, path)
        # Read and verified before anything is assigned: a keeps its value.
        np.testing.assert_array_equal(sess.run(a), np.zeros(1000))
    assert open(path, "rb").read() == damaged
    with open(path, "r+b") as f:
        f.truncate(100)
    with tf.Session() as sess:
        with pytest.raises(errors.DataLossError, match="cannot be opened as HDF5"):
            Saver().restore(sess, path)


def test_string_and_integer_variables(tmp_path):
    s = tf.Variable(np.array([b"alpha", b"beta"], dtype=object), name="s", dtype=tf.string)
    n = tf.Variable(np.array([1, 2, 3], np.int32), name="n")
    saver = Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "m"))
    with tf.Session() as sess:
        saver.restore(sess, path)
        assert list(sess.run(s)) == [b"alpha", b"beta"]
        np.testing.assert_array_equal(sess.run(n), [1, 2, 3])


def _embedding(parts, rows=10):
    return tf.get_variable("emb", [rows, 3], partitioner=tf.fixed_size_partitioner(parts),
                           initializer=tf.random_normal_initializer(seed=3))


@pytest.mark.parametrize("save_parts, restore_parts", [(3, 2), (2, 1), (1, 4), (4, 3)])
def test_partitioned_variable_restores_into_another_partitioning(tmp_path, save_parts,
                                                                 restore_parts):
    with tf.Graph().as_default():
        emb = _embedding(save_parts)
        saver = Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            full = sess.run(emb.as_tensor())
            path = saver.save(sess, str(tmp_path / "m"))
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["emb"][...], full)  # one full dataset
    emb = _embedding(restore_parts)
    with tf.Session() as sess:
        Saver().restore(sess, path)
        np.testing.assert_array_equal(sess.run(emb.as_tensor()), full)


def test_partitioned_variable_from_and_into_a_plain_variable(tmp_path):
    path = _saved_checkpoint(tmp_path, emb=np.arange(30, dtype=np.float32).reshape(10, 3))
    emb = _embedding(3)
    with tf.Session() as sess:
        Saver().restore(sess, path)
        np.testing.assert_array_equal(sess.run(emb.as_tensor()), np.arange(30).reshape(10, 3))
        back = Saver().save(sess, str(tmp_path / "partitioned"))
    with tf.Graph().as_default():
        plain = tf.Variable(np.zeros((10, 3), np.float32), name="emb")
        with tf.Session() as sess:
            Saver().restore(sess, back)
            np.testing.assert_array_equal(sess.run(plain), np.arange(30).reshape(10, 3))


def test_partitioned_variable_of_another_full_shape_is_invalid(tmp_path):
    path = _saved_checkpoint(tmp_path, emb=np.zeros((10, 3), np.float32))
    _embedding(2, rows=12)
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match=r"partitioned variable emb "
                           r"\(holding emb/part_0\) has full shape \[12,3\] but 'emb' has shape "
                           r"\[10,3\]"):
            Saver().restore(sess, path)


def test_variables_on_several_devices_are_saved_as_shards_with_an_index(tmp_path):
    with tf.device("/job:ps/task:0"):
        tf.Variable(np.ones((2, 2), np.float32), name="w")
        tf.train.get_or_create_global_step()
    with tf.device(tf.train.replica_device_setter(ps_tasks=2)):
        emb = _embedding(2)
    saver = Saver()
    prefix = str(tmp_path / "m")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, prefix, global_step=3)
        first_shards = sorted(f for f in os.listdir(tmp_path) if ".data-" in f)
        assert len(first_shards) == 2
        saver.save(sess, prefix, global_step=3)  # again: new shards replace the old ones
        full = sess.run(emb.as_tensor())
    shards = sorted(f for f in os.listdir(tmp_path) if ".data-" in f)
    assert len(shards) == 2 and not set(shards) & set(first_shards)
    with h5py.File(path, "r") as f:
        assert f.attrs["num_shards"] == 2
        np.testing.assert_array_equal(f["emb"][...], full)
        np.testing.assert_array_equal(f["w"][...], np.ones((2, 2)))
    # One save op and one restore op per device, on that device.
    ops = tf.get_default_graph().get_operations()
    save_devices = sorted(op.device for op in ops if op.type == "SaveHDF5")
    restore_devices = sorted(op.device for op in ops if op.type == "RestoreHDF5")
    assert save_devices == restore_devices == ["/job:ps/task:0", "/job:ps/task:1"]
    # Restored by a graph with everything on one device.
    with tf.Graph().as_default():
        w2 = tf.Variable(np.zeros((2, 2), np.float32), name="w")
        tf.train.get_or_create_global_step()
        emb2 = _embedding(3)
        with tf.Session() as sess:
            Saver().restore(sess, path)
            np.testing.assert_array_equal(sess.run(emb2.as_tensor()), full)
            np.testing.assert_array_equal(sess.run(w2), np.ones((2, 2)))


# -- a save killed midway -----------------------------------------------------------------------

_KILLED_SAVE = textwrap.dedent("""
    import sys, time
    import numpy as np
    import hpcflow as tf
    from hpcflow.checkpoint import writer
    from hpcflow.train.saver import Saver
    directory, stage = sys.argv[1], sys.argv[2]
    with tf.device("/job:ps/task:0"):
        a = tf.Variable(np.zeros(100000, np.float32), name="a")
        step = tf.train.get_or_create_global_step()
    with tf.device("/job:ps/task:1"):
        b = tf.Variable(np.zeros(100000, np.float32), name="b")
    bump = tf.group(tf.assign_add(a, tf.ones_like(a)), tf.assign_add(b, tf.ones_like(b)),
                    tf.assign_add(step, 1))
    saver = Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(bump)
        saver.save(sess, directory + "/model.ckpt", global_step=step)
        sess.run(bump)
        original = getattr(writer, stage)
        def stall(*args, **kwargs):
            print("stalled", flush=True)
            time.sleep(60)
        setattr(writer, stage, stall)
        saver.save(sess, directory + "/model.ckpt", global_step=step)
""")


@pytest.mark.parametrize("stage", ["write_shard", "write_index"])
def test_save_killed_midway_leaves_latest_checkpoint_complete(tmp_path, stage):
    script = tmp_path / "save.py"
    script.write_text(_KILLED_SAVE)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), stage],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line == "stalled", proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    latest = latest_checkpoint(str(tmp_path))
    assert latest == str(tmp_path / "model.ckpt-1")
    assert not os.path.exists(tmp_path / "model.ckpt-2")
    with ckpt_reader.CheckpointReader(latest) as reader:
        np.testing.assert_array_equal(reader.get_tensor("b"), np.ones(100000))
        assert reader.get_tensor("global_step") == 1


def test_adam_slots_of_a_partitioned_variable_restore_into_another_partitioning(tmp_path):
    # A shard's slots are shards of one full slot variable ("table/Adam"), as in TF.
    def build(parts):
        graph = tf.Graph()
        with graph.as_default():
            table = tf.get_variable("table", [10, 4], partitioner=tf.fixed_size_partitioner(parts),
                                    initializer=tf.random_normal_initializer(seed=1))
            loss = tf.reduce_sum(tf.square(tf.nn.embedding_lookup(table, [1, 7, 8])))
            optimizer = tf.train.AdamOptimizer(0.1)
            train = optimizer.minimize(loss)
            init = tf.global_variables_initializer()
            saver = tf.train.Saver()
        return graph, table, optimizer, train, init, saver

    graph, table, optimizer, train, init, saver = build(2)
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        for _ in range(3):
            sess.run(train)
        path = saver.save(sess, str(tmp_path / "model"), global_step=3)
        values = np.concatenate(sess.run(list(table)))
        moments = np.concatenate(sess.run([optimizer.get_slot(v, "m") for v in table]))
    graph, table, optimizer, _, _, saver = build(3)
    with tf.Session(graph=graph) as sess:
        saver.restore(sess, path)
        np.testing.assert_allclose(np.concatenate(sess.run(list(table))), values)
        np.testing.assert_allclose(
            np.concatenate(sess.run([optimizer.get_slot(v, "m") for v in table])), moments)
