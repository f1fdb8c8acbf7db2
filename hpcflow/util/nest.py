"""Nested structures of lists, tuples, namedtuples and dicts, as TensorFlow's `tf.nest`.

The control-flow ops (`cond`, `while_loop`) and the session's fetch handling accept any
nesting of these containers. A structure is flattened depth first; dicts (any Mapping)
are visited in sorted key order so that two dicts with the same keys flatten alike
whatever their insertion order, and are rebuilt with the original key order. Strings,
None, Tensors and every other object are atoms (leaves).
"""
import collections.abc

__all__ = ["is_sequence", "is_nested", "flatten", "pack_sequence_as", "map_structure",
           "assert_same_structure", "flatten_up_to"]


def _is_namedtuple(instance):
    return isinstance(instance, tuple) and hasattr(instance, "_fields") and \
        isinstance(getattr(instance, "_fields"), collections.abc.Sequence)


def is_sequence(seq):
    """True if `seq` is a list, tuple, namedtuple or dict (a Mapping), i.e. not an atom."""
    if isinstance(seq, (str, bytes)):
        return False
    return isinstance(seq, (list, tuple, collections.abc.Mapping))


is_nested = is_sequence


def _sorted_keys(mapping):
    try:
        return sorted(mapping)
    except TypeError:
        raise TypeError("nest only supports dicts with sortable keys, got keys %r."
                        % (list(mapping),)) from None


def _children(seq):
    """The direct children of a sequence, in flattening order."""
    if isinstance(seq, collections.abc.Mapping):
        return [seq[k] for k in _sorted_keys(seq)]
    return list(seq)


def _sequence_like(instance, args):
    """A container of the same kind as `instance` holding `args` (in flattening order)."""
    if isinstance(instance, collections.abc.Mapping):
        by_key = dict(zip(_sorted_keys(instance), args))
        items = [(key, by_key[key]) for key in instance]
        if isinstance(instance, collections.defaultdict):
            return type(instance)(instance.default_factory, items)
        try:
            return type(instance)(items)
        except TypeError:  # a Mapping type that cannot be built from items
            return dict(items)
    if _is_namedtuple(instance):
        return type(instance)(*args)
    if isinstance(instance, tuple):
        return tuple(args) if type(instance) is tuple else type(instance)(args)
    return list(args) if type(instance) is list else type(instance)(args)


def _flatten_into(structure, out):
    if is_sequence(structure):
        for child in _children(structure):
            _flatten_into(child, out)
    else:
        out.append(structure)


def flatten(structure, expand_composites=False):
    """The atoms of `structure` as a flat list (an atom gives a one-element list).

    Args:
      structure: an atom or a nesting of lists, tuples, namedtuples and dicts.
      expand_composites: accepted for TF compatibility; hpcflow has no composite tensors
        that are expanded here.

    Returns:
      A Python list of the atoms in depth-first order, dicts by sorted key.

    Raises:
      TypeError: if a dict has keys that cannot be sorted.
    """
    del expand_composites
    out = []
    _flatten_into(structure, out)
    return out


def _packed(structure, flat, index):
    """Rebuilds `structure` from `flat[index:]`; returns (next index, packed value)."""
    packed = []
    for child in _children(structure):
        if is_sequence(child):
            index, value = _packed(child, flat, index)
            packed.append(_sequence_like(child, value))
        else:
            packed.append(flat[index])
            index += 1
    return index, packed


def pack_sequence_as(structure, flat_sequence, expand_composites=False):
    """Returns `flat_sequence` arranged as `structure` (the inverse of `flatten`).

    Args:
      structure: the nested structure to imitate.
      flat_sequence: a flat list or tuple with as many atoms as `structure` has.
      expand_composites: accepted for TF compatibility.

    Returns:
      A structure of the same containers as `structure` holding `flat_sequence`'s items
      (the single item itself when `structure` is an atom).

    Raises:
      TypeError: if `flat_sequence` is not a list or tuple.
      ValueError: if the number of atoms differs.
    """
    del expand_composites
    if not is_sequence(flat_sequence) or isinstance(flat_sequence, collections.abc.Mapping):
        raise TypeError("Attempted to pack value:\n  %r\ninto a structure, but found "
                        "incompatible type `%s` instead." % (flat_sequence,
                                                             type(flat_sequence).__name__))
    flat_sequence = list(flat_sequence)
    if not is_sequence(structure):
        if len(flat_sequence) != 1:
            raise ValueError("Structure is a scalar but len(flat_sequence) == %d > 1"
                             % len(flat_sequence))
        return flat_sequence[0]
    count = len(flatten(structure))
    if count != len(flat_sequence):
        raise ValueError("Could not pack sequence. Structure had %d atoms, but flat_sequence "
                         "had %d items.  Structure: %s, flat_sequence: %s."
                         % (count, len(flat_sequence), structure, flat_sequence))
    _, packed = _packed(structure, flat_sequence, 0)
    return _sequence_like(structure, packed)


def _same_namedtuples(a, b):
    return _is_namedtuple(a) and _is_namedtuple(b) and \
        type(a).__name__ == type(b).__name__ and tuple(a._fields) == tuple(b._fields)


