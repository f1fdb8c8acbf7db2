"""Compiled Cython kernels, built by setup.py from cy_kernels/<name>.pyx as hpcflow._cy.<name>.

The modules exist only after a build (`pip install -e .` compiles them); without them hpcflow
runs on its numpy reference kernels. `hpcflow.backends.cython_backend` imports them and
registers their kernels; nothing else should import this package directly.
"""
