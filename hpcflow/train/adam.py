"""AdamOptimizer (Kingma & Ba) with TF1's formulation of the bias correction."""
from ..framework.tensor_conversion import convert_to_tensor
from ..ops import training_ops
from .optimizer import Optimizer


class AdamOptimizer(Optimizer):
    """Adam: slots "m" and "v", non-slot variables "beta1_power" and "beta2_power".

    lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); m = beta1 m + (1 - beta1) g;
    v = beta2 v + (1 - beta2) g^2; var -= lr_t m / (sqrt(v) + epsilon).
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon

    def _beta_powers(self, graph=None):
        return (self._get_non_slot_variable("beta1_power", graph),
                self._get_non_slot_variable("beta2_power", graph))

    def _create_slots(self, var_list):
        first_var = min(var_list, key=lambda v: v.name)
        self._non_slot_variable(self._beta1, "beta1_power", first_var)
        self._non_slot_variable(self._beta2, "beta2_power", first_var)
        for v in var_list:
            self._zeros_slot(v, "m")
            self._zeros_slot(v, "v")

    def _prepare(self):
        def value(x):
            return x() if callable(x) else x
        self._lr_t = convert_to_tensor(value(self._lr), name="learning_rate")
        self._beta1_t = convert_to_tensor(value(self._beta1), name="beta1")
        self._beta2_t = convert_to_tensor(value(self._beta2), name="beta2")
        self._epsilon_t = convert_to_tensor(value(self._epsilon), name="epsilon")

    def _inputs(self, var):
        beta1_power, beta2_power = self._beta_powers(var.graph)
        return [self._cast_to(convert_to_tensor(beta1_power), var),
                self._cast_to(convert_to_tensor(beta2_power), var),
                self._cast_to(self._lr_t, var), self._cast_to(self._beta1_t, var),
                self._cast_to(self._beta2_t, var), self._cast_to(self._epsilon_t, var)]

    def _slots_of(self, var):
        return [self.get_slot(var, "m"), self.get_slot(var, "v")]

    def _apply_dense(self, grad, var):
        return training_ops.apply_update("ApplyAdam", var, self._slots_of(var), self._inputs(var),
                                         grad)

    def _apply_sparse(self, grad, var):
        return training_ops.apply_update("ApplyAdam", var, self._slots_of(var), self._inputs(var),
                                         grad.values, indices=grad.indices)

    def _finish(self, update_ops, name_scope):
        # The beta powers advance once per step, after every variable was updated.
        from ..ops import control_flow_ops, state_ops
        graph = update_ops[0].graph
        beta1_power, beta2_power = self._beta_powers(graph)
        with graph.control_dependencies(update_ops):
            with graph.colocate_with(beta1_power.op):
                update_beta1 = state_ops.assign(beta1_power, beta1_power * self._beta1_t,
                                                use_locking=self._use_locking)
                update_beta2 = state_ops.assign(beta2_power, beta2_power * self._beta2_t,
                                                use_locking=self._use_locking)
        return control_flow_ops.group(*update_ops + [update_beta1, update_beta2], name=name_scope)
