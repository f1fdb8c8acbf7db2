"""FileWriter: event files that TensorBoard's own reader (EventAccumulator) reads back."""
import glob
import os

import numpy as np
import pytest

import hpcflow as tf
from hpcflow import summary

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator")


def _load(logdir):
    acc = event_accumulator.EventAccumulator(logdir, size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0,
        event_accumulator.HISTOGRAMS: 0, event_accumulator.TENSORS: 0})
    acc.Reload()
    return acc


def _train_graph():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(tf.ones([3, 1]), name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w)), name="mean_loss")
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    summary.scalar("loss", loss)
    summary.histogram("weights", w)
    summary.image("inputs", tf.reshape(x, [-1, 1, 3, 1]), max_outputs=2)
    summary.text("note", tf.constant("run **one**"))
    return x, train, summary.merge_all()


def test_summaries_graph_and_run_metadata_read_back_with_tensorboard(tmp_path):
    x, train, merged = _train_graph()
    data = np.arange(6, dtype=np.float32).reshape(2, 3) / 10
    writer = summary.FileWriter(str(tmp_path), tf.get_default_graph())
    assert writer.writes and writer.get_logdir() == str(tmp_path)
    losses = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(3):
            options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE) if step == 2 else None
            metadata = tf.RunMetadata()
            value, _ = sess.run([merged, train], {x: data}, options=options,
                                run_metadata=metadata)
            losses.append(summary.Summary.FromString(value).value[0].simple_value)
            writer.add_summary(value, step)
        writer.add_run_metadata(metadata, "step2", 2)
        writer.add_summary(summary.Summary(value=[summary.Summary.Value(
            tag="python", simple_value=5.0)]), 3)
    writer.close()
    acc = _load(str(tmp_path))
    tags = acc.Tags()
    assert set(tags["scalars"]) == {"loss", "python"}
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == list(enumerate(
        np.float32(losses).tolist()))
    assert acc.Scalars("python")[0].value == 5.0
    assert tags["histograms"] == ["weights"]
    assert acc.Histograms("weights")[0].histogram_value.num == 3
    assert sorted(tags["images"]) == ["inputs/image/0", "inputs/image/1"]
    assert acc.Images("inputs/image/0")[0].width == 3
    assert "note" in tags["tensors"]
    text = acc.Tensors("note")[0]
    assert list(text.tensor_proto.string_val) == [b"run **one**"]
    graph = acc.Graph()
    nodes = {n.name: n for n in graph.node}
    assert nodes["mean_loss"].op == "Mean" and "x" in nodes["MatMul"].input
    assert nodes["x"].attr["_output_shapes"].list.shape[0].dim[0].size == -1
    assert tags["run_metadata"] == ["step2"]
    run_metadata = acc.RunMetadata("step2")
    names = {n.node_name for d in run_metadata.step_stats.dev_stats for n in d.node_stats}
    assert "MatMul" in names


def test_text_plugin_metadata_written_once_per_tag(tmp_path):
    note = summary.text("note", tf.constant("hi"))
    with tf.Session() as sess:
        value = sess.run(note)
    with summary.FileWriter(str(tmp_path)) as writer:
        writer.add_summary(value, 0)
        writer.add_summary(value, 1)
    (path,) = glob.glob(os.path.join(str(tmp_path), "events.out.tfevents.*"))
    events = [e for e in summary.summary_iterator(path) if e.HasField("summary")]
    assert [e.step for e in events] == [0, 1]
    assert events[0].summary.value[0].HasField("metadata")
    assert not events[1].summary.value[0].HasField("metadata")


def test_writer_reopens_after_close_and_flushes(tmp_path):
    writer = summary.FileWriter(str(tmp_path), flush_secs=1000)
    writer.add_summary(summary.Summary(value=[summary.Summary.Value(tag="a", simple_value=1)]), 1)
    writer.flush()
    assert _load(str(tmp_path)).Scalars("a")[0].value == 1.0
    writer.close()
    writer.add_summary(summary.Summary(value=[summary.Summary.Value(tag="a", simple_value=2)]), 2)
    writer.close()
    assert len(glob.glob(os.path.join(str(tmp_path), "events.out.tfevents.*"))) == 2
    assert [e.value for e in _load(str(tmp_path)).Scalars("a")] == [1.0, 2.0]


def test_bad_arguments(tmp_path):
    writer = summary.FileWriter(str(tmp_path))
    with pytest.raises(TypeError, match="serialized Summary"):
        writer.add_summary(3.0)
    with pytest.raises(TypeError, match="tf.Graph or a GraphDef"):
        writer.add_graph("graph")
    with pytest.raises(ValueError, match="TF2"):
        summary.FileWriter(str(tmp_path), session=object())
    writer.close()


def test_only_rank_zero_writes_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("PMI_RANK", "2")
    monkeypatch.setenv("PMI_SIZE", "4")
    quiet = summary.FileWriter(str(tmp_path / "quiet"), tf.get_default_graph())
    assert not quiet.writes
    quiet.add_summary(summary.Summary(value=[summary.Summary.Value(tag="a", simple_value=1)]))
    quiet.close()
    assert not os.path.exists(str(tmp_path / "quiet"))
    loud = summary.FileWriter(str(tmp_path / "loud"), write_on_all_ranks=True)
    loud.add_summary(summary.Summary(value=[summary.Summary.Value(tag="a", simple_value=1)]), 0)
    loud.close()
    (path,) = glob.glob(str(tmp_path / "loud" / "events.out.tfevents.*"))
    assert path.endswith(".rank2")


def test_file_writer_cache_shares_one_writer_per_logdir(tmp_path):
    a = summary.FileWriterCache.get(str(tmp_path / "a"))
    assert summary.FileWriterCache.get(str(tmp_path / "a")) is a
    assert summary.FileWriterCache.get(str(tmp_path / "b")) is not a
    summary.FileWriterCache.clear()
    assert summary.FileWriterCache.get(str(tmp_path / "a")) is not a
    summary.FileWriterCache.clear()
