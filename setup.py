"""Build and install hpcflow: the Python package plus the Cython CPU kernels in cy_kernels/.

Every `cy_kernels/<name>.pyx` becomes the extension module `hpcflow._cy.<name>` (typed
memoryviews over numpy arrays, so numpy's headers are needed). OpenMP (`-fopenmp`) is used
when the compiler accepts it; otherwise the kernels build single-threaded. Set
`HPCFLOW_NO_CYTHON=1` to install without compiling anything: hpcflow then runs on its numpy
reference kernels (`python -m hpcflow info` says which are in use). A failing compile is an
error, not a silent fallback, so a broken kernel never ships unnoticed.
"""
import glob
import os
import sys
import tempfile

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL_DIR = "cy_kernels"


def _readme():
    path = os.path.join(HERE, "README.md")
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as f:
        return f.read()


def _kernel_sources():
    """cy_kernels/*.pyx, relative to this file, in a stable order."""
    return sorted(os.path.relpath(p, HERE).replace(os.sep, "/")
                  for p in glob.glob(os.path.join(HERE, KERNEL_DIR, "*.pyx")))


def _extensions():
    if os.environ.get("HPCFLOW_NO_CYTHON", "") not in ("", "0"):
        print("hpcflow: HPCFLOW_NO_CYTHON is set: not building the Cython kernels",
              file=sys.stderr)
        return []
    sources = _kernel_sources()
    if not sources:
        return []
    try:
        import numpy
        from Cython.Build import cythonize
    except ImportError as e:
        raise SystemExit(
            "hpcflow: building the Cython kernels needs Cython>=3 and numpy (%s). pip installs "
            "them from pyproject.toml's build requirements; to install without the kernels, "
            "set HPCFLOW_NO_CYTHON=1." % e)
    # Shared C headers and .pxd files: a change to one rebuilds every kernel.
    headers = sorted(os.path.relpath(p, HERE).replace(os.sep, "/")
                     for pattern in ("*.h", "*.pxd")
                     for p in glob.glob(os.path.join(HERE, KERNEL_DIR, pattern)))
    extensions = [
        Extension("hpcflow._cy." + os.path.splitext(os.path.basename(source))[0], [source],
                  depends=headers,
                  # cy_kernels/ for the C headers next to the .pyx files.
                  include_dirs=[numpy.get_include(), KERNEL_DIR],
                  # Only the memoryview API is used: no deprecated numpy C API.
                  define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
        for source in sources]
    return cythonize(extensions, include_path=[os.path.join(HERE, KERNEL_DIR)],
                     # Generated C goes to build/, not next to the sources.
                     build_dir=os.path.join("build", "cython"),
                     compiler_directives={"language_level": "3"}, quiet=True)


def _compiles_with(compiler, flags):
    """Whether `compiler` compiles and links a small OpenMP program with `flags`."""
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "omp_check.c")
        with open(source, "w") as f:
            f.write("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        try:
            objects = compiler.compile([source], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(objects, os.path.join(tmp, "omp_check"),
                                     extra_postargs=flags)
        except Exception:  # any compile or link failure means: no OpenMP with these flags
            return False
    return True


class BuildExt(build_ext):
    """build_ext that adds OpenMP flags when the compiler supports them (and, for GCC-like
    compilers, -fno-trapping-math so that compare-and-select loops vectorize)."""

    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            compile_flags, link_flags = ["/openmp"], []
        else:
            compile_flags, link_flags = ["-fopenmp"], ["-fopenmp"]
            # The kernels never read floating-point exception flags; without this, GCC
            # keeps every float compare as a branch and vectorizes no max/select loop.
            # Nor do they read errno: without -fno-math-errno, sqrt stays a libm call (to
            # set errno on a negative input) and no loop calling it vectorizes.
            for extension in self.extensions:
                extension.extra_compile_args = list(extension.extra_compile_args) + [
                    "-fno-trapping-math", "-fno-math-errno"]
        if _compiles_with(self.compiler, compile_flags + link_flags):
            for extension in self.extensions:
                extension.extra_compile_args = list(extension.extra_compile_args) + compile_flags
                extension.extra_link_args = list(extension.extra_link_args) + link_flags
        else:
            print("hpcflow: the compiler does not accept %s: building the Cython kernels "
                  "without OpenMP (single-threaded)" % " ".join(compile_flags), file=sys.stderr)
        super().build_extensions()


setup(
    name="hpcflow",
    version="0.1.0",
    description="TensorFlow 1.x graph mode rebuilt as an MPI batch runtime for HPC clusters",
    long_description=_readme(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["hpcflow", "hpcflow.*"]),
    ext_modules=_extensions(),
    cmdclass={"build_ext": BuildExt},
    # tensorboard: its protos and event writer (summaries, on every rank); threadpoolctl:
    # each rank's share of a node's cores for BLAS; tqdm: progress bars.
    install_requires=["numpy>=1.22", "mpi4py>=3.1", "h5py>=3.0", "tensorboard>=2.10",
                      "threadpoolctl>=3", "tqdm"],
    extras_require={
        "mpich": ["mpich"],
        "gpu": ["cupy-cuda12x"],
        # mpich: MPI from PyPI (no system MPI needed); scikit-learn: the digits data of the
        # examples; pillow: decoding image summaries; cupy + NVRTC (both import without a
        # GPU): the GPU backend's CPU-side tests and CUDA source compilation.
        "test": ["pytest>=7", "pytest-mpi", "mpich", "scikit-learn", "pillow",
                 "cupy-cuda13x", "nvidia-cuda-nvrtc"],
    },
    entry_points={"console_scripts": ["hpcflow=hpcflow.__main__:main"]},
    zip_safe=False,
)
