"""`tf.train`: optimizers, the global step, learning-rate schedules, devices, input queues."""
from ..distributed.cluster import ClusterSpec
from .adagrad import AdagradOptimizer
from .adam import AdamOptimizer
from .coordinator import Coordinator, LooperThread
from .device_setter import GreedyLoadBalancingStrategy, byte_size_load_fn, replica_device_setter
from .gradient_descent import GradientDescentOptimizer
from .input import (batch, batch_join, input_producer, limit_epochs, range_input_producer,
                    shuffle_batch, shuffle_batch_join, slice_input_producer,
                    string_input_producer)
from .learning_rate_decay import (cosine_decay, exponential_decay, inverse_time_decay,
                                  natural_exp_decay, piecewise_constant, polynomial_decay)
from .momentum import MomentumOptimizer
from .optimizer import Optimizer
from .progress import ProgressHook
from .queue_runner import QueueRunner, add_queue_runner, start_queue_runners
from .rmsprop import RMSPropOptimizer
from .training_util import (create_global_step, get_global_step, get_or_create_global_step,
                            global_step)
from ..summary.hooks import SummarySaverHook
from ..summary.writer import summary_iterator

__all__ = [
    "AdagradOptimizer", "AdamOptimizer", "ClusterSpec", "Coordinator", "GradientDescentOptimizer",
    "GreedyLoadBalancingStrategy", "LooperThread", "MomentumOptimizer", "Optimizer",
    "ProgressHook", "SummarySaverHook", "summary_iterator",
    "QueueRunner", "RMSPropOptimizer", "add_queue_runner", "batch", "batch_join",
    "byte_size_load_fn", "cosine_decay", "create_global_step", "exponential_decay",
    "get_global_step", "get_or_create_global_step", "global_step", "input_producer",
    "inverse_time_decay", "limit_epochs", "natural_exp_decay", "piecewise_constant",
    "polynomial_decay", "range_input_producer", "replica_device_setter", "shuffle_batch",
    "shuffle_batch_join", "slice_input_producer", "start_queue_runners",
    "string_input_producer",
]
