"""Turning arrays into the pieces of a TensorBoard `Summary`: histograms, PNG images, text.

Pure numpy + zlib, as TF1's kernels compute them: the histogram uses TF's default buckets
(limits growing by 10% from 1e-12 to 1e20, both signs) with runs of empty buckets collapsed,
and float images are rescaled per image exactly as TF's `ImageSummary` kernel does.
"""
import struct
import zlib

import numpy as np

_DBL_MAX = float(np.finfo(np.float64).max)


def _default_bucket_limits():
    # TF's Histogram::InitDefaultBuckets: the same float64 products, in the same order.
    positive, negative = [], []
    v = 1.0e-12
    while v < 1.0e20:
        positive.append(v)
        negative.append(-v)
        v *= 1.1
    positive.append(_DBL_MAX)
    negative.append(-_DBL_MAX)
    return np.array(negative[::-1] + [0.0] + positive, dtype=np.float64)


DEFAULT_BUCKET_LIMITS = _default_bucket_limits()


def histogram(values):
    """TF1's histogram of `values` (any shape, finite): a dict of HistogramProto fields.

    Returns:
      {"min", "max", "num", "sum", "sum_squares", "bucket_limit", "bucket"}, where bucket i
      counts the values in [bucket_limit[i-1], bucket_limit[i]) and runs of empty buckets
      are merged into their last limit (TF's `EncodeToProto(preserve_zero_buckets=false)`).
    """
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    limits = DEFAULT_BUCKET_LIMITS
    counts = np.bincount(np.searchsorted(limits, flat, side="right"),
                         minlength=len(limits))[:len(limits)].astype(np.float64)
    out_limits, out_counts = [], []
    i = 0
    while i < len(limits):
        end, count = limits[i], counts[i]
        i += 1
        if count <= 0.0:
            while i < len(limits) and counts[i] <= 0.0:
                end, count = limits[i], counts[i]
                i += 1
        out_limits.append(float(end))
        out_counts.append(float(count))
    if flat.size:
        low, high = float(flat.min()), float(flat.max())
    else:  # TF's empty histogram: min = DBL_MAX, max = -DBL_MAX
        low, high = _DBL_MAX, -_DBL_MAX
    return {"min": low, "max": high, "num": float(flat.size), "sum": float(flat.sum()),
            "sum_squares": float(np.dot(flat, flat)), "bucket_limit": out_limits,
            "bucket": out_counts}


_BAD_COLOR = np.array([255, 0, 0, 255], dtype=np.uint8)


def image_to_uint8(image):
    """One [height, width, channels] image as uint8, rescaled as TF1's ImageSummary does.

    uint8 images pass unchanged. Float images: if any finite value is negative, scale so the
    largest magnitude maps to 127 around 128; else scale so the maximum maps to 255; the
    result is truncated to uint8. Pixels with a non-finite channel become red.
    """
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    compute = np.float64 if image.dtype == np.float64 else np.float32
    values = image.astype(compute)
    finite = np.all(np.isfinite(values), axis=-1)
    good = values[finite]
    low = float(good.min()) if good.size else np.inf
    high = float(good.max()) if good.size else -np.inf
    threshold = 1e-6
    if low < 0:
        largest = max(abs(low), abs(high))
        scale, offset = (0.0 if largest < threshold else 127.0 / largest), 128.0
    else:
        scale, offset = (0.0 if high < threshold else 255.0 / high), 0.0
    scaled = values * compute(scale) + compute(offset)
    out = np.where(finite[..., None], scaled, 0).astype(np.uint8)
    out[~finite] = _BAD_COLOR[:image.shape[-1]]
    return out


def _png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


_PNG_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> grey, grey+alpha, RGB, RGBA


def encode_png(image):
    """PNG bytes of a uint8 [height, width, channels] image (channels 1, 2, 3 or 4).

    Raises:
      ValueError: for another shape or dtype.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] not in _PNG_COLOR_TYPE:
        raise ValueError("encode_png needs a uint8 [height, width, 1|2|3|4] image, got %s %s"
                         % (image.dtype, list(image.shape)))
    height, width, channels = image.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8),  # filter type 0 on every row
                           np.ascontiguousarray(image).reshape(height, width * channels)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOR_TYPE[channels], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) +
            _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _png_chunk(b"IEND", b""))
