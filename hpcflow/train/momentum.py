"""MomentumOptimizer: accum = momentum * accum + grad; var -= lr * accum (or Nesterov)."""
from ..framework.tensor_conversion import convert_to_tensor
from ..ops import training_ops
from .optimizer import Optimizer


class MomentumOptimizer(Optimizer):
    """Momentum SGD with TF1's update rule and its slot name "momentum"."""

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum",
                 use_nesterov=False):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum")

    def _prepare(self):
        learning_rate = self._learning_rate() if callable(self._learning_rate) else self._learning_rate
        momentum = self._momentum() if callable(self._momentum) else self._momentum
        self._learning_rate_tensor = convert_to_tensor(learning_rate, name="learning_rate")
        self._momentum_tensor = convert_to_tensor(momentum, name="momentum")

    def _inputs(self, var):
        return [self._cast_to(self._learning_rate_tensor, var),
                self._cast_to(self._momentum_tensor, var)]

    def _apply_dense(self, grad, var):
        return training_ops.apply_update("ApplyMomentum", var, [self.get_slot(var, "momentum")],
                                         self._inputs(var), grad, use_nesterov=self._use_nesterov)

    def _apply_sparse(self, grad, var):
        return training_ops.apply_update("ApplyMomentum", var, [self.get_slot(var, "momentum")],
                                         self._inputs(var), grad.values, indices=grad.indices,
                                         use_nesterov=self._use_nesterov)
