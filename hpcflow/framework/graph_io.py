"""Graph serialization: a safe, versioned byte format (`as_graph_def` / `import_graph_def`).

The distributed runtime broadcasts graphs in this format, so it must never execute code
when read: no pickle. Layout of a serialized GraphDef:

    b"HPCFGRPH"  uint32 format version  uint64 header length  header (UTF-8 JSON)  blobs

The JSON header lists nodes (name, op, inputs as "op:i" / "^op", device, attrs, output
specs) and, for arrays, (dtype, shape, offset, length) into the blob section that follows.
Function sub-graphs (cond branches, loop bodies) are nested GraphDefs inside attrs.
"""
import base64
import json
import struct

import numpy as np

from . import dtypes, registry
from .graph import Graph, get_default_graph
from .tensor_shape import TensorShape

MAGIC = b"HPCFGRPH"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sIQ")


class GraphDefError(ValueError):
    """A serialized graph that is malformed, truncated, of a future version or inconsistent."""


class GraphDef:
    """The serializable description of a graph: a list of node dicts (TF's GraphDef analogue).

    Each node: {"name", "op", "input": ["x:0", "^ctrl"], "device", "attr": {...},
    "outputs": [[dtype name, dims or None], ...]}.
    """

    def __init__(self, node=None, versions=None, graph_attrs=None):
        self.node = list(node or [])
        self.versions = dict(versions or {"producer": FORMAT_VERSION})
        self.graph_attrs = dict(graph_attrs or {})

    def SerializeToString(self):  # noqa: N802 - TF's name
        blobs = []
        header = {"versions": self.versions, "graph_attrs": _encode(self.graph_attrs, blobs),
                  "node": [_encode_node(n, blobs) for n in self.node]}
        body = json.dumps(header, separators=(",", ":"), allow_nan=True).encode("utf-8")
        return _PREFIX.pack(MAGIC, FORMAT_VERSION, len(body)) + body + b"".join(blobs)

    @classmethod
    def FromString(cls, data):  # noqa: N802 - TF's name
        graph_def = cls()
        graph_def.ParseFromString(data)
        return graph_def

    def ParseFromString(self, data):  # noqa: N802 - TF's name
        """Parses bytes written by SerializeToString.

        Raises:
          GraphDefError: naming what is wrong (bad magic, version, truncation, bad JSON).
        """
        data = bytes(data)
        if len(data) < _PREFIX.size:
            raise GraphDefError("Serialized graph is truncated: %d bytes, the header alone needs "
                                "%d" % (len(data), _PREFIX.size))
        magic, version, header_length = _PREFIX.unpack_from(data)
        if magic != MAGIC:
            raise GraphDefError("Not an hpcflow serialized graph (bad magic %r)" % magic)
        if version > FORMAT_VERSION:
            raise GraphDefError("Serialized graph has format version %d; this hpcflow reads up "
                                "to %d" % (version, FORMAT_VERSION))
        end = _PREFIX.size + header_length
        if end > len(data):
            raise GraphDefError("Serialized graph is truncated: header needs %d bytes, %d present"
                                % (header_length, len(data) - _PREFIX.size))
        try:
            header = json.loads(data[_PREFIX.size:end].decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise GraphDefError("Serialized graph header is not valid JSON: %s" % e) from None
        blobs = memoryview(data)[end:]
        try:
            self.versions = header["versions"]
            self.graph_attrs = _decode(header.get("graph_attrs", {}), blobs)
            self.node = [_decode_node(n, blobs) for n in header["node"]]
        except (KeyError, TypeError, IndexError) as e:
            raise GraphDefError("Serialized graph header is malformed: %s: %s"
                                % (type(e).__name__, e)) from None
        return len(data)

    def __len__(self):
        return len(self.node)

    def __eq__(self, other):
        return isinstance(other, GraphDef) and self.SerializeToString() == other.SerializeToString()

    def __repr__(self):
        return "<GraphDef with %d nodes>" % len(self.node)


def _encode_node(node, blobs):
    return {"name": node["name"], "op": node["op"], "input": list(node["input"]),
            "device": node.get("device", ""), "attr": _encode(node.get("attr", {}), blobs),
            "outputs": node.get("outputs")}


def _decode_node(node, blobs):
    for key, kind in (("name", str), ("op", str), ("input", list)):
        if not isinstance(node.get(key), kind):
            raise GraphDefError("Serialized graph node has no valid %r field: %r"
                                % (key, {k: node.get(k) for k in ("name", "op")}))
    return {"name": node["name"], "op": node["op"], "input": node["input"],
            "device": node.get("device", ""), "attr": _decode(node.get("attr", {}), blobs),
            "outputs": node.get("outputs")}


def _encode(value, blobs):
    """JSON-able form of an attr value; arrays go to `blobs` (raw bytes, referenced by offset)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, np.ndarray):
        if value.dtype == object:  # strings: stored inline, base64 per element
            return {"__strings__": [base64.b64encode(bytes(v)).decode("ascii")
                                    for v in value.reshape(-1)], "shape": list(value.shape)}
        array = np.asarray(value, order="C")
        offset = sum(len(b) for b in blobs)
        blobs.append(array.tobytes())
        return {"__array__": array.dtype.str, "shape": list(array.shape), "offset": offset,
                "length": array.nbytes}
    if isinstance(value, dtypes.DType):
        return {"__dtype__": value.name}
    if isinstance(value, TensorShape):
        return {"__shape__": _dims(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, blobs) for v in value]}
    if isinstance(value, list):
        return [_encode(v, blobs) for v in value]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise TypeError("Attr dict keys must be strings, got %r" % (k,))
        return {"__dict__": {k: _encode(v, blobs) for k, v in value.items()}}
    if isinstance(value, Graph):
        return {"__function__": _function_to_dict(value, blobs)}
    raise TypeError("Attr value of type %s cannot be serialized: %r" % (type(value).__name__, value))


def _decode(value, blobs):
    if isinstance(value, list):
        return [_decode(v, blobs) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        dtype = np.dtype(value["__array__"])
        if dtype.hasobject:
            raise GraphDefError("Serialized array of object dtype is not allowed")
        start, length = int(value["offset"]), int(value["length"])
        if start < 0 or start + length > len(blobs):
            raise GraphDefError("Serialized graph is truncated: an array needs bytes %d..%d of "
                                "%d" % (start, start + length, len(blobs)))
        shape = tuple(int(d) for d in value["shape"])
        if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != length:
            raise GraphDefError("Serialized array length %d does not match shape %s of %s"
                                % (length, shape, dtype))
        array = np.frombuffer(blobs[start:start + length], dtype=dtype).reshape(shape).copy()
        array.setflags(write=False)
        return array
    if "__strings__" in value:
        items = [base64.b64decode(s) for s in value["__strings__"]]
        array = np.empty(len(items), dtype=object)
        array[:] = items
        array = array.reshape(tuple(value["shape"]))
        array.setflags(write=False)
        return array
    if "__bytes__" in value:
        return base64.b64decode(value["__bytes__"])
    if "__dtype__" in value:
        return dtypes.as_dtype(value["__dtype__"])
    if "__shape__" in value:
        return TensorShape(value["__shape__"])
    if "__tuple__" in value:
        return tuple(_decode(v, blobs) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, blobs) for k, v in value["__dict__"].items()}
    if "__function__" in value:
        function = value["__function__"]
        return _FunctionDef([_decode_node(n, blobs) for n in function["node"]], function["meta"])
    raise GraphDefError("Unknown encoded attr value with keys %s" % sorted(value))


# -- graphs to GraphDefs ---------------------------------------------------------------------

def _dims(shape):
    dims = shape.as_tuple_or_none()
    return None if dims is None else list(dims)


def _node_of(op):
    return {"name": op.name, "op": op.type, "device": op.device,
            "input": [t.name for t in op.inputs] + ["^" + c.name for c in op.control_inputs],
            "attr": dict(op.attrs),
            "outputs": [[t.dtype.name, _dims(t.shape)] for t in op.outputs]}


def graph_to_graph_def(graph, ops=None):
    """The GraphDef of `graph` (or of just `ops`, in creation order)."""
    ops = graph.get_operations() if ops is None else sorted(ops, key=lambda o: o._id)
    return GraphDef([_node_of(op) for op in ops], graph_attrs={"seed": graph.seed})


def _function_to_dict(function_graph, blobs):
    """A function sub-graph: its nodes plus the names of its inputs, outputs and captures."""
    return {"node": [_encode_node(_node_of(op), blobs) for op in function_graph.get_operations()],
            "meta": {"name": getattr(function_graph, "name", ""),
                     "inputs": [t.name for t in function_graph.inputs],
                     "outputs": [t.name for t in function_graph.outputs],
                     "control_outputs": [op.name for op in
                                         getattr(function_graph, "control_outputs", [])],
                     "captures": [[outer.name, inner.name] for outer, inner in
                                  getattr(function_graph, "captures", [])]}}


class _FunctionDef:
    """A decoded function attr, turned back into a FuncGraph when its op is imported."""

    def __init__(self, nodes, meta):
        self.nodes = nodes
        self.meta = meta


# -- GraphDefs to graphs ---------------------------------------------------------------------

def _topological_nodes(nodes):
    by_name = {}
    for n in nodes:
        if n["name"] in by_name:
            raise GraphDefError("Serialized graph has two nodes named %r" % n["name"])
        by_name[n["name"]] = n
    order, state = [], {}

    for root in nodes:
        if root["name"] in state:
            continue
        stack = [(root, iter(_input_op_names(root)))]
        state[root["name"]] = "visiting"
        while stack:
            node, deps = stack[-1]
            for dep in deps:
                if dep not in by_name:
                    raise GraphDefError("Node %r has input from unknown node %r"
                                        % (node["name"], dep))
                if state.get(dep) == "visiting":
                    raise GraphDefError("Serialized graph has a cycle through %r" % dep)
                if dep not in state:
                    state[dep] = "visiting"
                    stack.append((by_name[dep], iter(_input_op_names(by_name[dep]))))
                    break
            else:
                stack.pop()
                state[node["name"]] = "done"
                order.append(node)
    return order


def _input_op_names(node):
    for name in node["input"]:
        if name.startswith("^"):
            yield name[1:]
        else:
            yield name.rsplit(":", 1)[0] if ":" in name else name


def _import_nodes(graph, nodes, prefix, input_map):
    """Creates `nodes` in `graph`; returns {old op name: new Operation}."""
    created = {}

    def tensor_for(name):
        if name in input_map:
            return input_map[name]
        op_name, _, index = name.rpartition(":")
        if not _:
            op_name, index = name, "0"
        if op_name + ":" + index in input_map:
            return input_map[op_name + ":" + index]
        op = created.get(op_name)
        if op is None:
            raise GraphDefError("Input %r not found while importing" % name)
        try:
            return op.outputs[int(index)]
        except (IndexError, ValueError):
            raise GraphDefError("Input %r refers to a missing output" % name) from None

    for node in _topological_nodes(nodes):
        if registry.lookup(node["op"]) is None:
            raise GraphDefError("Op type not registered %r in serialized node %r. Is the module "
                                "defining it imported on this rank?" % (node["op"], node["name"]))
        inputs, controls = [], []
        for name in node["input"]:
            if name.startswith("^"):
                if name[1:] in created:
                    controls.append(created[name[1:]])
                elif "^" + name[1:] in input_map:
                    controls.append(input_map["^" + name[1:]])
            else:
                inputs.append(tensor_for(name))
        attrs = {k: _materialize(v, graph, prefix) for k, v in node["attr"].items()}
        output_specs = None
        if node.get("outputs") is not None:
            output_specs = [(TensorShape(dims), dtypes.as_dtype(dtype))
                            for dtype, dims in node["outputs"]]
        op = graph.create_op(node["op"], inputs, attrs, name=prefix + node["name"] + "/",
                             output_specs=output_specs)
        if node.get("device"):
            op._set_device(node["device"])
        for c in controls:
            op._add_control_input(c)
        created[node["name"]] = op
    return created


def _materialize(value, graph, prefix):
    if isinstance(value, _FunctionDef):
        return function_from_def(value, graph, prefix)
    if isinstance(value, list):
        return [_materialize(v, graph, prefix) for v in value]
    if isinstance(value, tuple):
        return tuple(_materialize(v, graph, prefix) for v in value)
    if isinstance(value, dict):
        return {k: _materialize(v, graph, prefix) for k, v in value.items()}
    return value


def function_from_def(function_def, outer_graph, outer_prefix=""):
    """Rebuilds a FuncGraph (see func_graph.py) from its serialized form."""
    from .func_graph import FuncGraph
    meta = function_def.meta
    fgraph = FuncGraph(meta.get("name") or "function", outer_graph=outer_graph)
    created = _import_nodes(fgraph, function_def.nodes, "", {})

    def lookup(name):
        op_name, _, index = name.rpartition(":")
        return created[op_name].outputs[int(index)]
    fgraph.inputs = [lookup(n) for n in meta["inputs"]]
    fgraph.outputs = [lookup(n) for n in meta["outputs"]]
    fgraph.control_outputs = [created[n] for n in meta["control_outputs"]]
    # Captures name tensors of the outer graph: resolve them there when it is ready.
    fgraph.captures = []
    for outer_name, inner_name in meta["captures"]:
        try:
            outer = outer_graph.get_tensor_by_name(outer_prefix + outer_name)
        except (KeyError, ValueError):
            outer = None
        fgraph.captures.append((outer, lookup(inner_name)))
    return fgraph


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None,
                     op_dict=None, producer_op_list=None):
    """Imports `graph_def` (a GraphDef or its serialized bytes) into the default graph.

    Args:
      input_map: {name in graph_def ("x:0", or "^op" for control inputs): Tensor/Operation
        of the default graph} replacing those inputs.
      return_elements: names in graph_def ("op" or "op:0") to return, in order.
      name: prefix for the imported names (default "import"; "" keeps names as they are).

    Returns:
      The Tensors/Operations named by return_elements (or None).

    Raises:
      GraphDefError (a ValueError): for malformed input or unknown op types.
    """
    if isinstance(graph_def, (bytes, bytearray, memoryview)):
        graph_def = GraphDef.FromString(graph_def)
    if not isinstance(graph_def, GraphDef):
        raise TypeError("graph_def must be a GraphDef or bytes, got %s" % type(graph_def).__name__)
    graph = get_default_graph()
    input_map = dict(input_map or {})
    if name == "":
        prefix_scope = None
    else:
        prefix_scope = name or "import"
    if prefix_scope is None:
        created = _import_nodes(graph, graph_def.node, "", input_map)
    else:
        with graph.name_scope(prefix_scope) as scope:
            created = _import_nodes(graph, graph_def.node, scope, input_map)
    if graph.seed is None and graph_def.graph_attrs.get("seed") is not None:
        graph.seed = graph_def.graph_attrs["seed"]
    if return_elements is None:
        return None
    result = []
    for element in return_elements:
        op_name, sep, index = element.rpartition(":")
        if sep and index.isdigit():
            if op_name not in created:
                raise ValueError("Requested return_element %r not found in graph_def." % element)
            result.append(created[op_name].outputs[int(index)])
        else:
            if element not in created:
                raise ValueError("Requested return_element %r not found in graph_def." % element)
            result.append(created[element])
    return result


def graph_from_bytes(data):
    """A new Graph holding exactly the serialized graph (names unchanged)."""
    graph = Graph()
    with graph.as_default():
        import_graph_def(data, name="")
    return graph


def _as_graph_def(self, from_version=None, add_shapes=False):
    """This graph as a GraphDef (serialize with `.SerializeToString()`)."""
    return graph_to_graph_def(self)


Graph.as_graph_def = _as_graph_def


def write_graph(graph_or_graph_def, logdir, name, as_text=True):
    """Writes a graph to `logdir/name`: JSON text if `as_text`, else the binary format."""
    import os
    graph_def = graph_or_graph_def
    if isinstance(graph_def, Graph):
        graph_def = graph_def.as_graph_def()
    os.makedirs(logdir, exist_ok=True)
    path = os.path.join(logdir, name)
    data = graph_def.SerializeToString()
    if as_text:
        _, _, header_length = _PREFIX.unpack_from(data)
        header = json.loads(data[_PREFIX.size:_PREFIX.size + header_length])
        with open(path, "w") as f:
            json.dump(header, f, indent=1)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return path