def _check_same(nest1, nest2, check_types):
    """Raises ValueError/TypeError describing the first difference, else returns None."""
    seq1, seq2 = is_sequence(nest1), is_sequence(nest2)
    if seq1 != seq2:
        raise ValueError("Substructure %r is a sequence, while substructure %r is not"
                         % ((nest1, nest2) if seq1 else (nest2, nest1)))
    if not seq1:
        return
    if check_types:
        type1, type2 = type(nest1), type(nest2)
        if type1 is not type2 and not _same_namedtuples(nest1, nest2):
            both_mappings = isinstance(nest1, collections.abc.Mapping) and \
                isinstance(nest2, collections.abc.Mapping)
            if not both_mappings:
                raise TypeError("The two structures don't have the same sequence type. Input "
                                "structure has type %s, while shallow structure has type %s."
                                % (type1, type2))
    if isinstance(nest1, collections.abc.Mapping) and isinstance(nest2, collections.abc.Mapping):
        if set(nest1) != set(nest2):
            raise ValueError("The two dictionaries don't have the same set of keys. First "
                             "structure has keys %s, while second structure has keys %s."
                             % (list(nest1), list(nest2)))
    children1, children2 = _children(nest1), _children(nest2)
    if len(children1) != len(children2):
        raise ValueError("The two structures don't have the same number of elements. First "
                         "structure: %s. Second structure: %s" % (nest1, nest2))
    for a, b in zip(children1, children2):
        _check_same(a, b, check_types)


def assert_same_structure(nest1, nest2, check_types=True, expand_composites=False):
    """Asserts that two structures nest the same way (atoms may differ).

    Args:
      nest1, nest2: the structures to compare.
      check_types: if True (the default), containers at the same place must have the same
        type (a list is not a tuple; namedtuples match by name and fields; any two Mappings
        with the same keys match).
      expand_composites: accepted for TF compatibility.

    Raises:
      ValueError: if the structures differ in nesting, length or dict keys.
      TypeError: if `check_types` and two containers at the same place differ in type.
    """
    del expand_composites
    try:
        _check_same(nest1, nest2, check_types)
    except ValueError as e:
        raise ValueError("The two structures don't have the same nested structure.\n\n"
                         "First structure: %s\n\nSecond structure: %s\n\nMore specifically: %s"
                         % (nest1, nest2, e)) from None


def map_structure(func, *structure, **kwargs):
    """Applies `func` to the atoms at each position of the `structure`s; returns the result.

    Args:
      func: a callable taking one argument per structure.
      *structure: one or more structures of the same nesting.
      **kwargs: `check_types` (default True) and `expand_composites`, as TF.

    Returns:
      A structure like `structure[0]` holding `func(*atoms)` at every position.

    Raises:
      TypeError: if `func` is not callable, or from `assert_same_structure`.
      ValueError: if no structure is given, or the structures differ.
    """
    if not callable(func):
        raise TypeError("func must be callable, got: %s" % (func,))
    if not structure:
        raise ValueError("Must provide at least one structure")
    check_types = kwargs.pop("check_types", True)
    kwargs.pop("expand_composites", None)
    if kwargs:
        raise ValueError("Only valid keyword arguments are `check_types` and "
                         "`expand_composites`, not: `%s`" % "`, `".join(kwargs))
    for other in structure[1:]:
        assert_same_structure(structure[0], other, check_types=check_types)
    flat = [flatten(s) for s in structure]
    return pack_sequence_as(structure[0], [func(*atoms) for atoms in zip(*flat)])


def flatten_up_to(shallow_tree, input_tree, check_types=True):
    """Flattens `input_tree` only as deep as `shallow_tree` nests (deeper parts stay whole).

    Raises:
      TypeError / ValueError: if `input_tree` does not contain `shallow_tree`'s nesting.
    """
    if not is_sequence(shallow_tree):
        return [input_tree]
    if not is_sequence(input_tree):
        raise TypeError("If shallow structure is a sequence, input must also be a sequence. "
                        "Input has type: %s." % type(input_tree).__name__)
    if check_types and not isinstance(input_tree, collections.abc.Mapping) and \
            type(shallow_tree) is not type(input_tree) and \
            not _same_namedtuples(shallow_tree, input_tree):
        raise TypeError("The two structures don't have the same sequence type. Input "
                        "structure has type %s, while shallow structure has type %s."
                        % (type(input_tree), type(shallow_tree)))
    if isinstance(shallow_tree, collections.abc.Mapping):
        if not isinstance(input_tree, collections.abc.Mapping) or \
                set(shallow_tree) - set(input_tree):
            raise ValueError("The input_tree does not have the keys of the shallow_tree: "
                             "%s vs %s" % (list(shallow_tree), list(input_tree)))
        pairs = [(shallow_tree[k], input_tree[k]) for k in _sorted_keys(shallow_tree)]
    else:
        if len(shallow_tree) != len(input_tree):
            raise ValueError("The two structures don't have the same sequence length. Input "
                             "structure has length %d, while shallow structure has length %d."
                             % (len(input_tree), len(shallow_tree)))
        pairs = list(zip(shallow_tree, input_tree))
    out = []
    for shallow, value in pairs:
        out.extend(flatten_up_to(shallow, value, check_types))
    return out
