"""The fused CUDA kernels of the GPU backend, as source strings, and their CuPy launchers.

Where one pass over memory replaces several array-module calls, the GPU backend runs one
of these (on a real GPU only; the stand-in device runs the array-module reference code in
gpu_kernels.py, which these are tested against):

    fused_program        an element-wise chain of the fusion rewrite (_FusedElementwise),
                         generated as a cupy.ElementwiseKernel per program
    adam_update          ApplyAdam's three in-place updates (ElementwiseKernel)
    softmax_xent_rows    SoftmaxCrossEntropyWithLogits: loss and backprop per row (RawKernel)
    sparse_xent_rows     SparseSoftmaxCrossEntropyWithLogits, int32 or int64 labels
    max_pool_nhwc / max_pool_grad_nhwc / avg_pool_nhwc / avg_pool_grad_nhwc
                         pooling and its gradient, NHWC, one thread per output element
                         (the gradients gather over the windows covering an input element:
                         deterministic, no atomics)
    scatter_add_rows     scatter-add of rows (UnsortedSegmentSum, ScatterAdd), atomicAdd

Conventions that let the tests check every source without a GPU: each kernel is a
grid-stride loop over its elements (so one thread computes everything when run on the
host), element types are `T` (and `I` for indices) set by a typedef per instantiation,
and RawKernel parameters are listed in `RawSource.params`. Tests compile every source with
NVRTC (or nvcc) for a GPU architecture, and compile the same text as C++ after
`HOST_PRELUDE` (one thread, atomicAdd a plain add) to run it on numpy buffers against the
numpy reference kernels (tests/backends/test_cupy_cuda_sources.py).
"""
import os
import threading

import numpy as np

# C types of the element types the kernels are instantiated for.
C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
           np.dtype(np.int32): "int", np.dtype(np.int64): "long long"}

# Device helpers shared by the sources: max/min that propagate NaN as numpy's do.
DEVICE_HELPERS = r"""
template <typename U> __device__ __forceinline__ U hf_max(U a, U b) {
  return (a != a) ? a : ((b != b) ? b : (a > b ? a : b));
}
template <typename U> __device__ __forceinline__ U hf_min(U a, U b) {
  return (a != a) ? a : ((b != b) ? b : (a < b ? a : b));
}
template <typename U> __device__ __forceinline__ U hf_lowest();
template <> __device__ __forceinline__ float hf_lowest<float>() {
  return __int_as_float(0xff800000);  // -inf
}
template <> __device__ __forceinline__ double hf_lowest<double>() {
  return __longlong_as_double(0xfff0000000000000LL);  // -inf
}
"""

# What the sources need to compile and run as plain C++ on the host (tests): no threads but
# one, so every grid-stride loop covers all elements.
HOST_PRELUDE = r"""
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
using namespace std;
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#include <cstring>
inline float __int_as_float(unsigned int bits) { float f; memcpy(&f, &bits, 4); return f; }
inline double __longlong_as_double(long long bits) { double d; memcpy(&d, &bits, 8); return d; }
struct hf_dim3 { unsigned int x, y, z; };
static const hf_dim3 threadIdx = {0, 0, 0}, blockIdx = {0, 0, 0};
static const hf_dim3 blockDim = {1, 1, 1}, gridDim = {1, 1, 1};
template <typename U> U atomicAdd(U* address, U value) {
  U old = *address; *address = old + value; return old;
}
"""

# The grid-stride loop every kernel uses.
LOOP = ("for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; "
        "i += (long long)blockDim.x * gridDim.x)")


