"""ConfigProto, RunOptions and RunMetadata: plain-Python stand-ins for TF1's protobufs."""


class _Message:
    """A protobuf-like record: fields given as keyword arguments, others at their default."""

    _FIELDS = {}

    def __init__(self, **kwargs):
        for name, default in self._FIELDS.items():
            setattr(self, name, default() if callable(default) else default)
        for name, value in kwargs.items():
            if name not in self._FIELDS:
                raise ValueError("Protocol message %s has no %r field." % (type(self).__name__, name))
            setattr(self, name, value)

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (k, getattr(self, k)) for k in self._FIELDS))


class GPUOptions(_Message):
    _FIELDS = {"allow_growth": False, "per_process_gpu_memory_fraction": 0.0,
               "visible_device_list": ""}


class GraphOptions(_Message):
    _FIELDS = {"optimizer_options": None, "rewrite_options": None, "place_pruned_graph": False}


class Experimental(_Message):
    """ConfigProto.Experimental. `async_updates` is hpcflow's: in a data-parallel MPI job,
    apply each rank's gradients alone at the parameter server, without waiting for the
    other ranks (as `python -m hpcflow --async`; see distributed/parameter_server.py)."""

    _FIELDS = {"async_updates": False}


class ConfigProto(_Message):
    """Session configuration, accepted as in TF1."""

    Experimental = Experimental
    _FIELDS = {"allow_soft_placement": False, "log_device_placement": False,
               "inter_op_parallelism_threads": 0, "intra_op_parallelism_threads": 0,
               "device_count": dict, "gpu_options": GPUOptions, "graph_options": GraphOptions,
               "operation_timeout_in_ms": 0, "use_per_session_threads": False,
               "isolate_session_state": False, "experimental": Experimental}


class RunOptions(_Message):
    NO_TRACE = 0
    SOFTWARE_TRACE = 1
    HARDWARE_TRACE = 2
    FULL_TRACE = 3
    _FIELDS = {"trace_level": 0, "timeout_in_ms": 0, "output_partition_graphs": False,
               "report_tensor_allocations_upon_oom": False}


class NodeExecStats(_Message):
    _FIELDS = {"node_name": "", "op_type": "", "all_start_micros": 0, "op_start_rel_micros": 0,
               "op_end_rel_micros": 0, "all_end_rel_micros": 0, "timeline_label": "",
               "bytes": 0}


class DeviceStepStats(_Message):
    _FIELDS = {"device": "", "node_stats": list}


class StepStats(_Message):
    _FIELDS = {"dev_stats": list}


class RunMetadata(_Message):
    _FIELDS = {"step_stats": StepStats, "partition_graphs": list, "cost_graph": None}
