"""Trace one training step across the ranks and write it as a Chrome trace and an SVG.

    mpiexec -n 4 python -m hpcflow scripts/timeline_example.py                  # CNN, data parallel
    mpiexec -n 3 python -m hpcflow scripts/timeline_example.py --model two_stage  # placed stages

Open the .json in Perfetto (ui.perfetto.dev) or chrome://tracing: one process lane per
rank, with a "compute" thread and an "MPI" thread holding the _Send/_Recv pairs or the
data-parallel collectives and the bytes they moved. The .svg is the same trace drawn
without a browser (`python -m hpcflow.timeline trace.json` draws any trace file).
"""
import argparse
import collections
import json
import os

import hpcflow as tf
from hpcflow import timeline
from prepare_digits import DEFAULT_PATH, ensure


def build(model, data):
    reader_device = "/job:worker/task:0" if model == "two_stage" else None
    with tf.device(reader_device):
        reader = tf.data.HDF5Reader(data, ["train/images", "train/labels"], batch_size=64,
                                    seed=1, name="train_reader")
    images, labels = reader.get_next()
    if model == "two_stage":
        from model_parallel import two_stage_model
        logits = two_stage_model(images)
    else:
        from cnn_digits import cnn
        logits = cnn(images)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))
    return tf.train.AdamOptimizer(0.003).minimize(loss, colocate_gradients_with_ops=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["cnn", "two_stage"], default="cnn")
    parser.add_argument("--data", default=DEFAULT_PATH)
    parser.add_argument("--output", default=None,
                        help="trace file (default runs/timeline_MODEL.json)")
    parser.add_argument("--warmup", type=int, default=3, help="untraced steps first")
    args = parser.parse_args(argv)
    ensure(args.data)
    tf.set_random_seed(1)
    train = build(args.model, args.data)
    output = args.output or os.path.join("runs", "timeline_%s.json" % args.model)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    metadata = tf.RunMetadata()
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(args.warmup):
            sess.run(train)
        sess.run(train, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                 run_metadata=metadata)
    trace = timeline.Timeline(metadata.step_stats).generate_chrome_trace_format()
    with open(output, "w") as f:
        f.write(trace)
    title = "one %s training step on %d rank(s)" % (args.model, tf.mpi.size())
    svg_path = output[:-len(".json")] + ".svg" if output.endswith(".json") else output + ".svg"
    with open(svg_path, "w") as f:
        f.write(timeline.render_svg(trace, title=title))
    moved = collections.Counter()
    ops = collections.Counter()
    names = {}
    for event in json.loads(trace)["traceEvents"]:
        if event.get("ph") == "M" and event["name"] == "process_name":
            names[event["pid"]] = event["args"]["name"]
        if event.get("ph") == "X":
            ops[event["pid"]] += 1
            moved[event["pid"]] += event["args"].get("bytes", 0)
    for pid in sorted(names):
        print("%-50s %4d ops, %8d bytes sent/received" % (names[pid], ops[pid], moved[pid]))
    print("wrote %s and %s" % (output, svg_path))


if __name__ == "__main__":
    main()