class RawSource:
    """A RawKernel: CUDA source of one `extern "C" __global__` function, per element type.

    Args:
      name: the function name.
      params: [(C declaration, name)] of its parameters, e.g. ("const T*", "x"),
        ("long long", "n").
      body: the function body (uses `n` for the element count of its loop).
      type_params: the typedef'd names and their allowed numpy dtypes, e.g.
        {"T": (float32, float64), "I": (int32, int64)}.
    """

    def __init__(self, name, params, body, type_params):
        self.name = name
        self.params = params
        self.body = body
        self.type_params = type_params

    def source(self, types, host=False):
        """The full source for `types` ({"T": np.float32, ...}); `host`: C++ for tests."""
        typedefs = "".join("typedef %s %s;\n" % (C_TYPES[np.dtype(types[k])], k)
                           for k in sorted(self.type_params))
        signature = ", ".join("%s %s" % (decl, name) for decl, name in self.params)
        return "%s%s%s\nextern \"C\" __global__ void %s(%s) {\n%s\n}\n" % (
            HOST_PRELUDE if host else "", typedefs, DEVICE_HELPERS, self.name, signature,
            self.body)

    def instantiations(self):
        """Every {type name: dtype} combination this kernel is built for."""
        combos = [{}]
        for key in sorted(self.type_params):
            combos = [dict(c, **{key: np.dtype(t)}) for c in combos
                      for t in self.type_params[key]]
        return combos


class ElementwiseSource:
    """A cupy.ElementwiseKernel: typed parameters and a per-element operation.

    Args:
      name: the kernel name.
      in_params, out_params: CuPy's parameter strings ("T x, T y"); all of type T here.
      operation: the C++ statements for element i (parameters are the element values,
        outputs assignable).
      preamble: code before the kernel.
    """

    def __init__(self, name, in_params, out_params, operation, preamble=""):
        self.name = name
        self.in_params = in_params
        self.out_params = out_params
        self.operation = operation
        self.preamble = preamble
        self.type_params = {"T": (np.float32, np.float64)}

    @staticmethod
    def _names(params):
        return [p.split()[-1] for p in params.split(",") if p.strip()]

    def source(self, types, host=False):
        """A stand-alone CUDA (or host C++) function equivalent to what CuPy generates: one
        loop over the elements, each parameter bound to element i (outputs by reference)."""
        c_type = C_TYPES[np.dtype(types["T"])]
        ins, outs = self._names(self.in_params), self._names(self.out_params)
        signature = ", ".join(["const T* _raw_%s" % p for p in ins] +
                              ["T* _raw_%s" % p for p in outs] + ["long long n"])
        bind = "".join("    const T %s = _raw_%s[i];\n" % (p, p) for p in ins) + \
            "".join("    T& %s = _raw_%s[i];\n" % (p, p) for p in outs)
        return "%stypedef %s T;\n%s%s\nextern \"C\" __global__ void %s(%s) {\n  %s {\n%s" \
               "    %s;\n  }\n}\n" % (HOST_PRELUDE if host else "", c_type, DEVICE_HELPERS,
                                      self.preamble, self.name, signature, LOOP, bind,
                                      self.operation)

    def instantiations(self):
        return [{"T": np.dtype(t)} for t in self.type_params["T"]]

    def cupy_kernel(self):
        """The cupy.ElementwiseKernel (built once; CuPy compiles it on first launch)."""
        return _cached(("elementwise", self.name, self.operation),
                       lambda: _cupy().ElementwiseKernel(
                           self.in_params, self.out_params, self.operation, self.name,
                           preamble=DEVICE_HELPERS + self.preamble))


_cache = {}
_cache_lock = threading.Lock()


def _cached(key, make):
    hit = _cache.get(key)
    if hit is None:
        with _cache_lock:
            hit = _cache.get(key)
            if hit is None:
                hit = _cache[key] = make()
    return hit


def _cupy():
    import cupy
    return cupy


# -- element-wise chains of the fusion rewrite ------------------------------------------------

