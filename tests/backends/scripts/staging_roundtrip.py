"""Sends stand-in GPU tensors around a ring of ranks with the GPU transport functions
(Transport.send_tensor / recv_tensor with a device) and checks what arrives, in device memory."""
import sys

import numpy as np
from mpi4py import MPI

from hpcflow.devices import device as device_lib
from hpcflow.devices import staging
from hpcflow.distributed.transport import Transport

comm = MPI.COMM_WORLD
transport = Transport(comm)
rank, size = comm.Get_rank(), comm.Get_size()
gpu = device_lib.get_gpu(0)
assert gpu is not None, device_lib.why_no_gpu()
ok = True
for step, dtype in enumerate((np.float32, np.float64, np.int64)):
    value = (np.arange(12, dtype=dtype).reshape(3, 4) + rank * 100)
    tag = transport.edge_tag(7, step)
    transport.send_tensor(gpu.to_device(value), (rank + 1) % size, tag, device=gpu)
    got = transport.recv_tensor((rank - 1) % size, tag, "ring %d" % step, device=gpu)
    transport.flush()
    expected = np.arange(12, dtype=dtype).reshape(3, 4) + ((rank - 1) % size) * 100
    ok &= gpu.is_array(got) and got.dtype == dtype and bool((gpu.to_host(got) == expected).all())
results = comm.gather(ok, root=0)
if rank == 0:
    print("mode:", "cuda-aware" if staging.cuda_aware_mpi() else "staged", results)
    sys.exit(0 if all(results) else 1)
