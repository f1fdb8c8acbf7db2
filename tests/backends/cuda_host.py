"""Compiles the GPU backend's CUDA sources with NVRTC/nvcc, or as C++ to run on the host.

The host build uses cuda_kernels.HOST_PRELUDE: one thread, so each kernel's grid-stride
loop visits every element, and atomicAdd is a plain add. Every instantiation of every
source goes into one shared library (namespaced, renamed `<name>__<types>`), loaded with
ctypes; `call` passes numpy arrays and scalars per the source's parameter list.
"""
import ctypes
import os
import shutil
import subprocess
import tempfile

import numpy as np

from hpcflow.backends import cuda_kernels

ARCH = "compute_75"


def suffix(types):
    return "__" + "_".join("%s%s" % (k, np.dtype(v).name) for k, v in sorted(types.items()))


def nvrtc_module():
    """cupy's NVRTC bindings if cupy and libnvrtc load (no GPU needed), else None."""
    try:
        from cupy.cuda import nvrtc
        nvrtc.getVersion()
        return nvrtc
    except Exception:  # cupy or libnvrtc missing
        return None


def nvcc_path():
    return shutil.which("nvcc") or ("/usr/local/bin/nvcc" if os.path.exists(
        "/usr/local/bin/nvcc") else None)


def compile_for_gpu(source, name):
    """Compiles CUDA `source` for a GPU architecture; returns (tool, error log or None)."""
    nvrtc = nvrtc_module()
    if nvrtc is not None:
        program = nvrtc.createProgram(source, name + ".cu", (), ())
        try:
            nvrtc.compileProgram(program, ("--gpu-architecture=%s" % ARCH, "--std=c++14"))
            return "nvrtc", None
        except nvrtc.NVRTCError:
            return "nvrtc", nvrtc.getProgramLog(program)
        finally:
            nvrtc.destroyProgram(program)
    nvcc = nvcc_path()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name + ".cu")
        with open(path, "w") as f:
            f.write(source)
        proc = subprocess.run([nvcc, "--ptx", "-arch=%s" % ARCH, "-std=c++14", "-o",
                               os.path.join(tmp, name + ".ptx"), path],
                              capture_output=True, text=True)
        return "nvcc", (proc.stderr or proc.stdout) if proc.returncode else None


def combined_source(items, prelude=""):
    """One translation unit holding every (source, types) instantiation, each in its own
    namespace with its function renamed `<name>__<types>` (so they cannot clash)."""
    units = [prelude]
    for index, (source, types) in enumerate(items):
        renamed = source.name + suffix(types)
        units.append("#define %s %s\nnamespace hf_unit_%d {\n%s}\n#undef %s\n"
                     % (source.name, renamed, index, source.source(types, host=False),
                        source.name))
    return "\n".join(units)


def compile_all_for_gpu(items):
    """Compiles every instantiation for a GPU, in one go; returns (tool, [failure texts])."""
    tool, log = compile_for_gpu(combined_source(items), "hpcflow_kernels")
    if log is None:
        return tool, []
    failures = []
    for source, types in items:  # find which sources fail
        _, one = compile_for_gpu(source.source(types), source.name)
        if one is not None:
            failures.append("%s %s:\n%s" % (source.name, types, one))
    return tool, failures or [log]


class HostLibrary:
    """Host (C++) builds of CUDA sources: {(name, types key): ctypes function}."""

    def __init__(self, sources):
        self._tmp = tempfile.mkdtemp(prefix="hpcflow_cuda_host_")
        path = os.path.join(self._tmp, "kernels.cpp")
        with open(path, "w") as f:
            f.write(combined_source(sources, cuda_kernels.HOST_PRELUDE))
        library = os.path.join(self._tmp, "kernels.so")
        proc = subprocess.run(["g++", "-O1", "-std=c++14", "-shared", "-fPIC", "-o", library,
                               path], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError("host build of the CUDA sources failed:\n%s" % proc.stderr[-4000:])
        self.library = ctypes.CDLL(library)

    def call(self, source, types, *args):
        """Runs `source` instantiated for `types` on numpy arrays (outputs written in place)."""
        fn = getattr(self.library, source.name + suffix(types))
        params = _params(source)
        assert len(params) == len(args), (source.name, len(params), len(args))
        converted = []
        for decl, value in zip(params, args):
            if "*" in decl:
                assert isinstance(value, np.ndarray) and value.flags.c_contiguous
                converted.append(ctypes.c_void_p(value.ctypes.data))
            elif decl == "long long":
                converted.append(ctypes.c_longlong(int(value)))
            elif decl == "int":
                converted.append(ctypes.c_int(int(value)))
            else:
                raise TypeError(decl)
        fn.restype = None
        fn(*converted)

    def close(self):
        shutil.rmtree(self._tmp, ignore_errors=True)


def _params(source):
    if isinstance(source, cuda_kernels.RawSource):
        return [decl for decl, _ in source.params]
    ins = source._names(source.in_params)
    outs = source._names(source.out_params)
    return ["const T*"] * len(ins) + ["T*"] * len(outs) + ["long long"]