# opcode (rewrites/fused_elementwise.OPCODES) -> C++ expression over a (and b), p the param.
FUSED_EXPRESSIONS = {
    0: "a", 1: "-a", 2: "fabs(a)", 3: "a * a", 4: "sqrt(a)", 5: "(T)1 / sqrt(a)",
    6: "(T)1 / a", 7: "exp(a)", 8: "expm1(a)", 9: "log(a)", 10: "log1p(a)", 11: "sin(a)",
    12: "cos(a)", 13: "tan(a)", 14: "tanh(a)", 15: "(T)1 / ((T)1 + exp(-a))",
    16: "hf_max(a, (T)0)", 17: "hf_min(hf_max(a, (T)0), (T)6)",
    18: "(hf_max(a, (T)0) + log1p(exp(-fabs(a))))", 19: "a / ((T)1 + fabs(a))",
    20: "floor(a)", 21: "ceil(a)", 22: "(a != a ? a : (T)((a > 0) - (a < 0)))",
    23: "(a > 0 ? a : a * (T)p)", 24: "(a >= 0 ? a : expm1(a))",
    32: "a + b", 33: "a - b", 34: "a * b", 35: "a / b", 36: "hf_max(a, b)",
    37: "hf_min(a, b)", 38: "(a - b) * (a - b)", 39: "(b > 0 ? a : (T)0)",
    40: "(b == 0 ? (T)0 : a / b)", 41: "(b > 0 ? a : a * (T)p)",
    42: "((b > 0 && b < 6) ? a : (T)0)",
}


def fused_source(program, num_registers, num_inputs):
    """The ElementwiseSource of a `_FusedElementwise` program (see fused_elementwise.py)."""
    lines = ["T r%d" % r for r in range(num_inputs, num_registers)]
    last = len(program) - 1
    for index, (opcode, dst, a, b, param) in enumerate(program):
        expression = FUSED_EXPRESSIONS[opcode]
        expression = expression.replace("(T)p", "(T)(%r)" % float(param))
        operand_b = "r%d" % b if b >= 0 else "(T)0"
        expression = _substitute(expression, "r%d" % a, operand_b)
        target = "out" if index == last else "r%d" % dst
        lines.append("%s = %s" % (target, expression))
    operation = ";\n    ".join(["const T r%d = in%d" % (i, i) for i in range(num_inputs)]
                               + lines)
    key = abs(hash((tuple(program), num_registers, num_inputs)))
    return ElementwiseSource("hpcflow_fused_%x" % key,
                             ", ".join("T in%d" % i for i in range(num_inputs)), "T out",
                             operation)


def _substitute(expression, a, b):
    # Operands are single letters a and b in the table: replace whole identifiers only.
    out = []
    for i, ch in enumerate(expression):
        before = expression[i - 1] if i else " "
        after = expression[i + 1] if i + 1 < len(expression) else " "
        standalone = not (before.isalnum() or before == "_") and \
            not (after.isalnum() or after == "_")
        if ch == "a" and standalone:
            out.append(a)
        elif ch == "b" and standalone:
            out.append(b)
        else:
            out.append(ch)
    return "".join(out)


def fused_program(program, num_registers, T, num_inputs):  # noqa: N803
    """The launcher (cupy.ElementwiseKernel) of a fused program; CuPy broadcasts inputs."""
    key = ("fused", tuple(program), num_registers, num_inputs)
    return _cached(key, lambda: fused_source(program, num_registers, num_inputs).cupy_kernel())


# -- optimizer updates -------------------------------------------------------------------------

ADAM_UPDATE = ElementwiseSource(
    "hpcflow_adam_update", "T g, T alpha, T b1, T b2, T eps", "T var, T m, T v",
    "m = m + (g - m) * ((T)1 - b1);\n"
    "    v = v + (g * g - v) * ((T)1 - b2);\n"
    "    var = var - (alpha * m) / (sqrt(v) + eps)")


# -- softmax with cross-entropy ----------------------------------------------------------------

