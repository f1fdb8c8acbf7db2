"""The cluster of an MPI job: ranks 0..K-1 are job `ps`, the rest job `worker` (TF1 names).

`ClusterSpec` is TF1's class; `JobCluster` maps device names of the running job to ranks.
A one-rank job is both `ps` and `worker` task 0.
"""
from ..framework.device import DeviceSpec


class ClusterSpec:
    """TF1 `tf.train.ClusterSpec`: {job name: [task addresses]} (dict or list per job)."""

    def __init__(self, cluster):
        if isinstance(cluster, ClusterSpec):
            cluster = cluster.as_dict()
        self._jobs = {}
        for job, tasks in dict(cluster).items():
            if isinstance(tasks, dict):
                self._jobs[job] = {int(k): v for k, v in tasks.items()}
            else:
                self._jobs[job] = dict(enumerate(tasks))

    @property
    def jobs(self):
        return sorted(self._jobs)

    def num_tasks(self, job_name):
        if job_name not in self._jobs:
            raise ValueError("No such job in cluster: %r" % job_name)
        return len(self._jobs[job_name])

    def task_indices(self, job_name):
        if job_name not in self._jobs:
            raise ValueError("No such job in cluster: %r" % job_name)
        return sorted(self._jobs[job_name])

    def task_address(self, job_name, task_index):
        try:
            return self._jobs[job_name][task_index]
        except KeyError:
            raise ValueError("No task %r in job %r" % (task_index, job_name)) from None

    def job_tasks(self, job_name):
        tasks = self._jobs[job_name]
        return [tasks.get(i) for i in range(max(tasks) + 1)] if tasks else []

    def as_dict(self):
        return {job: self.job_tasks(job) for job in self.jobs}

    def as_cluster_def(self):
        return self.as_dict()

    def __eq__(self, other):
        return isinstance(other, ClusterSpec) and self.as_dict() == other.as_dict()

    def __bool__(self):
        return bool(self._jobs)

    def __repr__(self):
        return "ClusterSpec(%r)" % self.as_dict()


class JobCluster:
    """The layout of the running MPI job: which rank is which `/job:.../task:...`."""

    def __init__(self, size, num_ps=1, hosts=None):
        if size < 1:
            raise ValueError("A job has at least one rank, got %d" % size)
        if not 1 <= num_ps <= max(1, size):
            raise ValueError("--ps must be between 1 and the number of ranks (%d), got %d"
                             % (size, num_ps))
        self.size = size
        self.num_ps = num_ps if size > 1 else 1
        self.hosts = list(hosts) if hosts else ["localhost"] * size

    @property
    def ps_ranks(self):
        return list(range(self.num_ps))

    @property
    def worker_ranks(self):
        if self.size == 1:
            return [0]
        return list(range(self.num_ps, self.size))

    def cluster_spec(self):
        return ClusterSpec({
            "ps": ["%s:rank%d" % (self.hosts[r], r) for r in self.ps_ranks],
            "worker": ["%s:rank%d" % (self.hosts[r], r) for r in self.worker_ranks]})

    def device_name(self, rank, device_type="CPU", index=0):
        """The canonical device name of `rank`, e.g. /job:worker/replica:0/task:2/device:CPU:0."""
        if rank in self.ps_ranks and not (self.size == 1):
            job, task = "ps", rank
        elif self.size == 1:
            job, task = "worker", 0
        else:
            job, task = "worker", rank - self.num_ps
        return "/job:%s/replica:0/task:%d/device:%s:%d" % (job, task, device_type, index)

    def rank_of(self, device):
        """The rank a (possibly partial) device string names, or None if it names no job.

        Raises:
          ValueError: if the device names a job or task this cluster does not have.
        """
        spec = device if isinstance(device, DeviceSpec) else DeviceSpec.from_string(device or "")
        if spec.job is None:
            return None
        task = spec.task or 0
        if spec.job == "ps":
            if task < len(self.ps_ranks):
                return self.ps_ranks[task]
        elif spec.job == "worker":
            if task < len(self.worker_ranks):
                return self.worker_ranks[task]
        elif spec.job in ("localhost", "chief") and task == 0:
            return 0
        raise ValueError("Device %s does not exist in this job: the cluster is %s"
                         % (spec.to_string(), self.cluster_spec().as_dict()))

    def list_devices(self):
        return [self.device_name(r) for r in range(self.size)]
