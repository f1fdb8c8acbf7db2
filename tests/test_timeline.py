"""timeline.Timeline: Chrome traces of traced steps, and the browser-free SVG rendering."""
import json
import xml.etree.ElementTree as ElementTree

import numpy as np

import hpcflow as tf
from hpcflow import timeline
from hpcflow.distributed.cluster import JobCluster
from hpcflow.runtime import config

PS0 = "/job:ps/replica:0/task:0/device:CPU:0"
WORKER0 = "/job:worker/replica:0/task:0/device:CPU:0"
WORKER1 = "/job:worker/replica:0/task:1/device:CPU:0"


def _node(name, op_type, start, duration, nbytes=0, label=None):
    return config.NodeExecStats(node_name=name, op_type=op_type, all_start_micros=start,
                                op_end_rel_micros=duration, all_end_rel_micros=duration,
                                bytes=nbytes, timeline_label=label or "%s = %s()" % (name, op_type))


def _placed_step_stats():
    """A placed step over 3 ranks: rank 0 sends x to rank 2, rank 2 sends y back."""
    stats = config.StepStats()
    stats.dev_stats.append(config.DeviceStepStats(device=WORKER1, node_stats=[
        _node("_recv_0", "_Recv", 1_000_120, 30, 4096, "_recv_0 = _Recv() from rank 0, 4096 bytes"),
        _node("MatMul", "MatMul", 1_000_150, 200),
        _node("_send_1", "_Send", 1_000_350, 5, 64)]))
    stats.dev_stats.append(config.DeviceStepStats(device=PS0, node_stats=[
        _node("x", "Const", 1_000_000, 10),
        _node("_send_0", "_Send", 1_000_100, 20, 4096),
        _node("_recv_1", "_Recv", 1_000_130, 240)]))
    return stats


def _events(trace, phase):
    return [e for e in json.loads(trace)["traceEvents"] if e.get("ph") == phase]


def test_one_lane_per_rank_sorted_by_rank_with_compute_and_mpi_threads():
    trace = timeline.Timeline(_placed_step_stats(), cluster=JobCluster(3)).\
        generate_chrome_trace_format()
    names = {e["pid"]: e["args"]["name"] for e in _events(trace, "M")
             if e["name"] == "process_name"}
    assert names == {0: "rank 0  " + PS0, 1: "rank 2  " + WORKER1}
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in _events(trace, "M")
               if e["name"] == "thread_name"}
    assert threads[(0, 0)] == "compute" and threads[(0, 1)] == "MPI"
    ops = {e["args"]["name"]: e for e in _events(trace, "X")}
    assert ops["x"]["ts"] == 0 and ops["MatMul"]["ts"] == 150 and ops["MatMul"]["dur"] == 200
    assert ops["MatMul"]["cat"] == "Op" and ops["MatMul"]["tid"] == 0
    assert ops["MatMul"]["name"] == "MatMul" and ops["MatMul"]["args"]["op"] == "MatMul"
    send, receive = ops["_send_0"], ops["_recv_0"]
    assert (send["cat"], send["tid"], send["pid"]) == ("MPI", 1, 0)
    assert (receive["cat"], receive["tid"], receive["pid"]) == ("MPI", 1, 1)
    assert send["args"]["bytes"] == receive["args"]["bytes"] == 4096
    assert send["args"]["peer_rank"] == 2 and receive["args"]["peer_rank"] == 0
    # The receive of edge 1 recorded no bytes; it takes its send's.
    assert ops["_recv_1"]["args"]["bytes"] == 64


def test_flow_arrows_join_each_send_to_its_receive():
    trace = timeline.Timeline(_placed_step_stats(), cluster=JobCluster(3)).\
        generate_chrome_trace_format()
    starts = {e["id"]: e for e in _events(trace, "s")}
    finishes = {e["id"]: e for e in _events(trace, "t")}
    assert sorted(starts) == sorted(finishes) == [0, 1]
    assert (starts[0]["pid"], finishes[0]["pid"]) == (0, 1)
    assert (starts[1]["pid"], finishes[1]["pid"]) == (1, 0)
    assert starts[0]["ts"] <= finishes[0]["ts"]
    quiet = timeline.Timeline(_placed_step_stats()).generate_chrome_trace_format(
        show_dataflow=False)
    assert not _events(quiet, "s") and not _events(quiet, "t")


