"""graph_view: DOT views of placed and data-parallel steps, and `python -m hpcflow graph`."""
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import hpcflow as tf
from hpcflow import graph_view
from hpcflow.distributed.cluster import JobCluster


def _model_parallel():
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    with tf.device("/job:ps/task:0"):
        w1 = tf.Variable(np.ones((4, 8), np.float32), name="w1")
        w2 = tf.Variable(np.ones((8, 2), np.float32), name="w2")
    with tf.device("/job:worker/task:0"):
        hidden = tf.tanh(tf.matmul(x, w1), name="hidden")
    with tf.device("/job:worker/task:1"):
        out = tf.matmul(hidden, w2, name="out")
    return x, hidden, out


def test_placed_view_boxes_ops_by_rank_and_marks_exactly_the_cut_edges():
    x, hidden, out = _model_parallel()
    view = graph_view.placed_view(tf.get_default_graph(), [out], [], [x], JobCluster(3))
    assert view.mode == "placed"
    assert view.nodes["hidden"]["group"] == 1 and view.nodes["out"]["group"] == 2
    assert view.nodes["w1"]["group"] == 0 and view.nodes["x"]["group"] == 0
    cuts = {(a, b) for a, b, info in view.cut_edges}
    assert ("hidden", "out") in cuts and ("x", "MatMul") in cuts and ("w1/read", "MatMul") in cuts
    assert ("MatMul", "hidden") not in cuts
    label = [info["label"] for a, b, info in view.cut_edges if (a, b) == ("w1/read", "MatMul")][0]
    assert label == "float32[4,8] 128 B"
    dot = graph_view.to_dot(view)
    assert dot.startswith("digraph hpcflow {") and dot.rstrip().endswith("}")
    for rank in (0, 1, 2):
        assert "subgraph cluster_rank%d" % rank in dot
    assert "/job:worker/replica:0/task:1/device:CPU:0" in dot
    assert len(re.findall(r'color="#d62728", penwidth', dot)) == len(view.cut_edges)


def test_soft_placement_and_missing_devices():
    _, _, out = _model_parallel()
    graph = tf.get_default_graph()
    view = graph_view.placed_view(graph, [out], cluster=JobCluster(2))
    assert set(v["group"] for v in view.nodes.values()) <= {0, 1}
    with pytest.raises(tf.errors.InvalidArgumentError, match="task:1"):
        graph_view.placed_view(graph, [out], cluster=JobCluster(2), allow_soft_placement=False)


def test_data_parallel_view_shows_states_and_collectives():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.ones((3, 2), np.float32), name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w)), name="loss")
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    view = graph_view.view_step(tf.get_default_graph(), [loss], [train], [x], num_ranks=4)
    assert view.mode == "data_parallel" and "4 ranks" in view.title
    states = {name: node["state"] for name, node in view.nodes.items()}
    assert states["MatMul"] == "S" and states["w/read"] == "R" and states["loss"] == "P"
    collectives = [n for n, node in view.nodes.items() if node["op"] == "_DPAllReduce"]
    assert collectives and any(b in collectives for _, b, info in view.cut_edges)
    assert view.nodes["_dp_feed_0"]["label"] == "x (split)"
    dot = graph_view.to_dot(view)
    assert "shape=octagon" in dot and "partial sums (P)" in dot


def test_auto_mode_picks_placed_for_graphs_naming_jobs_and_one_rank():
    x, _, out = _model_parallel()
    graph = tf.get_default_graph()
    assert graph_view.view_step(graph, [out], [], [x], num_ranks=3).mode == "placed"
    assert graph_view.view_step(graph, [out], [], [x], num_ranks=1).mode == "placed"
    with pytest.raises(ValueError, match="mode"):
        graph_view.view_step(graph, [out], mode="sideways")


def test_depth_merges_name_scopes_but_never_communication_ops():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.ones((3, 2), np.float32), name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
    train = tf.train.AdamOptimizer(0.1).minimize(loss)
    view = graph_view.view_step(tf.get_default_graph(), [], [train], [x], num_ranks=2)
    full, merged = graph_view.to_dot(view), graph_view.to_dot(view, depth=1)
    count = lambda dot: len(re.findall(r"^\s+n\d+ \[", dot, re.M))  # noqa: E731
    assert count(merged) < count(full)
    assert "gradients/ (" in merged and "_DPAllReduce" in merged


@pytest.mark.skipif(shutil.which("dot") is None, reason="GraphViz dot not installed")
def test_graphviz_accepts_the_dot(tmp_path):
    _, _, out = _model_parallel()
    view = graph_view.placed_view(tf.get_default_graph(), [out], cluster=JobCluster(3))
    result = subprocess.run(["dot", "-Tsvg"], input=graph_view.to_dot(view, depth=1).encode(),
                            capture_output=True)
    assert result.returncode == 0, result.stderr
    assert b"<svg" in result.stdout


SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import hpcflow as tf
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.device("/job:worker/task:0"):
        w = tf.Variable(np.ones((3, 2), np.float32), name="w")
        y = tf.matmul(x, w, name="y")
    with tf.device("/job:ps/task:0"):
        total = tf.reduce_sum(y, name="total")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(total, {x: np.ones((2, 3))})
        open(sys.argv[1], "w").write("ran past the captured call")
""")


def test_capture_script_stops_at_the_chosen_run(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    marker = tmp_path / "marker"
    graph, fetches, targets, feeds, soft = graph_view.capture_script(str(script), [str(marker)], 1)
    assert [t.name for t in fetches] == ["total:0"] and [t.name for t in feeds] == ["x:0"]
    assert not marker.exists() and soft is False
    graph, fetches, targets, feeds, _ = graph_view.capture_script(str(script), [str(marker)], 0)
    assert not fetches and targets[0].type == "NoOp"


def test_main_writes_dot_for_scripts_and_graph_defs(tmp_path, capsys):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out = tmp_path / "step.dot"
    assert graph_view.main(["--ranks", "2", "-o", str(out), str(script),
                            str(tmp_path / "m")]) == 0
    dot = out.read_text()
    assert "subgraph cluster_rank1" in dot and "total" in dot
    # A GraphDef file, binary and text.
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [None, 2], name="a")
        tf.reduce_sum(a * tf.constant(np.arange(2, dtype=np.float32)), name="s")
    from hpcflow.framework.graph_io import write_graph
    binary = write_graph(g, str(tmp_path), "g.pb", as_text=False)
    text = write_graph(g, str(tmp_path), "g.pbtxt", as_text=True)
    for path in (binary, text):
        assert graph_view.main(["--ranks", "2", "--fetch", "s:0", path]) == 0
        printed = capsys.readouterr().out
        assert "_DPFetchSum" in printed and "a (split)" in printed, printed[:500]


def test_main_rejects_bad_input(tmp_path, capsys):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    assert graph_view.main([str(tmp_path / "missing.py")]) == 2
    assert graph_view.main(["--ranks", "0", str(script)]) == 2
    assert graph_view.main(["-o", str(tmp_path / "g.gif"), str(script)]) == 2
    assert graph_view.main(["--format", "svg", str(script)]) == 2
    (tmp_path / "junk.pb").write_bytes(b"\x00\x01junk")
    assert graph_view.main([str(tmp_path / "junk.pb")]) == 2
    assert graph_view.main(["--fetch", "nothing_here", str(script), str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "--ranks" in err and "neither" in err


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "hpcflow.graph_view", "--help"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "source" in result.stdout
