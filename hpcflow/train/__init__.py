"""`tf.train`: optimizers, the global step, learning-rate schedules, savers and sessions."""
from .adagrad import AdagradOptimizer
from .adam import AdamOptimizer
from .gradient_descent import GradientDescentOptimizer
from .learning_rate_decay import (cosine_decay, exponential_decay, inverse_time_decay,
                                  natural_exp_decay, piecewise_constant, polynomial_decay)
from .momentum import MomentumOptimizer
from .optimizer import Optimizer
from .rmsprop import RMSPropOptimizer
from .training_util import (create_global_step, get_global_step, get_or_create_global_step,
                            global_step)

__all__ = [
    "AdagradOptimizer", "AdamOptimizer", "GradientDescentOptimizer", "MomentumOptimizer",
    "Optimizer", "RMSPropOptimizer", "cosine_decay", "exponential_decay",
    "inverse_time_decay", "natural_exp_decay", "piecewise_constant", "polynomial_decay",
    "create_global_step", "get_global_step", "get_or_create_global_step", "global_step",
]
