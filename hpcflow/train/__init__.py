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
from .basic_session_run_hooks import (CheckpointSaverHook, CheckpointSaverListener, FeedFnHook,
                                      FinalOpsHook, LoggingTensorHook,
                                      NanLossDuringTrainingError, NanTensorHook,
                                      SecondOrStepTimer, StepCounterHook, StopAtStepHook)
from .monitored_session import (PREEMPTED_EXIT_CODE, ChiefSessionCreator, MonitoredSession,
                                MonitoredTrainingSession, Scaffold, SessionCreator,
                                SessionManager, SessionRunArgs, SessionRunContext,
                                SessionRunHook, SessionRunValues, SingularMonitoredSession,
                                WorkerSessionCreator)
from .queue_runner import QueueRunner, add_queue_runner, start_queue_runners
from .saver import (CheckpointState, NewCheckpointReader, Saver, SaverDef, checkpoint_exists,
                    generate_checkpoint_state_proto, get_checkpoint_mtimes,
                    get_checkpoint_state, latest_checkpoint, list_variables, load_checkpoint,
                    load_variable, remove_checkpoint, update_checkpoint_state)
from .rmsprop import RMSPropOptimizer
from .sync_replicas import SyncReplicasOptimizer
from .training_util import (create_global_step, get_global_step, get_or_create_global_step,
                            global_step)
from ..summary.hooks import SummarySaverHook
from ..summary.writer import summary_iterator

__all__ = sorted(name for name in dir() if not name.startswith("_") and name not in (
    "adagrad", "adam", "basic_session_run_hooks", "coordinator", "device_setter",
    "gradient_descent", "input", "learning_rate_decay", "momentum", "monitored_session",
    "optimizer", "progress", "queue_runner", "rmsprop", "saver", "sync_replicas",
    "training_util"))