def test_device_rank_uses_the_cluster():
    cluster = JobCluster(5, num_ps=2)
    assert timeline.device_rank(WORKER1, cluster) == 3
    assert timeline.device_rank(PS0, cluster) == 0
    assert timeline.device_rank("/job:localhost/replica:0/task:0/device:CPU:0") == 0
    assert timeline.device_rank("/job:worker/task:9", cluster) is None
    assert timeline.device_rank(WORKER0) is None  # no job, no cluster: unknown
    assert timeline.device_rank("not a device") is None


def test_data_parallel_collectives_are_on_the_mpi_lane():
    stats = config.StepStats()
    for device, start in ((PS0, 0), (WORKER0, 5)):
        stats.dev_stats.append(config.DeviceStepStats(device=device, node_stats=[
            _node("MatMul", "MatMul", start, 10),
            _node("_dp_fused_allreduce_2", "_DPAllReduce", start + 10, 50, 1024),
            _node("_dp_fetch_3", "_DPFetchSum", start + 60, 5, 4)]))
    events = _events(timeline.Timeline(stats, cluster=JobCluster(2)).
                     generate_chrome_trace_format(), "X")
    collectives = [e for e in events if e["name"].startswith("_DP")]
    assert len(collectives) == 4
    assert all(e["cat"] == "MPI" and e["tid"] == 1 for e in collectives)
    assert {e["args"]["bytes"] for e in collectives} == {1024, 4}


def test_trace_of_a_real_one_process_step_names_inputs():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.ones((3, 2), np.float32), name="w")
    y = tf.matmul(x, w, name="product")
    metadata = tf.RunMetadata()
    with tf.Session() as sess:
        sess.run(w.initializer)
        sess.run(y, {x: np.ones((4, 3))},
                 options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                 run_metadata=metadata)
    trace = timeline.Timeline(metadata.step_stats, graph=tf.get_default_graph())
    parsed = json.loads(trace.generate_chrome_trace_format())
    assert parsed["displayTimeUnit"] == "ms"
    names = [e["args"]["name"] for e in parsed["traceEvents"] if e["name"] == "process_name"]
    assert names == ["rank 0  /job:localhost/replica:0/task:0/device:CPU:0"]
    product = [e for e in parsed["traceEvents"] if e.get("args", {}).get("name") == "product"][0]
    assert product["args"]["input0"] == "x:0" and product["args"]["input1"].startswith("w")
    assert min(e["ts"] for e in parsed["traceEvents"] if e.get("ph") == "X") == 0


def test_svg_rendering_is_well_formed_and_shows_bytes(tmp_path):
    trace = timeline.Timeline(_placed_step_stats(), cluster=JobCluster(3)).\
        generate_chrome_trace_format()
    svg = timeline.render_svg(trace, title="placed step")
    root = ElementTree.fromstring(svg)
    namespace = "{http://www.w3.org/2000/svg}"
    titles = [t.text for t in root.iter(namespace + "title")]
    assert len(titles) == 6 and any("4096 bytes" in t for t in titles)
    assert len(list(root.iter(namespace + "line"))) >= 2  # flow arrows and axis
    texts = " ".join(t.text or "" for t in root.iter(namespace + "text"))
    assert "rank 2" in texts and "placed step" in texts and "ms" in texts


def test_command_line_renders_a_trace_file(tmp_path, capsys):
    path = tmp_path / "trace.json"
    path.write_text(timeline.Timeline(_placed_step_stats()).generate_chrome_trace_format())
    assert timeline.main([str(path)]) == 0
    assert (tmp_path / "trace.svg").read_text().startswith("<svg")
    (tmp_path / "bad.json").write_text("{}")
    assert timeline.main([str(tmp_path / "bad.json")]) == 2
    assert timeline.main([str(tmp_path / "missing.json")]) == 2
    assert "not a Chrome trace" in capsys.readouterr().err
