"""AdagradOptimizer: accum += grad**2; var -= lr * grad / sqrt(accum)."""
from ..framework.tensor_conversion import convert_to_tensor
from ..ops import training_ops
from .optimizer import Optimizer


class AdagradOptimizer(Optimizer):
    """Adagrad with TF1's update rule and its slot name "accumulator"."""

    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False,
                 name="Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError("initial_accumulator_value must be positive: %s"
                             % initial_accumulator_value)
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list):
        for v in var_list:
            self._constant_slot(v, self._initial_accumulator_value, "accumulator")

    def _prepare(self):
        learning_rate = self._learning_rate() if callable(self._learning_rate) else self._learning_rate
        self._learning_rate_tensor = convert_to_tensor(learning_rate, name="learning_rate")

    def _apply_dense(self, grad, var):
        return training_ops.apply_update(
            "ApplyAdagrad", var, [self.get_slot(var, "accumulator")],
            [self._cast_to(self._learning_rate_tensor, var)], grad)

    def _apply_sparse(self, grad, var):
        return training_ops.apply_update(
            "ApplyAdagrad", var, [self.get_slot(var, "accumulator")],
            [self._cast_to(self._learning_rate_tensor, var)], grad.values, indices=grad.indices)
