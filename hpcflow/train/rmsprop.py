"""RMSPropOptimizer with TF1's update rule (optionally with momentum, optionally centered)."""
from ..framework.tensor_conversion import convert_to_tensor
from ..ops import training_ops
from .optimizer import Optimizer


class RMSPropOptimizer(Optimizer):
    """RMSProp: slots "rms" (initialized to ones, as TF1), "momentum" and, if centered, "mg".

    ms = decay ms + (1 - decay) g^2; [mg = decay mg + (1 - decay) g];
    mom = momentum mom + lr g / sqrt(ms [- mg^2] + epsilon); var -= mom.
    """

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10,
                 use_locking=False, centered=False, name="RMSProp"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._decay = decay
        self._momentum = momentum
        self._epsilon = epsilon
        self._centered = centered

    def _create_slots(self, var_list):
        for v in var_list:
            self._constant_slot(v, 1.0, "rms")
            if self._centered:
                self._zeros_slot(v, "mg")
            self._zeros_slot(v, "momentum")

    def _prepare(self):
        def value(x):
            return x() if callable(x) else x
        self._learning_rate_tensor = convert_to_tensor(value(self._learning_rate),
                                                       name="learning_rate")
        self._decay_tensor = convert_to_tensor(value(self._decay), name="decay")
        self._momentum_tensor = convert_to_tensor(value(self._momentum), name="momentum")
        self._epsilon_tensor = convert_to_tensor(value(self._epsilon), name="epsilon")

    def _inputs(self, var):
        return [self._cast_to(t, var) for t in (self._learning_rate_tensor, self._decay_tensor,
                                                self._momentum_tensor, self._epsilon_tensor)]

    def _slots_of(self, var):
        slots = [self.get_slot(var, "rms"), self.get_slot(var, "momentum")]
        if self._centered:
            slots.append(self.get_slot(var, "mg"))
        return slots

    def _apply_dense(self, grad, var):
        return training_ops.apply_update("ApplyRMSProp", var, self._slots_of(var),
                                         self._inputs(var), grad, centered=self._centered)

    def _apply_sparse(self, grad, var):
        return training_ops.apply_update("ApplyRMSProp", var, self._slots_of(var),
                                         self._inputs(var), grad.values, indices=grad.indices,
                                         centered=self._centered)
