"""`Session`: runs fetches with feeds on a graph, TF1's client API, locally or over MPI."""
import collections
import contextlib
import threading
import time
import weakref

import numpy as np

from ..framework import errors
from ..framework.graph import Graph, Operation, Tensor, get_default_graph
from . import config as config_lib
from . import memory


class _FetchMapper:
    """Flattens a nested fetch structure to a list of graph elements and rebuilds the result.

    Supports Tensors, Operations (fetched as None), names, Variables and other objects with
    `_as_graph_element`, objects with `_fetch_components` (IndexedSlices), and lists,
    tuples, namedtuples and dicts of these, nested to any depth.
    """

    def __init__(self, graph, fetches):
        self.graph = graph
        self.elements = []
        self.builder = self._build(fetches)

    def _leaf(self, element):
        index = len(self.elements)
        self.elements.append(element)
        return index

    def _build(self, fetch):
        if fetch is None:
            raise TypeError("Fetch argument None has invalid type %s" % type(None))
        if isinstance(fetch, (list, tuple)) and not hasattr(fetch, "_fetch_components"):
            parts = [self._build(f) for f in fetch]
            if isinstance(fetch, list):
                return lambda values: [p(values) for p in parts]
            if hasattr(fetch, "_fields"):  # namedtuple
                cls = type(fetch)
                return lambda values: cls(*[p(values) for p in parts])
            cls = type(fetch)
            return lambda values: cls(p(values) for p in parts)
        if isinstance(fetch, collections.abc.Mapping):
            keys = list(fetch.keys())
            parts = [self._build(fetch[k]) for k in keys]
            cls = type(fetch)

            def build_dict(values):
                items = [(k, p(values)) for k, p in zip(keys, parts)]
                try:
                    return cls(items)
                except TypeError:  # e.g. defaultdict needs its factory
                    result = dict(items)
                    return result
            return build_dict
        if hasattr(fetch, "_fetch_components"):
            tensors, rebuild = fetch._fetch_components()
            parts = [self._build(t) for t in tensors]
            return lambda values: rebuild([p(values) for p in parts])
        try:
            element = self.graph.as_graph_element(fetch, allow_tensor=True, allow_operation=True)
        except TypeError as e:
            raise TypeError("Fetch argument %r has invalid type %r, must be a string or Tensor. "
                            "(%s)" % (fetch, type(fetch), e)) from None
        except ValueError as e:
            raise ValueError("Fetch argument %r cannot be interpreted as a Tensor. (%s)"
                             % (fetch, e)) from None
        except KeyError as e:
            raise ValueError("Fetch argument %r cannot be interpreted as a Tensor. (%s)"
                             % (fetch, e.args[0])) from None
        index = self._leaf(element)
        if isinstance(element, Operation):
            return lambda values: None
        return lambda values: values[index]


def _feed_key_tensor(graph, key):
    if isinstance(key, Tensor):
        element = key
    elif isinstance(key, str):
        element = graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
    elif hasattr(key, "_as_graph_element"):
        element = key._as_graph_element()
    else:
        raise TypeError("Cannot interpret feed_dict key as Tensor: %r" % (key,))
    if not isinstance(element, Tensor):
        raise TypeError("Cannot interpret feed_dict key as Tensor: %r is not a Tensor" % (key,))
    if element.graph is not graph:
        raise ValueError("Cannot feed %s: it is not an element of this session's graph." % element.name)
    return element


