"""The checkpoint format's naming rules and checksum."""
import numpy as np
import pytest

from hpcflow.checkpoint import format as ckpt_format


def test_dataset_paths_use_the_variable_names():
    paths = ckpt_format.dataset_paths(["layer1/weights", "layer1/biases", "global_step"])
    assert paths == {"layer1/weights": "layer1/weights", "layer1/biases": "layer1/biases",
                     "global_step": "global_step"}


def test_a_name_that_is_also_a_group_gets_the_tensor_suffix():
    # w's Adam slots live under w/, so w itself cannot be a dataset named w.
    paths = ckpt_format.dataset_paths(["w", "w/Adam", "w/Adam_1", "wide"])
    assert paths == {"w": "w:0", "w/Adam": "w/Adam", "w/Adam_1": "w/Adam_1", "wide": "wide"}


@pytest.mark.parametrize("bad", ["", "a//b", "/a", "a/"])
def test_empty_path_components_are_refused(bad):
    with pytest.raises(ValueError, match="empty path component"):
        ckpt_format.dataset_paths([bad])


def test_shard_names_and_glob():
    name = ckpt_format.shard_filename("/d/model.ckpt-7", 1, 3, "abc")
    assert name == "/d/model.ckpt-7.data-00001-of-00003.abc"
    import fnmatch
    assert fnmatch.fnmatch(name, ckpt_format.shard_glob("/d/model.ckpt-7"))
    assert not fnmatch.fnmatch("/d/model.ckpt-70.data-00001-of-00003.abc",
                               ckpt_format.shard_glob("/d/model.ckpt-7"))


def test_checksum_is_two_uint64_words_and_deterministic():
    value = np.random.RandomState(0).randn(1000, 37).astype(np.float32)
    first = ckpt_format.checksum(value)
    assert first.dtype == np.uint64 and first.shape == (2,)
    np.testing.assert_array_equal(first, ckpt_format.checksum(value.copy()))
    # A non-contiguous view checksums its values, not its memory.
    np.testing.assert_array_equal(ckpt_format.checksum(value[:, ::2]),
                                  ckpt_format.checksum(np.ascontiguousarray(value[:, ::2])))


def test_checksum_finds_one_flipped_bit_anywhere():
    value = np.random.RandomState(1).randn(9001).astype(np.float64)  # not a multiple of blocks
    reference = ckpt_format.checksum(value)
    raw = value.view(np.uint8)
    for position in (0, 7, 8, raw.size // 2, raw.size - 1):
        damaged = raw.copy()
        damaged[position] ^= 0x10
        assert not np.array_equal(ckpt_format.checksum(damaged.view(np.float64)), reference)


def test_checksum_finds_swapped_and_zeroed_blocks():
    value = np.random.RandomState(2).randint(0, 2**31, size=4096 * 4, dtype=np.int64)
    reference = ckpt_format.checksum(value)
    swapped = value.reshape(4, 4096)[[1, 0, 2, 3]].reshape(-1)
    assert not np.array_equal(ckpt_format.checksum(swapped), reference)
    zeroed = value.copy()
    zeroed[4096:8192] = 0
    assert not np.array_equal(ckpt_format.checksum(zeroed), reference)


def test_checksum_depends_on_size_and_string_items():
    assert not np.array_equal(ckpt_format.checksum(np.zeros(1, np.int8)),
                              ckpt_format.checksum(np.zeros(2, np.int8)))
    a = np.array([b"ab", b"c"], dtype=object)
    b = np.array([b"a", b"bc"], dtype=object)
    assert not np.array_equal(ckpt_format.checksum(a), ckpt_format.checksum(b))
    assert ckpt_format.checksum(np.float32(3.0)).shape == (2,)


def test_big_endian_values_checksum_like_little_endian():
    value = np.arange(10, dtype=">i4")
    np.testing.assert_array_equal(ckpt_format.checksum(value),
                                  ckpt_format.checksum(value.astype("<i4")))


def test_strings_with_nul_bytes_are_refused():
    with pytest.raises(ValueError, match="NUL"):
        ckpt_format.storable(np.array([b"a\0b"], dtype=object))
