"""Which physical GPU a rank's `GPU:k` is: by local rank, within CUDA_VISIBLE_DEVICES.

HPC jobs run one rank per GPU. A rank learns its place on its node from the launcher
(`OMPI_COMM_WORLD_LOCAL_RANK` under Open MPI, `MPI_LOCALRANKID` under MPICH's hydra,
`MV2_COMM_WORLD_LOCAL_RANK` under MVAPICH, `PALS_LOCAL_RANKID` under Cray PALS,
`SLURM_LOCALID` under srun) or, failing that, from an MPI shared-memory split of COMM_WORLD. The GPUs it may
use are the ones the CUDA runtime shows it: CUDA_VISIBLE_DEVICES already renumbers them from
0, so a scheduler that binds one GPU per task (`--gpus-per-task=1`) makes every rank's
GPU:0 its own GPU, and a node whose ranks all see all GPUs is shared out by local rank.

    gpus_per_rank = HPCFLOW_GPUS_PER_RANK, else max(1, visible // ranks on this node)
    GPU:k of a rank  ->  visible device (local_rank * gpus_per_rank + k) % visible,
                         for k < gpus_per_rank
"""
import os

# In the order they are trusted: the MPI launchers' own first, since under mpiexec inside a
# Slurm job every rank inherits the batch step's SLURM_LOCALID=0 (measured); SLURM_LOCALID
# is right only for tasks that srun started itself.
LOCAL_RANK_VARIABLES = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                        "MV2_COMM_WORLD_LOCAL_RANK", "PALS_LOCAL_RANKID", "PMI_LOCAL_RANK",
                        "SLURM_LOCALID")
LOCAL_SIZE_VARIABLES = ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS",
                        "MV2_COMM_WORLD_LOCAL_SIZE", "PALS_LOCAL_SIZE", "PMI_LOCAL_SIZE")


def _int_from(env, names):
    for name in names:
        value = env.get(name)
        if value not in (None, ""):
            try:
                return int(value), name
            except ValueError:
                continue
    return None, None


def _slurm_tasks_on_node(env):
    """Tasks on this node from SLURM_TASKS_PER_NODE ('4', '2(x3),1') and SLURM_NODEID."""
    spec = env.get("SLURM_TASKS_PER_NODE")
    if not spec:
        return None
    counts = []
    for part in spec.split(","):
        if "(x" in part:
            count, repeat = part.rstrip(")").split("(x")
            counts.extend([int(count)] * int(repeat))
        else:
            counts.append(int(part))
    node = int(env.get("SLURM_NODEID", "0") or 0)
    return counts[node] if node < len(counts) else counts[-1]


def local_rank_and_size(env=None, comm=None):
    """(local rank, ranks on this node, where it came from) for this process.

    Args:
      env: the environment mapping (default os.environ).
      comm: an mpi4py communicator to split by shared memory when no launcher variable
        tells (None: assume a single rank on the node).
    """
    env = os.environ if env is None else env
    rank, source = _int_from(env, LOCAL_RANK_VARIABLES)
    size, _ = _int_from(env, LOCAL_SIZE_VARIABLES)
    if size is None and source == "SLURM_LOCALID":
        size = _slurm_tasks_on_node(env)
    if rank is None and comm is not None:
        from mpi4py import MPI
        local = comm.Split_type(MPI.COMM_TYPE_SHARED)
        rank, size, source = local.Get_rank(), local.Get_size(), "MPI shared-memory split"
        local.Free()
    if rank is None:
        return 0, 1, "single process"
    return rank, max(size or 1, rank + 1), source


def visible_device_ids(env=None, physical_count=None):
    """The physical GPU ids this process may use, in CUDA's order, as strings.

    CUDA_VISIBLE_DEVICES lists ids or UUIDs; an empty value or '-1' hides every GPU; the
    list stops at the first invalid entry, as the CUDA runtime does. Without the variable
    all `physical_count` GPUs are visible.
    """
    env = os.environ if env is None else env
    value = env.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return [str(i) for i in range(physical_count or 0)]
    ids = []
    for item in value.split(","):
        item = item.strip()
        if not item or item.startswith("-"):
            break
        if item.isdigit() and physical_count is not None and int(item) >= physical_count:
            break
        ids.append(item)
    return ids


def gpus_per_rank(num_visible, local_size, env=None):
    """How many GPUs (GPU:0..n-1) each rank of a node gets."""
    env = os.environ if env is None else env
    forced = env.get("HPCFLOW_GPUS_PER_RANK")
    if forced:
        count = int(forced)
        if count < 0:
            raise ValueError("HPCFLOW_GPUS_PER_RANK must be >= 0, got %r" % forced)
        return min(count, num_visible)
    if num_visible == 0:
        return 0
    return max(1, num_visible // max(1, local_size))


def device_for(logical_index, local_rank, per_rank, num_visible):
    """The visible-device ordinal of a rank's GPU:`logical_index`, or None if it has none."""
    if logical_index < 0 or logical_index >= per_rank or num_visible == 0:
        return None
    return (local_rank * per_rank + logical_index) % num_visible
