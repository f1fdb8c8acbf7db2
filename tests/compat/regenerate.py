"""Regenerates expected/*.npz: each program's results under real TensorFlow (TF1 API).

    python tests/compat/regenerate.py [/path/to/python-with-tensorflow]

Needs a Python with tensorflow installed (../shared/tools/tf1_compare.py makes one at
/tmp/tf1-ref); the test suite itself never imports TensorFlow, it only reads these files.
"""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = r'''
import os, sys, runpy
import numpy as np
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
result = runpy.run_path(sys.argv[1])["program"](tf)
np.savez(sys.argv[2], **{k: np.asarray(v) for k, v in result.items()})
'''


def main():
    python = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tf1-ref/bin/python"
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    for program in sorted(glob.glob(os.path.join(HERE, "programs", "*.py"))):
        name = os.path.splitext(os.path.basename(program))[0]
        out = os.path.join(HERE, "expected", name + ".npz")
        subprocess.run([python, "-c", RUNNER, program, out], check=True)
        print("wrote", out)


if __name__ == "__main__":
    main()