SOFTMAX_XENT = RawSource(
    "softmax_xent_rows",
    [("const T*", "logits"), ("const T*", "labels"), ("T*", "loss"), ("T*", "backprop"),
     ("long long", "n"), ("long long", "cols")],
    r"""  %s {
    const T* x = logits + i * cols;
    const T* z = labels + i * cols;
    T top = x[0];
    for (long long j = 1; j < cols; ++j) top = hf_max(top, x[j]);
    T total = 0;
    for (long long j = 0; j < cols; ++j) total += exp(x[j] - top);
    const T log_total = log(total);
    T sum = 0;
    for (long long j = 0; j < cols; ++j) {
      const T log_sm = (x[j] - top) - log_total;
      sum += z[j] * log_sm;
      backprop[i * cols + j] = exp(log_sm) - z[j];
    }
    loss[i] = -sum;
  }""" % LOOP, {"T": (np.float32, np.float64)})

SPARSE_XENT = RawSource(
    "sparse_xent_rows",
    [("const T*", "logits"), ("const I*", "labels"), ("T*", "loss"), ("T*", "backprop"),
     ("long long", "n"), ("long long", "cols")],
    r"""  %s {
    const T* x = logits + i * cols;
    T top = x[0];
    for (long long j = 1; j < cols; ++j) top = hf_max(top, x[j]);
    T total = 0;
    for (long long j = 0; j < cols; ++j) total += exp(x[j] - top);
    const T log_total = log(total);
    const long long label = (long long)labels[i];
    for (long long j = 0; j < cols; ++j) {
      const T log_sm = (x[j] - top) - log_total;
      backprop[i * cols + j] = exp(log_sm) - (j == label ? (T)1 : (T)0);
      if (j == label) loss[i] = -log_sm;
    }
  }""" % LOOP, {"T": (np.float32, np.float64), "I": (np.int32, np.int64)})


# -- pooling (NHWC) ----------------------------------------------------------------------------

_POOL_PARAMS = [("long long", "n"), ("int", "height"), ("int", "width"), ("int", "channels"),
                ("int", "out_h"), ("int", "out_w"), ("int", "kernel_h"), ("int", "kernel_w"),
                ("int", "stride_h"), ("int", "stride_w"), ("int", "pad_top"),
                ("int", "pad_left")]

# Decomposes the output index i into (b, oy, ox, c) and walks the window of that output
# cell, including padding cells (value: lowest), in (kh, kw) order as the numpy kernel.
_OUT_INDEX = r"""
    const int c = (int)(i % channels);
    const long long cell = i / channels;
    const int ox = (int)(cell % out_w);
    const int oy = (int)((cell / out_w) % out_h);
    const long long b = cell / ((long long)out_w * out_h);
"""

MAX_POOL = RawSource(
    "max_pool_nhwc", [("const T*", "x"), ("T*", "y")] + _POOL_PARAMS,
    r"""  %s {%s
    T best = hf_lowest<T>();
    bool first = true;
    for (int ky = 0; ky < kernel_h; ++ky) {
      for (int kx = 0; kx < kernel_w; ++kx) {
        const int yy = oy * stride_h - pad_top + ky, xx = ox * stride_w - pad_left + kx;
        const bool inside = yy >= 0 && yy < height && xx >= 0 && xx < width;
        const T value = inside ? x[((b * height + yy) * width + xx) * channels + c]
                               : hf_lowest<T>();
        best = first ? value : hf_max(best, value);
        first = false;
      }
    }
    y[i] = best;
  }""" % (LOOP, _OUT_INDEX), {"T": (np.float32, np.float64)})