def _convert_feed_value(tensor, value):
    if isinstance(value, Tensor) or hasattr(value, "_as_graph_element"):
        raise TypeError("The value of a feed cannot be a tf.Tensor object. Acceptable feed "
                        "values include Python scalars, strings, lists, numpy ndarrays, or "
                        "TensorHandles. For reference, the tensor object was %s which was passed "
                        "to the feed with key %s." % (value, tensor.name))
    np_dtype = tensor.dtype.np_dtype
    if isinstance(value, int) and not isinstance(value, bool) and tensor.dtype.is_integer:
        if not np.can_cast(np.min_scalar_type(value), np_dtype) and \
                np.array(value).astype(np_dtype) != value:
            raise TypeError("Type of feed value %r with type %s is not compatible with Tensor "
                            "type %s. Try explicitly setting the type of the feed tensor to a "
                            "larger type (e.g. int64)." % (value, type(value), tensor.dtype))
    if tensor.dtype.name == "string":
        from ..framework import tensor_util
        array = tensor_util.make_ndarray(value, tensor.dtype)
    else:
        try:
            array = np.asarray(value, dtype=np_dtype)
        except (TypeError, ValueError) as e:
            raise ValueError("Cannot feed value %r to tensor %s of dtype %s: %s"
                             % (value, tensor.name, tensor.dtype.name, e)) from None
    if not tensor.shape.is_compatible_with(array.shape):
        raise ValueError("Cannot feed value of shape %r for Tensor %r, which has shape %r"
                         % (array.shape, tensor.name, str(tensor.shape)))
    return array


class BaseSession:
    """Common code of Session and InteractiveSession."""

    def __init__(self, target="", graph=None, config=None):
        self._graph = graph if graph is not None else get_default_graph()
        if not isinstance(self._graph, Graph):
            raise TypeError("graph must be a tf.Graph, but got %s" % type(self._graph))
        self._config = config if config is not None else config_lib.ConfigProto()
        self._target = target
        self._closed = False
        from ..distributed import context as dist_context
        memory.tune_allocator()
        self._runtime = dist_context.make_session_runtime(self)
        self._state = self._runtime.local_state
        self._default_session_context = None
        _live_sessions.add(self)

    @property
    def graph(self):
        return self._graph

    @property
    def graph_def(self):
        return self._graph.as_graph_def()

    @property
    def sess_str(self):
        return self._target

    def list_devices(self):
        return self._runtime.list_devices()

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Runs the ops and evaluates the tensors in `fetches`, with `feed_dict` substituted.

        Args:
          fetches: a graph element (Tensor, Operation, name, Variable) or a list, tuple,
            namedtuple or dict of them, nested to any depth.
          feed_dict: {tensor or name: value}. Any tensor may be fed; a fed intermediate
            tensor cuts the graph there (its upstream ops do not run).
          options: a RunOptions; `trace_level=FULL_TRACE` fills `run_metadata.step_stats`.

        Returns:
          `fetches` with every element replaced by its value (None for Operations).

        Raises:
          RuntimeError: if the session is closed or the graph empty.
          TypeError / ValueError: for malformed fetches or feeds.
          OpError subclasses: from running the graph, naming the op and rank.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        mapper = _FetchMapper(self._graph, fetches)
        feed_tensors, feed_values = [], []
        if feed_dict:
            seen = {}
            for key, value in feed_dict.items():
                tensor = _feed_key_tensor(self._graph, key)
                if hasattr(key, "_feed_components"):  # e.g. a SparseTensor feed
                    raise TypeError("Feeding %s is not supported" % type(key).__name__)
                array = _convert_feed_value(tensor, value)
                if tensor in seen:
                    feed_values[seen[tensor]] = array
                    continue
                seen[tensor] = len(feed_tensors)
                feed_tensors.append(tensor)
                feed_values.append(array)
        fetch_tensors, target_ops, positions = [], [], []
        tensor_index = {}
        for element in mapper.elements:
            if isinstance(element, Operation):
                target_ops.append(element)
                positions.append(None)
            else:
                if element not in tensor_index:
                    tensor_index[element] = len(fetch_tensors)
                    fetch_tensors.append(element)
                positions.append(tensor_index[element])
        trace = options is not None and getattr(options, "trace_level", 0) >= \
            config_lib.RunOptions.FULL_TRACE and run_metadata is not None
        # Order feeds canonically so that the same feeds in another dict order share a plan.
        order = sorted(range(len(feed_tensors)), key=lambda i: (feed_tensors[i].op._id,
                                                                 feed_tensors[i].value_index))
        feed_tensors = [feed_tensors[i] for i in order]
        feed_values = [feed_values[i] for i in order]
        start = time.time()
        results = self._runtime.run(fetch_tensors, target_ops, feed_tensors, feed_values,
                                    run_metadata if trace else None)
        if trace:
            run_metadata.step_stats.wall_start = start
        values = [None if p is None else self._fetch_value(results[p]) for p in positions]
        return mapper.builder(values)

    def _fetch_value(self, value):
        # Return arrays the caller may keep and mutate: copy anything that aliases session
        # state (variables are updated in place), a read-only constant, or a view.
        if isinstance(value, np.ndarray):
            if value.ndim == 0:
                return value[()]
            if not value.flags.owndata or not value.flags.writeable or self._state.owns(value):
                return value.copy()
        return value

    def make_callable(self, fetches, feed_list=None, accept_options=False):
        """A function running `fetches` with positional feed values for `feed_list` (TF1)."""
        feed_list = list(feed_list or [])

        def call(*feed_args, **kwargs):
            if len(feed_args) != len(feed_list):
                raise TypeError("Expected %d feed values, got %d" % (len(feed_list), len(feed_args)))
            options = kwargs.pop("options", None) if accept_options else None
            run_metadata = kwargs.pop("run_metadata", None) if accept_options else None
            if kwargs:
                raise TypeError("Unexpected keyword arguments: %s" % sorted(kwargs))
            return self.run(fetches, dict(zip(feed_list, feed_args)), options, run_metadata)
        return call

    def partial_run_setup(self, fetches, feeds=None):
        raise errors.UnimplementedError(None, None, "partial_run is not supported by hpcflow; "
                                        "use Session.run with feeds (any tensor may be fed).")

    def close(self):
        """Frees the session's state; later `run` calls raise RuntimeError."""
        if not self._closed:
            self._closed = True
            self._runtime.close()

    def as_default(self):
        """Makes this the default session (for `Tensor.eval`, `Operation.run`) in a `with`."""
        return _default_session_stack.get_controller(self)

    def __enter__(self):
        self._default_session_context = self.as_default()
        self._default_session_context.__enter__()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        if self._default_session_context is not None:
            self._default_session_context.__exit__(exc_type, exc_value, traceback)
            self._default_session_context = None
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to free
            pass


