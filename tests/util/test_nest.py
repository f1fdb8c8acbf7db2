"""Tests of hpcflow.util.nest against TF's tf.nest semantics."""
import collections

import pytest

from hpcflow.util import nest

Point = collections.namedtuple("Point", ["x", "y"])


def test_is_sequence():
    assert nest.is_sequence([1])
    assert nest.is_sequence((1, 2))
    assert nest.is_sequence(Point(1, 2))
    assert nest.is_sequence({"a": 1})
    assert nest.is_sequence(collections.OrderedDict(a=1))
    assert not nest.is_sequence("abc")
    assert not nest.is_sequence(b"abc")
    assert not nest.is_sequence(None)
    assert not nest.is_sequence(3)
    assert nest.is_nested is nest.is_sequence


def test_flatten_orders_dicts_by_key_and_keeps_atoms():
    structure = {"b": [1, (2, 3)], "a": Point(4, {"z": 5, "y": None}), "c": "str"}
    assert nest.flatten(structure) == [4, None, 5, 1, 2, 3, "str"]
    assert nest.flatten(7) == [7]
    assert nest.flatten(None) == [None]
    assert nest.flatten([]) == []
    assert nest.flatten([[], {}, ()]) == []


def test_flatten_unsortable_keys():
    with pytest.raises(TypeError, match="sortable keys"):
        nest.flatten({1: "a", "b": 2})


def test_pack_sequence_as_round_trip_preserves_types_and_key_order():
    structure = collections.OrderedDict([("z", [1, 2]), ("a", Point(3, (4,)))])
    flat = nest.flatten(structure)
    assert flat == [3, 4, 1, 2]
    packed = nest.pack_sequence_as(structure, [x * 10 for x in flat])
    assert isinstance(packed, collections.OrderedDict)
    assert list(packed.keys()) == ["z", "a"]
    assert packed["z"] == [10, 20]
    assert isinstance(packed["a"], Point) and packed["a"] == Point(30, (40,))
    assert nest.pack_sequence_as(5, ["only"]) == "only"
    dd = collections.defaultdict(list, {"k": 1})
    packed_dd = nest.pack_sequence_as(dd, [2])
    assert isinstance(packed_dd, collections.defaultdict) and packed_dd["k"] == 2
    assert packed_dd.default_factory is list


def test_pack_sequence_as_errors():
    with pytest.raises(ValueError, match="Structure had 2 atoms, but flat_sequence had 3"):
        nest.pack_sequence_as([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="Structure is a scalar"):
        nest.pack_sequence_as(1, [1, 2])
    with pytest.raises(TypeError, match="Attempted to pack value"):
        nest.pack_sequence_as([1], 5)


def test_assert_same_structure():
    nest.assert_same_structure([1, (2, {"a": 3})], ["x", ("y", {"a": None})])
    with pytest.raises(ValueError, match="don't have the same nested structure"):
        nest.assert_same_structure([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="is a sequence, while substructure"):
        nest.assert_same_structure([1, [2]], [1, 2])
    with pytest.raises(TypeError, match="same sequence type"):
        nest.assert_same_structure([1, 2], (1, 2))
    nest.assert_same_structure([1, 2], (1, 2), check_types=False)
    with pytest.raises(ValueError, match="same set of keys"):
        nest.assert_same_structure({"a": 1}, {"b": 1})
    # Two Mapping types with the same keys match, as in TF.
    nest.assert_same_structure({"a": 1}, collections.OrderedDict(a=2))


def test_assert_same_structure_namedtuples():
    Point2 = collections.namedtuple("Point", ["x", "y"])
    nest.assert_same_structure(Point(1, 2), Point2(1, 2))  # same name and fields
    Renamed = collections.namedtuple("Renamed", ["x", "y"])
    with pytest.raises(TypeError, match="same sequence type"):
        nest.assert_same_structure(Point(1, 2), Renamed(1, 2))


def test_map_structure():
    result = nest.map_structure(lambda a, b: a + b, {"a": [1, 2], "b": (3,)},
                                {"a": [10, 20], "b": (30,)})
    assert result == {"a": [11, 22], "b": (33,)}
    assert nest.map_structure(lambda v: v * 2, 4) == 8
    assert nest.map_structure(lambda v: v, Point(1, [2])) == Point(1, [2])
    with pytest.raises(ValueError, match="same nested structure"):
        nest.map_structure(lambda a, b: a, [1], [1, 2])
    with pytest.raises(TypeError, match="callable"):
        nest.map_structure(3, [1])
    with pytest.raises(ValueError, match="at least one structure"):
        nest.map_structure(lambda: 1)
    with pytest.raises(ValueError, match="check_types"):
        nest.map_structure(lambda a: a, [1], bad=True)
    assert nest.map_structure(lambda a, b: (a, b), [1], (2,), check_types=False) == [(1, 2)]


def test_flatten_up_to():
    assert nest.flatten_up_to([0, 0], [[1, 2], (3,)]) == [[1, 2], (3,)]
    assert nest.flatten_up_to({"b": 0, "a": [0, 0]}, {"a": [1, 2], "b": [3]}) == [1, 2, [3]]
    with pytest.raises(TypeError, match="input must also be a sequence"):
        nest.flatten_up_to([0], 3)
    with pytest.raises(ValueError, match="same sequence length"):
        nest.flatten_up_to([0, 0], [1])