MAX_POOL_GRAD = RawSource(
    "max_pool_grad_nhwc", [("const T*", "x"), ("const T*", "grad"), ("T*", "dx")] + _POOL_PARAMS,
    r"""  %s {
    // i indexes the input: sum the gradient of every output cell whose window's first
    // maximum (in (kh, kw) order, strict comparison) is this element.
    const int c = (int)(i %% channels);
    const long long pixel = i / channels;
    const int px = (int)(pixel %% width);
    const int py = (int)((pixel / width) %% height);
    const long long b = pixel / ((long long)width * height);
    T total = 0;
    const int oy_lo = max(0, (py + pad_top - kernel_h + stride_h) / stride_h);
    const int ox_lo = max(0, (px + pad_left - kernel_w + stride_w) / stride_w);
    for (int oy = oy_lo; oy < out_h && oy * stride_h - pad_top <= py; ++oy) {
      for (int ox = ox_lo; ox < out_w && ox * stride_w - pad_left <= px; ++ox) {
        int arg_y = 0, arg_x = 0;
        bool found = false;
        T best = 0;
        for (int ky = 0; ky < kernel_h; ++ky) {
          for (int kx = 0; kx < kernel_w; ++kx) {
            const int yy = oy * stride_h - pad_top + ky, xx = ox * stride_w - pad_left + kx;
            const bool inside = yy >= 0 && yy < height && xx >= 0 && xx < width;
            const T value = inside ? x[((b * height + yy) * width + xx) * channels + c]
                                   : hf_lowest<T>();
            if (!found || value > best) { best = value; arg_y = yy; arg_x = xx; found = true; }
          }
        }
        if (arg_y == py && arg_x == px)
          total += grad[((b * out_h + oy) * out_w + ox) * channels + c];
      }
    }
    dx[i] = total;
  }""" % LOOP, {"T": (np.float32, np.float64)})

AVG_POOL = RawSource(
    "avg_pool_nhwc", [("const T*", "x"), ("T*", "y")] + _POOL_PARAMS,
    r"""  %s {%s
    T total = 0;
    int count = 0;
    for (int ky = 0; ky < kernel_h; ++ky) {
      const int yy = oy * stride_h - pad_top + ky;
      if (yy < 0 || yy >= height) continue;
      for (int kx = 0; kx < kernel_w; ++kx) {
        const int xx = ox * stride_w - pad_left + kx;
        if (xx < 0 || xx >= width) continue;
        total += x[((b * height + yy) * width + xx) * channels + c];
        ++count;
      }
    }
    y[i] = total / (T)count;
  }""" % (LOOP, _OUT_INDEX), {"T": (np.float32, np.float64)})

AVG_POOL_GRAD = RawSource(
    "avg_pool_grad_nhwc", [("const T*", "grad"), ("T*", "dx")] + _POOL_PARAMS,
    r"""  %s {
    // i indexes the input: each output cell covering it passes grad / (its real inputs).
    const int c = (int)(i %% channels);
    const long long pixel = i / channels;
    const int px = (int)(pixel %% width);
    const int py = (int)((pixel / width) %% height);
    const long long b = pixel / ((long long)width * height);
    T total = 0;
    const int oy_lo = max(0, (py + pad_top - kernel_h + stride_h) / stride_h);
    const int ox_lo = max(0, (px + pad_left - kernel_w + stride_w) / stride_w);
    for (int oy = oy_lo; oy < out_h && oy * stride_h - pad_top <= py; ++oy) {
      const int top = oy * stride_h - pad_top;
      const int rows = min(top + kernel_h, height) - max(top, 0);
      for (int ox = ox_lo; ox < out_w && ox * stride_w - pad_left <= px; ++ox) {
        const int left = ox * stride_w - pad_left;
        const int cols = min(left + kernel_w, width) - max(left, 0);
        total += grad[((b * out_h + oy) * out_w + ox) * channels + c] / (T)(rows * cols);
      }
    }
    dx[i] = total;
  }""" % LOOP, {"T": (np.float32, np.float64)})


# -- scatter-add -------------------------------------------------------------------------------

SCATTER_ADD = RawSource(
    "scatter_add_rows",
    [("const T*", "updates"), ("const I*", "indices"), ("T*", "out"), ("long long", "n"),
     ("long long", "row"), ("long long", "num_rows")],
    r"""  %s {
    // n = number of update elements; negative or out-of-range rows are skipped (callers
    // check ranges first where TF reports them).
    const long long r = (long long)indices[i / row];
    if (r >= 0 && r < num_rows) atomicAdd(out + r * row + i %% row, updates[i]);
  }""" % LOOP, {"T": (np.float32, np.float64), "I": (np.int32, np.int64)})


