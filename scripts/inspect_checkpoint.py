"""List the variables of an hpcflow checkpoint: names, shapes, dtypes, and the global step.

    python scripts/inspect_checkpoint.py ckpt/                      # the latest checkpoint
    python scripts/inspect_checkpoint.py ckpt/model.ckpt-700        # a given one
    python scripts/inspect_checkpoint.py ckpt/model.ckpt-700 --tensor layer1/weights
    python scripts/inspect_checkpoint.py ckpt/ --verify             # read and check every value

Exit code 0, or 1 with a message when the checkpoint is missing or damaged.
"""
import argparse
import sys

import numpy as np


def _arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="a checkpoint path, or a directory (its latest one)")
    parser.add_argument("--tensor", action="append", default=[],
                        help="also print this variable's value (repeatable)")
    parser.add_argument("--verify", action="store_true",
                        help="read every variable and verify its checksum")
    return parser.parse_args(argv)


def _size_text(size):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return "%.1f %s" % (size / scale, unit)
    return "%d bytes" % size


def _step(reader):
    step = reader.global_step
    if step is None and reader.has_tensor("global_step"):
        step = int(reader.get_tensor("global_step"))
    return step


def main(argv=None):
    args = _arguments(argv)
    from hpcflow.checkpoint import reader as ckpt_reader
    from hpcflow.framework import errors
    try:
        with ckpt_reader.load_checkpoint(args.checkpoint) as reader:
            shapes = reader.get_variable_to_shape_map()
            types = reader.get_variable_to_dtype_map()
            step = _step(reader)
            print("checkpoint %s" % reader.prefix)
            print("global step %s, %d variables, %d shard file%s" % (
                "unknown" if step is None else step, len(shapes), reader.num_shards,
                "" if reader.num_shards == 1 else "s"))
            width = max([len(name) for name in shapes] + [8])
            total = 0
            for name in sorted(shapes):
                count = int(np.prod(shapes[name], dtype=np.int64))
                size = count * (types[name].size if types[name].name != "string" else 0)
                total += size
                print("  %-*s  %-9s %-18s %s" % (width, name, types[name].name,
                                                 "[%s]" % ",".join(map(str, shapes[name])),
                                                 reader.dataset_path(name)))
            print("%s of numeric values" % _size_text(total))
            if args.verify:
                for name in sorted(shapes):
                    reader.get_tensor(name)
                print("verified: every value matches its checksum")
            for name in args.tensor:
                print("%s =\n%s" % (name, reader.get_tensor(name)))
    except (errors.OpError, ValueError) as e:
        print("inspect_checkpoint: %s" % (e.message if hasattr(e, "message") else e),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
