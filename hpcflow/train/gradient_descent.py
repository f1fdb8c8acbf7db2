"""GradientDescentOptimizer: var -= learning_rate * grad."""
from ..framework.tensor_conversion import convert_to_tensor
from ..ops import training_ops
from .optimizer import Optimizer


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent; sparse gradients update only their rows."""

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _prepare(self):
        self._learning_rate_tensor = convert_to_tensor(self._learning_rate, name="learning_rate")

    def _apply_dense(self, grad, var):
        return training_ops.apply_update(
            "ApplyGradientDescent", var, [], [self._cast_to(self._learning_rate_tensor, var)], grad)

    def _apply_sparse(self, grad, var):
        return training_ops.apply_update(
            "ApplyGradientDescent", var, [], [self._cast_to(self._learning_rate_tensor, var)],
            grad.values, indices=grad.indices)
