"""Summary ops: tags, values and errors as TF1 gives them (expected values read off TF 2.21's
compat.v1 with /work/shared/tools/tf1_compare.py)."""
import io

import numpy as np
import pytest

import hpcflow as tf
from hpcflow import summary
from hpcflow.framework import errors
from hpcflow.summary import encoding

Summary = summary.Summary


def _run(tensor, feed=None):
    with tf.Session() as sess:
        return Summary.FromString(sess.run(tensor, feed))


def test_scalar_tags_follow_name_scope_family_and_uniquification():
    x = tf.constant(3.5)
    with tf.name_scope("outer"):
        s1 = summary.scalar("loss", x)
        s2 = summary.scalar("acc", x, family="fam")
        s3 = summary.scalar("loss", x)
    assert [t.name for t in (s1, s2, s3)] == ["outer/loss:0", "outer/fam/acc:0", "outer/loss_1:0"]
    assert s1.dtype == tf.string and s1.shape.as_list() == []
    assert [_run(s).value[0].tag for s in (s1, s2, s3)] == [
        "outer/loss", "fam/outer/fam/acc", "outer/loss_1"]
    assert _run(s1).value[0].simple_value == 3.5
    assert tf.get_collection(tf.GraphKeys.SUMMARIES) == [s1, s2, s3]


def test_scalar_of_fed_int_and_custom_collections():
    x = tf.placeholder(tf.int32, [])
    s = summary.scalar("count", x, collections=["mine"])
    assert tf.get_collection("mine") == [s] and not tf.get_collection(tf.GraphKeys.SUMMARIES)
    assert _run(s, {x: 7}).value[0].simple_value == 7.0


def test_tag_characters_are_cleaned():
    s = summary.scalar("a b:c", tf.constant(1.0))
    assert _run(s).value[0].tag == "a_b_c"


def test_scalar_rejects_a_vector_and_strings():
    with pytest.raises(ValueError, match="scalar.*ScalarSummary|ScalarSummary.*scalar"):
        summary.scalar("v", tf.constant([1.0, 2.0]))
    with pytest.raises(TypeError, match="real number"):
        summary.scalar("s", tf.constant("text"))
    x = tf.placeholder(tf.float32)  # unknown rank: checked when it runs
    s = summary.scalar("late", x)
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match="late"):
            sess.run(s, {x: [1.0, 2.0]})


def test_histogram_matches_tensorflow_buckets():
    h = summary.histogram("weights", tf.constant([1.0, 2.0, 2.0, 3.0, 10.0, -1.0]))
    histo = _run(h).value[0].histo
    assert _run(h).value[0].tag == "weights"
    assert (histo.min, histo.max, histo.num, histo.sum, histo.sum_squares) == (-1, 10, 6, 17, 119)
    np.testing.assert_array_equal(histo.bucket_limit, [
        -1.0089710279437536, -0.917246389039776, 0.917246389039776, 1.0089710279437536,
        1.9661990955585713, 2.1628190051144287, 2.8787120958073054, 3.1665833053880363,
        9.9380949028808026, 10.931904393168884, 1.7976931348623157e+308])
    np.testing.assert_array_equal(histo.bucket, [0, 1, 0, 1, 0, 2, 0, 1, 0, 1, 0])


def test_histogram_counts_every_value_once():
    values = np.random.RandomState(0).standard_normal(1000) * 5
    result = encoding.histogram(values)
    assert sum(result["bucket"]) == 1000
    limits = np.array(result["bucket_limit"])
    assert np.all(np.diff(limits) > 0)


def test_histogram_of_nan_fails_naming_the_op():
    x = tf.placeholder(tf.float32, [None])
    h = summary.histogram("acts", x)
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match="Nan in summary histogram for: acts"):
            sess.run(h, {x: [1.0, np.nan]})
    with pytest.raises(TypeError, match="real numbers"):
        summary.histogram("s", tf.constant(["a"]))


def _pixels(value):
    from PIL import Image
    return np.array(Image.open(io.BytesIO(value.image.encoded_image_string))).ravel().tolist()


