"""Graph rewrites applied when a Plan is compiled: one ordered, visible pass table.

Every Plan (a local session step, a cond/while body, one rank's partition of an MPI job, a
data-parallel SPMD step) copies its pruned graph into a `GraphIR` and runs the enabled
passes of `PASSES` over it, in this order:

    name                 pass                                   pattern (see its docstring)
    constant_folding     constant_folding.constant_folding      op(Const...) -> Const
    arithmetic           arithmetic.arithmetic_simplification   x*1 -> x, Neg(Neg(x)) -> x ...
    cse                  cse.common_subexpression_elimination   two equal ops -> one
    pruning              pruning.pruning                        unused nodes -> removed
    conv_fusion          conv_fusion.conv_bias_relu_fusion      Conv2D + bias (+ Relu) -> one op
    fusion               fusion.elementwise_fusion              element-wise chain -> one op

Passes never change the user's graph, never touch stateful ops, context kernels or the `_`
internal family (sends, receives, collectives), keep fetched and fed tensors' values, and
keep the original op on every node so errors name it.

Turning passes off (to compare, or to debug a suspected rewrite bug):
- `HPCFLOW_REWRITES=-fusion,-cse` disables those passes, `HPCFLOW_REWRITES=none` all of
  them, `HPCFLOW_REWRITES=cse,pruning` enables only those;
- `ConfigProto(graph_options=GraphOptions(rewrite_options=RewriterConfig(...)))` with TF's
  field names (`constant_folding`, `arithmetic_optimization`, `common_subgraph_elimination`,
  `remapping` for fusion, each `RewriterConfig.ON`/`OFF`; `disable_model_pruning`;
  `disable_meta_optimizer` for all), or a dict {pass name: bool}. The environment variable
  is applied after the config.
"""
import os

from . import fused_elementwise  # noqa: F401 - registers the _FusedElementwise op
from .arithmetic import arithmetic_simplification
from .constant_folding import constant_folding
from .conv_fusion import conv_bias_relu_fusion
from .cse import common_subexpression_elimination
from .fusion import elementwise_fusion
from .ir import GraphIR, IRNode  # noqa: F401 - the types passes work on
from .pruning import pruning

# The pass table: (name, function(ir, context) -> number of changes), run in this order.
PASSES = (
    ("constant_folding", constant_folding),
    ("arithmetic", arithmetic_simplification),
    ("cse", common_subexpression_elimination),
    ("pruning", pruning),
    # Before element-wise fusion, which would otherwise take the bias add and the Relu.
    ("conv_fusion", conv_bias_relu_fusion),
    ("fusion", elementwise_fusion),
)
PASS_NAMES = tuple(name for name, _ in PASSES)


class RewriterConfig:
    """TF's `RewriterConfig` fields that map to hpcflow passes (others are accepted).

    Toggles are DEFAULT (pass on), ON or OFF. `remapping` is TF's name for its fusions:
    here both fusion passes.
    """

    DEFAULT, ON, OFF = 0, 1, 2
    _TOGGLES = {"constant_folding": ("constant_folding",),
                "arithmetic_optimization": ("arithmetic",),
                "common_subgraph_elimination": ("cse",), "remapping": ("conv_fusion", "fusion")}

    def __init__(self, constant_folding=0, arithmetic_optimization=0,
                 common_subgraph_elimination=0, remapping=0, disable_model_pruning=False,
                 disable_meta_optimizer=False, **other_fields):
        self.constant_folding = constant_folding
        self.arithmetic_optimization = arithmetic_optimization
        self.common_subgraph_elimination = common_subgraph_elimination
        self.remapping = remapping
        self.disable_model_pruning = disable_model_pruning
        self.disable_meta_optimizer = disable_meta_optimizer
        self.other_fields = other_fields

    def enabled(self):
        """{pass name: bool} as this config sets them."""
        result = {name: not self.disable_meta_optimizer for name in PASS_NAMES}
        if self.disable_meta_optimizer:
            return result
        for field, names in self._TOGGLES.items():
            for name in names:
                result[name] = getattr(self, field) != self.OFF
        result["pruning"] = not self.disable_model_pruning
        return result

    def __repr__(self):
        return "RewriterConfig(%s)" % ", ".join(
            "%s=%r" % (k, getattr(self, k)) for k in
            ("constant_folding", "arithmetic_optimization", "common_subgraph_elimination",
             "remapping", "disable_model_pruning", "disable_meta_optimizer"))


def _from_config(config):
    enabled = {name: True for name in PASS_NAMES}
    graph_options = getattr(config, "graph_options", None) if config is not None else None
    options = getattr(graph_options, "rewrite_options", None)
    if options is None:
        return enabled
    if isinstance(options, dict):
        for name, on in options.items():
            if name not in enabled:
                raise ValueError("Unknown rewrite pass %r in rewrite_options; passes are %s"
                                 % (name, ", ".join(PASS_NAMES)))
            enabled[name] = bool(on)
        return enabled
    if isinstance(options, RewriterConfig):
        return options.enabled()
    raise TypeError("rewrite_options must be a RewriterConfig or a dict {pass name: bool}, "
                    "got %r" % (options,))


def _apply_env(enabled, spec):
    spec = spec.strip()
    if not spec or spec in ("all", "default"):
        return enabled
    if spec in ("none", "0", "off"):
        return {name: False for name in enabled}
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if all(not s.startswith("-") for s in items):
        enabled = {name: False for name in enabled}  # a plain list: only those
    for item in items:
        name = item.lstrip("+-")
        if name not in enabled:
            raise ValueError("Unknown rewrite pass %r in HPCFLOW_REWRITES=%r; passes are %s"
                             % (name, spec, ", ".join(PASS_NAMES)))
        enabled[name] = not item.startswith("-")
    return enabled


def enabled_passes(config=None):
    """The names of the passes to run, in table order, for a session's `config`.

    Raises:
      ValueError / TypeError: for an unknown pass name or a malformed rewrite_options.
    """
    enabled = _apply_env(_from_config(config), os.environ.get("HPCFLOW_REWRITES", ""))
    return tuple(name for name in PASS_NAMES if enabled[name])


class RewriteContext:
    """What passes may need besides the graph: the kernel preference of the plan."""

    __slots__ = ("preference",)

    def __init__(self, preference=None):
        self.preference = preference


def rewrite(ir, passes, preference=None):
    """Runs the passes named in `passes` over `ir` in table order.

    Returns:
      {pass name: number of changes} for the passes that ran.
    """
    context = RewriteContext(preference)
    stats = {}
    for name, fn in PASSES:
        if name in passes:
            stats[name] = fn(ir, context)
    return stats