class Session(BaseSession):
    """A TF1 session: `Session(target='', graph=None, config=None)`.

    In an MPI job (`mpiexec -n N python -m hpcflow script.py`) the session on rank 0 is the
    client of the distributed master; the script does not change.
    """


class InteractiveSession(BaseSession):
    """A session that installs itself as the default session on construction."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        self._interactive_context = self.as_default()
        self._interactive_context.__enter__()

    def close(self):
        super().close()
        if self._interactive_context is not None:
            context, self._interactive_context = self._interactive_context, None
            try:
                context.__exit__(None, None, None)
            except (AssertionError, IndexError, ValueError):
                pass


_live_sessions = weakref.WeakSet()


class _DefaultSessionStack(threading.local):
    def __init__(self):
        self.stack = []

    def get_default(self):
        return self.stack[-1] if self.stack else None

    @contextlib.contextmanager
    def get_controller(self, session):
        self.stack.append(session)
        try:
            yield session
        finally:
            if self.stack and self.stack[-1] is session:
                self.stack.pop()
            elif session in self.stack:
                self.stack.remove(session)


_default_session_stack = _DefaultSessionStack()


def get_default_session():
    """The innermost session entered with `as_default()` / `with Session()`, or None."""
    return _default_session_stack.get_default()


def clear_default_session_if_graph_gone():
    """Called by reset_default_graph: sessions on the old graph stop being default."""


def _session_for(session, element):
    session = session or get_default_session()
    if session is None:
        raise ValueError("Cannot evaluate tensor using `eval()`: No default session is "
                         "registered. Use `with sess.as_default()` or pass an explicit session "
                         "to `eval(session=sess)`")
    if element.graph is not session.graph:
        raise ValueError("Cannot use the given session to evaluate tensor: the tensor's graph "
                         "is different from the session's graph.")
    return session


def eval_in_session(tensor, feed_dict=None, session=None):
    return _session_for(session, tensor).run(tensor, feed_dict)


def run_in_session(operation, feed_dict=None, session=None):
    _session_for(session, operation).run(operation, feed_dict)