def test_image_rescaling_matches_tensorflow():
    x = np.linspace(-1, 1, 24).reshape(2, 4, 3, 1).astype(np.float32)
    x[0, 0, 0, 0] = 0.3
    y = np.linspace(0, 0.9, 12).reshape(1, 4, 3, 1).astype(np.float32)
    z = np.linspace(0, 0.9, 12).reshape(1, 2, 2, 3).astype(np.float32)
    z[0, 0, 0, 0] = np.nan
    e = np.linspace(-3, 0, 12).reshape(1, 4, 3, 1)
    a = _run(summary.image("a", tf.constant(x), max_outputs=1)).value
    assert [v.tag for v in a] == ["a/image"]
    assert (a[0].image.height, a[0].image.width, a[0].image.colorspace) == (4, 3, 1)
    assert _pixels(a[0]) == [169, 1, 13, 25, 37, 49, 61, 73, 85, 97, 109, 121]
    b = _run(summary.image("b", tf.constant(y))).value
    assert [v.tag for v in b] == ["b/image/0"]
    assert _pixels(b[0]) == [0, 23, 46, 69, 92, 115, 139, 162, 185, 208, 231, 255]
    d = _run(summary.image("d", tf.constant(z))).value
    assert d[0].image.colorspace == 3
    assert _pixels(d[0]) == [255, 0, 0, 69, 92, 115, 139, 162, 185, 208, 231, 255]
    f = _run(summary.image("e", tf.constant(e))).value
    assert _pixels(f[0]) == [1, 12, 24, 35, 47, 58, 70, 81, 93, 104, 116, 128]
    zero = _run(summary.image("c", tf.zeros([1, 2, 2, 3]))).value
    assert _pixels(zero[0]) == [0] * 12


def test_image_keeps_uint8_and_at_most_max_outputs():
    images = np.arange(5 * 2 * 2 * 4).reshape(5, 2, 2, 4).astype(np.uint8)
    values = _run(summary.image("u", tf.constant(images), max_outputs=3)).value
    assert [v.tag for v in values] == ["u/image/0", "u/image/1", "u/image/2"]
    assert _pixels(values[2]) == images[2].ravel().tolist()
    assert values[0].image.colorspace == 4


def test_image_rejects_bad_shapes_and_dtypes():
    with pytest.raises(ValueError, match="4-D"):
        summary.image("i", tf.zeros([2, 2, 3]))
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        summary.image("i", tf.zeros([1, 2, 2, 2]))
    with pytest.raises(TypeError, match="int32"):
        summary.image("i", tf.zeros([1, 2, 2, 1], tf.int32))
    with pytest.raises(ValueError, match="max_outputs"):
        summary.image("i", tf.zeros([1, 2, 2, 1]), max_outputs=0)
    x = tf.placeholder(tf.float32)
    s = summary.image("late", x)
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match="4-D"):
            sess.run(s, {x: np.zeros((2, 2, 2))})


def test_text_summary_is_a_string_tensor_for_the_text_plugin():
    value = _run(summary.text("notes", tf.constant("hello *markdown*"))).value[0]
    assert value.tag == "notes"
    assert value.metadata.plugin_data.plugin_name == "text"
    assert list(value.tensor.string_val) == [b"hello *markdown*"]
    table = _run(summary.text("table", tf.constant([["a", "b"], ["c", "d"]]))).value[0]
    assert [d.size for d in table.tensor.tensor_shape.dim] == [2, 2]
    with pytest.raises(TypeError, match="string"):
        summary.text("t", tf.constant(1.0))


def test_merge_and_merge_all():
    assert summary.merge_all() is None
    s1 = summary.scalar("a", tf.constant(1.0))
    s2 = summary.histogram("h", tf.constant([1.0]))
    merged = summary.merge([s1, s2])
    everything = summary.merge_all()
    assert merged.name == "Merge/MergeSummary:0" and everything.name == "Merge_1/MergeSummary:0"
    assert [v.tag for v in _run(merged).value] == ["a", "h"]
    assert [v.tag for v in _run(everything).value] == ["a", "h"]
    with pytest.raises(ValueError, match="at least one"):
        summary.merge([])


def test_merge_of_duplicate_tags_fails_naming_the_tag():
    s1 = summary.scalar("a", tf.constant(1.0), collections=[])
    merged = summary.merge([s1, s1])
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match="Duplicate tag a"):
            sess.run(merged)
    with pytest.raises(TypeError, match="serialized summaries"):
        summary.merge([tf.constant(1.0)])


def test_png_encoder_round_trips_every_channel_count():
    from PIL import Image
    rng = np.random.RandomState(1)
    for channels in (1, 2, 3, 4):
        image = rng.randint(0, 256, (5, 7, channels)).astype(np.uint8)
        decoded = np.array(Image.open(io.BytesIO(encoding.encode_png(image))))
        np.testing.assert_array_equal(decoded.reshape(image.shape), image)
    with pytest.raises(ValueError, match="uint8"):
        encoding.encode_png(np.zeros((2, 2, 3), np.float32))
