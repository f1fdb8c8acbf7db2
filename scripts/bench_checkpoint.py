"""Checkpoint write and read throughput against raw h5py on the same arrays, in one run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python scripts/bench_checkpoint.py
    python scripts/bench_checkpoint.py --mb 512 --arrays 16 --repeats 9 --dir /scratch/me

Baselines, measured in the same run on the same arrays and directory, alternating with
the measured code so that drift hits both:
  raw write: h5py.File(path, "w"), one create_dataset(data=array) per array, close;
  raw write+fsync: the same, then fsync (for context: a checkpoint must be durable);
  raw read:  open, read every dataset into a new array, close.
Measured:
  Saver.save:    the whole save (graph step running the save op: checksums, temp file,
                 fsync, rename; then the `checkpoint` state file), bytes / seconds;
  Saver.restore: metadata check, the restore op reading and verifying every value and
                 assigning the variables;
  writer/reader: the checkpoint package's write_checkpoint / CheckpointReader.read alone.
Prints the median throughput of each and its ratio to the raw baseline (target >= 0.8).
Under `mpiexec -n N python -m hpcflow --ps K scripts/bench_checkpoint.py --devices K` the
variables are spread over K parameter servers, each writing its shard in parallel.
"""
import argparse
import glob
import os
import shutil
import statistics
import tempfile
import time

import h5py
import numpy as np

import hpcflow as tf
from hpcflow.checkpoint import reader as ckpt_reader
from hpcflow.checkpoint import writer as ckpt_writer
from hpcflow.train.saver import Saver


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=256, help="total MB of variables")
    parser.add_argument("--arrays", type=int, default=8, help="number of variables")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats (median)")
    parser.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    parser.add_argument("--devices", type=int, default=0,
                        help="spread variables over this many ps tasks (0: no devices)")
    return parser.parse_args()


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _raw_write(path, arrays):
    with h5py.File(path, "w") as f:
        for name, value in arrays.items():
            f.create_dataset(name, data=value)


def _raw_write_fsync(path, arrays):
    _raw_write(path, arrays)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _raw_read(path, names):
    with h5py.File(path, "r") as f:
        return [f[name][()] for name in names]


def _remove(paths):
    for path in paths:
        for name in [path] + glob.glob(glob.escape(path) + ".*"):
            if os.path.exists(name):
                os.remove(name)


def main():
    args = _arguments()
    rng = np.random.default_rng(0)
    rows = max(1, int(args.mb * 1e6 / 4 / 1024 / args.arrays))
    arrays = {"layer%d/weights" % i: rng.standard_normal((rows, 1024), dtype=np.float32)
              for i in range(args.arrays)}
    total = sum(a.nbytes for a in arrays.values())
    workdir = tempfile.mkdtemp(prefix="bench_checkpoint_", dir=args.dir)
    device = tf.train.replica_device_setter(ps_tasks=args.devices) if args.devices else None
    with tf.device(device):
        variables = [tf.Variable(value, name=name) for name, value in arrays.items()]
    # Keep every checkpoint: deleting old ones is done below, outside the timed region, as
    # for the baseline's files.
    saver = Saver(max_to_keep=None)
    names = ("raw write", "raw write+fsync", "Saver.save", "writer", "raw read",
             "Saver.restore", "reader")
    timings = {key: [] for key in names}
    entries = [ckpt_writer.Entry(name, value, None, None, name) for name, value in arrays.items()]
    try:
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            saver.save(sess, os.path.join(workdir, "warmup.ckpt"))
            for repeat in range(args.repeats):
                # Every case writes a new file and files are deleted outside the timed region
                # (then os.sync()): freeing the blocks of a replaced file would otherwise be
                # paid by whichever case syncs next.
                raw_path = os.path.join(workdir, "raw-%d.h5" % repeat)
                raw_fsync_path = os.path.join(workdir, "rawfsync-%d.h5" % repeat)
                writer_path = os.path.join(workdir, "writer-%d.ckpt" % repeat)
                prefix = os.path.join(workdir, "model.ckpt-%d" % repeat)

                def read_all():
                    with ckpt_reader.CheckpointReader(writer_path) as reader:
                        return reader.read_many([(name, None, None) for name in arrays])
                writes = [
                    ("raw write", lambda: _raw_write(raw_path, arrays)),
                    ("raw write+fsync", lambda: _raw_write_fsync(raw_fsync_path, arrays)),
                    ("Saver.save", lambda: saver.save(sess, os.path.join(workdir, "model.ckpt"),
                                                      global_step=repeat)),
                    ("writer", lambda: ckpt_writer.write_checkpoint(writer_path, entries))]
                reads = [
                    ("raw read", lambda: _raw_read(raw_path, list(arrays))),
                    ("Saver.restore", lambda: saver.restore(sess, prefix)),
                    ("reader", read_all)]
                for cases in (writes, reads):
                    shift = repeat % len(cases)  # rotate the order: drift hits every case
                    for name, case in cases[shift:] + cases[:shift]:
                        os.sync()
                        timings[name].append(_timed(case))
                _remove([raw_path, raw_fsync_path, writer_path, prefix])
                os.sync()
            restored = sess.run(variables[0])
        np.testing.assert_array_equal(restored, arrays["layer0/weights"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print("checkpoint benchmark: %d variables, %.1f MB in all, %d repeats, medians%s"
          % (args.arrays, total / 1e6, args.repeats,
             ", %d devices" % args.devices if args.devices else ""))
    rate = {key: total / statistics.median(values) / 1e6 for key, values in timings.items()}
    for key, baselines in (("raw write", ()), ("raw write+fsync", ("raw write",)),
                           ("Saver.save", ("raw write", "raw write+fsync")),
                           ("writer", ("raw write", "raw write+fsync")), ("raw read", ()),
                           ("Saver.restore", ("raw read",)), ("reader", ("raw read",))):
        line = "  %-16s %8.0f MB/s  (median %.3f s)" % (key, rate[key],
                                                         statistics.median(timings[key]))
        ratios = ["%.2f x %s" % (rate[key] / rate[b], b) for b in baselines]
        line += "   " + ", ".join(ratios) if ratios else ""
        if baselines and not key.startswith("raw") and rate[key] / rate[baselines[0]] < 0.8:
            line += "   (below 0.8 x %s)" % baselines[0]
        print(line)


if __name__ == "__main__":
    main()
