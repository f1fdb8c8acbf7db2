"""The Optimizer base class: compute_gradients, apply_gradients, minimize, slots (TF1 API)."""
from ..autodiff import gradients
from ..distributed import parameter_server
from ..framework.graph import GraphKeys, Operation, get_default_graph
from ..framework.indexed_slices import IndexedSlices
from ..framework.tensor_conversion import convert_to_tensor


def _flatten_var_list(var_list):
    """Variables, with PartitionedVariables expanded into their shards (as TF1 does)."""
    result = []
    for v in var_list:
        if hasattr(v, "_get_variable_list"):
            result.extend(v._get_variable_list())
        else:
            result.append(v)
    return result


class Optimizer:
    """Base class of the TF1 optimizers. Subclasses define the update of one variable.

    Subclasses implement `_create_slots(var_list)`, `_prepare()`, `_apply_dense(grad, var)`,
    `_apply_sparse(grad, var)` (grad an IndexedSlices) and optionally `_finish(update_ops,
    name)`. Slots are Variables named `<var op name>/<optimizer name>` (then `_1`...),
    created next to their variable, so checkpoints name them as TF1 does.
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking, name):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots = {}  # slot name -> {var op name: slot Variable}
        self._non_slot_variables = {}  # (name, graph id) -> Variable

    def get_name(self):
        return self._name

    def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP,
                          aggregation_method=None, colocate_gradients_with_ops=False,
                          grad_loss=None):
        """Gradients of `loss` for the variables in `var_list` (default: trainable ones).

        Returns:
          A list of (gradient, variable) pairs; the gradient is None for variables that
          `loss` does not depend on, or an IndexedSlices for sparse (gather) uses.

        Raises:
          ValueError: if there are no variables to optimize.
          TypeError: if `loss` is not a floating point Tensor.
        """
        if callable(loss):
            loss = loss()
        loss = convert_to_tensor(loss)
        if not loss.dtype.is_floating:
            raise TypeError("Loss %s must be a floating point tensor, got %s"
                            % (loss.name, loss.dtype.name))
        if var_list is None:
            var_list = loss.graph.get_collection(GraphKeys.TRAINABLE_VARIABLES) + \
                loss.graph.get_collection(GraphKeys.TRAINABLE_RESOURCE_VARIABLES)
        else:
            var_list = list(var_list)
        var_list = _flatten_var_list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        grads = gradients(loss, var_list, grad_ys=grad_loss,
                          colocate_gradients_with_ops=colocate_gradients_with_ops,
                          aggregation_method=aggregation_method)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Adds the ops that apply `grads_and_vars`; increments `global_step` afterwards.

        Returns:
          The train op: the global step increment if `global_step` is given, else a NoOp
          grouping the updates, named `name` (default: the optimizer's name).

        Raises:
          ValueError: if no gradient is given for any variable.
        """
        from ..ops import state_ops
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        for g, v in grads_and_vars:
            if g is not None and not isinstance(g, IndexedSlices):
                g = convert_to_tensor(g)
            converted.append((g, v))
        var_list = [v for g, v in converted if g is not None]
        if not var_list:
            raise ValueError("No gradients provided for any variable: %s."
                             % ([str(v.name) for _, v in converted],))
        graph = var_list[0].graph
        first_update_op = len(graph._ops)
        with graph.name_scope(None):
            self._create_slots(var_list)
        update_ops = []
        with graph.name_scope(name or self._name) as scope:
            self._prepare()
            for grad, var in converted:
                if grad is None:
                    continue
                with graph.name_scope("update_" + var.op.name):
                    if isinstance(grad, IndexedSlices):
                        update_ops.append(self._apply_sparse(grad, var))
                    else:
                        update_ops.append(self._apply_dense(grad, var))
            if global_step is None:
                apply_updates = self._finish(update_ops, scope[:-1] + "/")
            else:
                with graph.control_dependencies([self._finish(update_ops, "update")]):
                    with graph.colocate_with(global_step):
                        apply_updates = state_ops.assign_add(global_step, 1, name=scope[:-1] + "/")
            if not isinstance(apply_updates, Operation):
                apply_updates = apply_updates.op
            train_op = graph.get_collection_ref(GraphKeys.TRAIN_OP)
            if apply_updates not in train_op:
                train_op.append(apply_updates)
        # The MPI runtime can run these ops on the parameter server alone (async training,
        # SyncReplicasOptimizer): see distributed/parameter_server.py.
        parameter_server.record_update_ops(graph, first_update_op)
        return apply_updates

    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=GATE_OP,
                 aggregation_method=None, colocate_gradients_with_ops=False, name=None,
                 grad_loss=None):
        """`compute_gradients` then `apply_gradients`; returns the train op.

        Raises:
          ValueError: if no variable has a gradient (naming the variables and the loss).
        """
        grads_and_vars = self.compute_gradients(
            loss, var_list=var_list, gate_gradients=gate_gradients,
            aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
        vars_with_grad = [v for g, v in grads_and_vars if g is not None]
        if not vars_with_grad:
            raise ValueError("No gradients provided for any variable, check your graph for ops "
                             "that do not support gradients, between variables %s and loss %s."
                             % ([str(v.name) for _, v in grads_and_vars], loss))
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    # -- slots ---------------------------------------------------------------------------------

    def get_slot_names(self):
        return sorted(self._slots)

    def get_slot(self, var, name):
        """The slot `name` (e.g. "m") of `var`, or None."""
        slots = self._slots.get(name)
        if slots is None:
            return None
        return slots.get(var.op.name)

    def variables(self):
        """The optimizer's own variables: slots and non-slot variables (beta powers)."""
        result = [v for slots in self._slots.values() for v in slots.values()]
        result.extend(self._non_slot_variables.values())
        return sorted(result, key=lambda v: v.name)

    def _slot_variable(self, var, initial_value, slot_name, dtype=None):
        """Creates (once) the slot `slot_name` of `var`, initialized from `initial_value`.

        `initial_value` is a callable(shape, dtype) -> Tensor, run on the variable's device.
        """
        from ..ops import variables
        slots = self._slots.setdefault(slot_name, {})
        key = var.op.name
        if key not in slots:
            graph = var.graph
            dtype = dtype or var.dtype.base_dtype
            shape = var.shape.as_list()
            with graph.colocate_with(var.op):
                slot = variables.Variable(
                    lambda: initial_value(shape, dtype), name="%s/%s" % (key, self._name),
                    trainable=False, dtype=dtype)
            slice_info = var._get_save_slice_info() if hasattr(var, "_get_save_slice_info") \
                else None
            if slice_info is not None:
                # A shard's slot is the same shard of a full slot variable (as TF's
                # slot_creator): "<full name>/Adam", so checkpoints restore it into any
                # other partitioning.
                slot_suffix = slot.op.name[len(key) + 1:]
                slot._set_save_slice_info(variables.Variable.SaveSliceInfo(
                    slice_info.full_name + "/" + slot_suffix, slice_info.full_shape,
                    slice_info.var_offset, slice_info.var_shape))
            slots[key] = slot
        return slots[key]

    def _zeros_slot(self, var, slot_name):
        from ..ops import array_ops
        return self._slot_variable(var, lambda shape, dtype: array_ops.zeros(shape, dtype=dtype),
                                   slot_name)

    def _constant_slot(self, var, value, slot_name):
        from ..ops import array_ops
        return self._slot_variable(
            var, lambda shape, dtype: array_ops.fill(shape, convert_to_tensor(value, dtype=dtype)),
            slot_name)

    def _non_slot_variable(self, initial_value, name, colocate_with):
        """A variable of the optimizer itself (Adam's beta powers), once per graph."""
        from ..ops import variables
        graph = colocate_with.graph
        key = (name, id(graph))
        if key not in self._non_slot_variables:
            with graph.colocate_with(colocate_with.op):
                # As TF1: a Python initial value makes a float32 variable whatever the var's
                # dtype; update ops cast it to each variable's dtype.
                self._non_slot_variables[key] = variables.Variable(
                    initial_value, name=name, trainable=False)
        return self._non_slot_variables[key]

    def _get_non_slot_variable(self, name, graph=None):
        graph = graph or get_default_graph()
        return self._non_slot_variables.get((name, id(graph)))

    # -- subclass hooks ------------------------------------------------------------------------

    def _create_slots(self, var_list):
        pass

    def _prepare(self):
        pass

    def _apply_dense(self, grad, var):
        raise NotImplementedError()

    def _apply_sparse(self, grad, var):
        raise NotImplementedError()

    def _finish(self, update_ops, name_scope):
        from ..ops import control_flow_ops
        return control_flow_ops.group(*update_ops, name=name_scope)

    @staticmethod
    def _cast_to(tensor, var):
        """A hyper-parameter Tensor in `var`'s dtype (TF1 casts per variable, as here)."""
        from ..ops import math_ops
        if tensor.dtype != var.dtype.base_dtype:
            return math_ops.cast(tensor, var.dtype.base_dtype)
        return tensor
