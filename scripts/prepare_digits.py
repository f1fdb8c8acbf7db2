"""Write scikit-learn's bundled handwritten digits (`load_digits`, no download) to HDF5.

    python scripts/prepare_digits.py                    # -> data/digits.h5
    python scripts/prepare_digits.py --output /scratch/digits.h5

1797 grey 8x8 images of the digits 0-9, scaled to [0, 1], shuffled with a fixed seed and
split 80/20 into datasets train/images [1437, 8, 8, 1] float32, train/labels [1437] int64,
test/images [360, 8, 8, 1] and test/labels [360]. The examples read the file with
`tf.data.HDF5Reader`, each MPI rank its own share of every batch. The file is written to a
temporary name and renamed, so a reader never sees half a file.
"""
import argparse
import os

import numpy as np

DEFAULT_PATH = os.path.join("data", "digits.h5")


def prepare(path=DEFAULT_PATH, seed=0, test_fraction=0.2):
    """Writes the digits to `path`; returns (train examples, test examples)."""
    import h5py
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    labels = digits.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(labels))
    images, labels = images[order], labels[order]
    n_test = int(len(labels) * test_fraction)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = "%s.tmp.%d" % (path, os.getpid())
    with h5py.File(temporary, "w") as f:
        f.attrs["source"] = "sklearn.datasets.load_digits (UCI optical digits, 8x8)"
        f.attrs["seed"] = seed
        for split, rows in (("train", slice(n_test, None)), ("test", slice(0, n_test))):
            f.create_dataset(split + "/images", data=images[rows])
            f.create_dataset(split + "/labels", data=labels[rows])
    os.replace(temporary, path)
    return len(labels) - n_test, n_test


def ensure(path=DEFAULT_PATH):
    """Prepares `path` unless it exists; returns `path`."""
    if not os.path.exists(path):
        train, test = prepare(path)
        print("wrote %s: %d training and %d test digits" % (path, train, test), flush=True)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=DEFAULT_PATH)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train, test = prepare(args.output, args.seed)
    print("wrote %s: %d training and %d test digits" % (args.output, train, test))


if __name__ == "__main__":
    main()