RAW_SOURCES = (SOFTMAX_XENT, SPARSE_XENT, MAX_POOL, MAX_POOL_GRAD, AVG_POOL, AVG_POOL_GRAD,
               SCATTER_ADD)
ELEMENTWISE_SOURCES = (ADAM_UPDATE,)


def all_sources():
    """Every fixed CUDA source (fused programs are generated: see fused_source)."""
    return RAW_SOURCES + ELEMENTWISE_SOURCES


# -- launching on a real GPU -------------------------------------------------------------------

_THREADS = 256


def raw_function(source, types):
    """The compiled cupy RawKernel function of `source` for `types`."""
    key = ("raw", source.name, tuple(sorted((k, np.dtype(v).str) for k, v in types.items())))
    return _cached(key, lambda: _cupy().RawModule(code=source.source(types)).get_function(
        source.name))


def launch(source, types, n, args):
    """Launches `source` over `n` elements with `args` (device arrays and numpy scalars)."""
    if n == 0:
        return
    blocks = int(min((n + _THREADS - 1) // _THREADS, 65535 * 8))
    raw_function(source, types)((blocks,), (_THREADS,), tuple(args))


def _pool_scalars(shape, g):
    b, h, w, c = shape
    return (np.int32(h), np.int32(w), np.int32(c), np.int32(g.out_h), np.int32(g.out_w),
            np.int32(g.kernel_h), np.int32(g.kernel_w), np.int32(g.stride_h),
            np.int32(g.stride_w), np.int32(g.pad_top), np.int32(g.pad_left))


def max_pool(xp, x, g):
    y = xp.empty((x.shape[0], g.out_h, g.out_w, x.shape[3]), dtype=x.dtype)
    launch(MAX_POOL, {"T": x.dtype}, y.size, (x, y, np.int64(y.size)) + _pool_scalars(x.shape, g))
    return y


def max_pool_grad(xp, x, grad, g):
    dx = xp.empty(x.shape, dtype=grad.dtype)
    launch(MAX_POOL_GRAD, {"T": grad.dtype}, dx.size,
           (x.astype(grad.dtype, copy=False), grad, dx, np.int64(dx.size)) +
           _pool_scalars(x.shape, g))
    return dx


def avg_pool(xp, x, g):
    y = xp.empty((x.shape[0], g.out_h, g.out_w, x.shape[3]), dtype=x.dtype)
    launch(AVG_POOL, {"T": x.dtype}, y.size, (x, y, np.int64(y.size)) + _pool_scalars(x.shape, g))
    return y


def avg_pool_grad(xp, grad, g, shape):
    dx = xp.empty(shape, dtype=grad.dtype)
    launch(AVG_POOL_GRAD, {"T": grad.dtype}, dx.size, (grad, dx, np.int64(dx.size)) +
           _pool_scalars(shape, g))
    return dx


def softmax_xent(xp, logits, labels):
    rows, cols = logits.shape
    loss = xp.empty((rows,), dtype=logits.dtype)
    backprop = xp.empty((rows, cols), dtype=logits.dtype)
    launch(SOFTMAX_XENT, {"T": logits.dtype}, rows,
           (xp.ascontiguousarray(logits), xp.ascontiguousarray(labels), loss, backprop,
            np.int64(rows), np.int64(cols)))
    return loss, backprop


def sparse_xent(xp, logits, labels):
    rows, cols = logits.shape
    loss = xp.empty((rows,), dtype=logits.dtype)
    backprop = xp.empty((rows, cols), dtype=logits.dtype)
    launch(SPARSE_XENT, {"T": logits.dtype, "I": labels.dtype}, rows,
           (xp.ascontiguousarray(logits), xp.ascontiguousarray(labels), loss, backprop,
            np.int64(rows), np.int64(cols)))
    return loss, backprop


def scatter_add_rows(out, indices, updates):
    """out[indices[k]] += updates[k] row by row (atomic: duplicates accumulate)."""
    row = int(np.prod(out.shape[1:], dtype=np.int64)) if out.ndim > 1 else 1
    launch(SCATTER_ADD, {"T": out.dtype, "I": indices.dtype}, updates.size,
           (updates, indices, out, np.int64(updates.size), np.int64(row),
            np.int64(out.shape[0])))
    return out


# -- cuDNN (CuPy <= 13 had `cupy.cudnn`; opt-in, never run: see README) ------------------------

def cudnn_available():
    """True if HPCFLOW_CUDNN=1 and CuPy has its cuDNN module."""
    if os.environ.get("HPCFLOW_CUDNN", "") not in ("1", "true", "yes"):
        return False
    return _cudnn() is not None


def _cudnn():
    try:
        from cupy import cudnn
        return cudnn
    except ImportError:
        try:
            from cupyx import cudnn
            return cudnn
        except ImportError:
            return None


def _nchw_padded(xp, x_nhwc, g):
    # cuDNN pads symmetrically; TF's SAME may pad one more at the bottom/right: pad that
    # extra row/column explicitly and give cuDNN the symmetric part.
    extra_h = g.pad_bottom - g.pad_top
    extra_w = g.pad_right - g.pad_left
    x = x_nhwc.transpose(0, 3, 1, 2)
    if extra_h > 0 or extra_w > 0:
        x = xp.pad(x, ((0, 0), (0, 0), (0, max(extra_h, 0)), (0, max(extra_w, 0))))
    return xp.ascontiguousarray(x), (g.pad_top, g.pad_left), (max(extra_h, 0), max(extra_w, 0))


def cudnn_conv2d_forward(x, w, g):
    import cupy
    cudnn = _cudnn()
    xn, pad, _ = _nchw_padded(cupy, x, g)
    wn = cupy.ascontiguousarray(w.transpose(3, 2, 0, 1))  # HWIO -> OIHW
    y = cupy.empty((x.shape[0], w.shape[3], g.out_h, g.out_w), dtype=x.dtype)
    cudnn.convolution_forward(xn, wn, None, y, pad, (g.stride_h, g.stride_w),
                              (g.dilation_h, g.dilation_w), 1, auto_tune=False,
                              tensor_core="auto")
    return cupy.ascontiguousarray(y.transpose(0, 2, 3, 1))


def cudnn_conv2d_backward_data(dy, w, g, input_shape):
    import cupy
    cudnn = _cudnn()
    n, h, width, c = input_shape
    extra_h = max(g.pad_bottom - g.pad_top, 0)
    extra_w = max(g.pad_right - g.pad_left, 0)
    wn = cupy.ascontiguousarray(w.transpose(3, 2, 0, 1))
    dyn = cupy.ascontiguousarray(dy.transpose(0, 3, 1, 2))
    dx = cupy.empty((n, c, h + extra_h, width + extra_w), dtype=dy.dtype)
    cudnn.convolution_backward_data(wn, dyn, None, dx, (g.pad_top, g.pad_left),
                                    (g.stride_h, g.stride_w), (g.dilation_h, g.dilation_w), 1,
                                    deterministic=False, auto_tune=False, tensor_core="auto")
    return cupy.ascontiguousarray(dx[:, :, :h, :width].transpose(0, 2, 3, 1))


def cudnn_conv2d_backward_filter(x, dy, g, filter_shape):
    import cupy
    cudnn = _cudnn()
    kh, kw, c, o = filter_shape
    xn, pad, _ = _nchw_padded(cupy, x, g)
    dyn = cupy.ascontiguousarray(dy.transpose(0, 3, 1, 2))
    dw = cupy.empty((o, c, kh, kw), dtype=x.dtype)
    cudnn.convolution_backward_filter(xn, dyn, dw, pad, (g.stride_h, g.stride_w),
                                      (g.dilation_h, g.dilation_w), 1, deterministic=False,
                                      auto_tune=False, tensor_core="auto")
    return cupy.ascontiguousarray(dw.transpose(2, 3, 1, 0))
