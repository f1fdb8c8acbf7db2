"""`tf.train.SyncReplicasOptimizer`: aggregate R replicas' gradients per update (TF1 API).

In TF1 each worker task runs its own client; the wrapped optimizer's gradients go into
accumulators on the parameter servers, the chief applies their mean once R of them arrived
for the current step, later ones are dropped as stale (backup workers), and tokens release
the workers for the next step.

In hpcflow one client (rank 0) drives a data-parallel job, and every rank is a replica
computing the gradients of its rows of the batch. The MPI runtime then sends each rank's
gradients to rank 0, which applies the first `replicas_to_aggregate` of them to arrive as
one update and drops the rest (distributed/parameter_server.py). With R equal to the number
of ranks the step equals the plain one-process step. The chief queue runner, tokens and
hook therefore have nothing to do here: they exist so TF1 scripts run unchanged.
"""
from ..distributed import context, parameter_server
from ..ops import control_flow_ops
from .monitored_session import SessionRunHook
from .optimizer import Optimizer


class SyncReplicasOptimizer(Optimizer):
    """Wraps `opt`: each update aggregates `replicas_to_aggregate` replicas' gradients."""

    def __init__(self, opt, replicas_to_aggregate, total_num_replicas=None,
                 variable_averages=None, variables_to_average=None, use_locking=False,
                 name="sync_replicas"):
        super().__init__(use_locking, name)
        if variable_averages is not None or variables_to_average is not None:
            raise NotImplementedError(
                "SyncReplicasOptimizer(variable_averages=...): hpcflow has no "
                "ExponentialMovingAverage yet")
        replicas_to_aggregate = int(replicas_to_aggregate)
        if replicas_to_aggregate < 1:
            raise ValueError("replicas_to_aggregate must be >= 1, got %d" % replicas_to_aggregate)
        self._opt = opt
        self._replicas_to_aggregate = replicas_to_aggregate
        self._total_num_replicas = int(total_num_replicas or replicas_to_aggregate)
        self._gradients_applied = False
        self._chief_queue_runner = _NothingToRun()

    def compute_gradients(self, *args, **kwargs):
        return self._opt.compute_gradients(*args, **kwargs)

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """The wrapped optimizer's update, applied once per R aggregated replicas' gradients.

        Raises:
          ValueError: without `global_step` (TF1 needs it to find stale gradients), if
            called twice, or if the job has fewer ranks than `replicas_to_aggregate`.
        """
        if global_step is None:
            raise ValueError("Global step is required to check staleness")
        if self._gradients_applied:
            raise ValueError("apply_gradients can only be called once per "
                             "SyncReplicasOptimizer")
        replicas = context.size()
        if self._replicas_to_aggregate > replicas:
            raise ValueError(
                "SyncReplicasOptimizer: replicas_to_aggregate=%d, but this job has %d "
                "replica(s): in hpcflow every MPI rank of a data-parallel job is one replica "
                "(run with mpiexec -n %d or more)" % (self._replicas_to_aggregate, replicas,
                                                      self._replicas_to_aggregate))
        graph = global_step.graph
        first_op = len(graph._ops)
        train_op = self._opt.apply_gradients(grads_and_vars, global_step=global_step, name=name)
        parameter_server.mark_sync_replicas(graph, first_op, {
            "replicas_to_aggregate": self._replicas_to_aggregate,
            "total_num_replicas": self._total_num_replicas})
        self._gradients_applied = True
        with graph.as_default():
            self.chief_init_op = control_flow_ops.no_op(name="sync_replicas_chief_init")
            self.local_step_init_op = control_flow_ops.no_op(name="sync_replicas_local_init")
        self.ready_for_local_init_op = None
        return train_op

    def get_chief_queue_runner(self):
        if not self._gradients_applied:
            raise ValueError("Should be called after apply_gradients().")
        return self._chief_queue_runner

    def get_init_tokens_op(self, num_tokens=-1):
        if not self._gradients_applied:
            raise ValueError("get_init_tokens_op() should be called after apply_gradients().")
        return control_flow_ops.no_op(name="sync_replicas_init_tokens")

    def make_session_run_hook(self, is_chief, num_tokens=-1):
        return _SyncReplicasHook()

    def get_slot(self, *args, **kwargs):
        return self._opt.get_slot(*args, **kwargs)

    def get_slot_names(self, *args, **kwargs):
        return self._opt.get_slot_names(*args, **kwargs)

    def variables(self):
        return self._opt.variables()


class _SyncReplicasHook(SessionRunHook):
    """TF1's hook starts the chief queue runner and puts the initial tokens: here the MPI
    runtime aggregates at rank 0, so the hook only keeps TF1 scripts unchanged."""


class _NothingToRun:
    """The chief queue runner: no thread to start (rank 0 aggregates inside each step)."""

    def create_threads(self, sess, coord=None, daemon=False, start=False):
        return []
