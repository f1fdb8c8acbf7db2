"""A rank's GPU:k is chosen by local rank within CUDA_VISIBLE_DEVICES; stand-in GPUs follow
the same rules; without CuPy or a GPU there are no GPUs and the reason is told."""
import numpy as np
import pytest

from hpcflow.devices import device as device_lib
from hpcflow.devices import fake, mapping

from .gpu_fixtures import fake_gpus  # noqa: F401 - fixture


@pytest.mark.parametrize("env,expected", [
    ({}, (0, 1, "single process")),
    ({"SLURM_LOCALID": "2", "SLURM_TASKS_PER_NODE": "4"}, (2, 4, "SLURM_LOCALID")),
    ({"SLURM_LOCALID": "1", "SLURM_TASKS_PER_NODE": "2(x3),1", "SLURM_NODEID": "3"},
     (1, 2, "SLURM_LOCALID")),
    ({"OMPI_COMM_WORLD_LOCAL_RANK": "3", "OMPI_COMM_WORLD_LOCAL_SIZE": "8"},
     (3, 8, "OMPI_COMM_WORLD_LOCAL_RANK")),
    ({"MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"}, (1, 2, "MPI_LOCALRANKID")),
    ({"MPI_LOCALRANKID": "5"}, (5, 6, "MPI_LOCALRANKID")),
])
def test_local_rank_from_the_launcher(env, expected):
    assert mapping.local_rank_and_size(env) == expected


@pytest.mark.parametrize("value,count,expected", [
    (None, 4, ["0", "1", "2", "3"]), ("2,3", 4, ["2", "3"]), ("", 4, []), ("-1", 4, []),
    ("1,7,2", 4, ["1"]), ("GPU-aa,GPU-bb", None, ["GPU-aa", "GPU-bb"]), ("0, 2", 4, ["0", "2"]),
])
def test_cuda_visible_devices(value, count, expected):
    env = {} if value is None else {"CUDA_VISIBLE_DEVICES": value}
    assert mapping.visible_device_ids(env, count) == expected


def test_gpus_are_shared_out_by_local_rank():
    # 4 GPUs, 4 ranks on the node: one each.
    assert [mapping.device_for(0, r, mapping.gpus_per_rank(4, 4, {}), 4) for r in range(4)] == \
        [0, 1, 2, 3]
    # 4 GPUs, 2 ranks: two each, GPU:1 of rank 1 is device 3.
    per_rank = mapping.gpus_per_rank(4, 2, {})
    assert per_rank == 2 and mapping.device_for(1, 1, per_rank, 4) == 3
    assert mapping.device_for(2, 1, per_rank, 4) is None  # no GPU:2
    # 1 GPU per task (Slurm binding): every rank's GPU:0 is its one visible device.
    assert mapping.device_for(0, 5, mapping.gpus_per_rank(1, 8, {}), 1) == 0
    assert mapping.gpus_per_rank(0, 1, {}) == 0
    assert mapping.gpus_per_rank(8, 1, {"HPCFLOW_GPUS_PER_RANK": "2"}) == 2
    with pytest.raises(ValueError, match="HPCFLOW_GPUS_PER_RANK"):
        mapping.gpus_per_rank(8, 1, {"HPCFLOW_GPUS_PER_RANK": "-1"})


def test_stand_in_gpus_follow_the_same_rules(fake_gpus):
    gpus = fake_gpus(4, MPI_LOCALRANKID=1, MPI_LOCALNRANKS=2)
    assert [(g.index, g.ordinal, g.physical_id, g.kind) for g in gpus] == \
        [(0, 2, "2", "fake"), (1, 3, "3", "fake")]
    assert device_lib.get_gpu(1) is gpus[1] and device_lib.get_gpu(2) is None
    assert "4 stand-in GPU(s)" in device_lib.why_no_gpu()
    gpus = fake_gpus(4, CUDA_VISIBLE_DEVICES="3,1", SLURM_LOCALID=1, SLURM_TASKS_PER_NODE=2)
    assert [(g.index, g.physical_id) for g in gpus] == [(0, "1")]
    assert fake_gpus(2, CUDA_VISIBLE_DEVICES="") == []


def test_stand_in_copies_between_host_and_devices(fake_gpus):
    first, second = fake_gpus(2, HPCFLOW_GPUS_PER_RANK=2)
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    on_first = first.to_device(host)
    assert first.is_array(on_first) and not second.is_array(on_first)
    assert device_lib.is_device_array(on_first) and not device_lib.is_device_array(host)
    assert device_lib.device_of_array(on_first) is first
    on_second = second.from_other_device(on_first)
    assert second.is_array(on_second)
    back = second.to_host(on_second)
    assert type(back) is np.ndarray
    np.testing.assert_array_equal(back, host)
    with pytest.raises(fake.HostDeviceMixError):
        first.to_device(on_first)


def test_bad_stand_in_setting(monkeypatch):
    monkeypatch.setenv("HPCFLOW_FAKE_GPU", "many")
    device_lib.reset()
    with pytest.raises(ValueError, match="HPCFLOW_FAKE_GPU"):
        device_lib.gpus()
    device_lib.reset()


def test_no_cupy_or_no_driver_means_no_gpu(monkeypatch):
    monkeypatch.delenv("HPCFLOW_FAKE_GPU", raising=False)
    monkeypatch.setattr(device_lib, "import_cupy", lambda: None)
    device_lib.reset()
    assert device_lib.gpus() == [] and device_lib.why_no_gpu() == "CuPy is not installed"
    device_lib.reset()
    cupy = device_lib.__dict__["import_cupy"]
    monkeypatch.undo()
    if device_lib.import_cupy() is not None:  # installed here, no GPU or driver
        monkeypatch.delenv("HPCFLOW_FAKE_GPU", raising=False)
        device_lib.reset()
        assert device_lib.gpus() == []
        assert "sees no usable GPU" in device_lib.why_no_gpu()
    del cupy
    device_lib.reset()


def test_notices_are_printed_once(capsys):
    device_lib.reset()
    device_lib.notice("something happened")
    device_lib.notice("something happened")
    assert capsys.readouterr().err == "hpcflow: something happened\n"


def test_describe_for_info(fake_gpus):
    from hpcflow.devices import describe
    fake_gpus(2, HPCFLOW_GPUS_PER_RANK=1)
    text = describe()
    assert "GPU:0 -> device 0" in text and "stand-in" in text and "staged" in text


@pytest.mark.parametrize("cuda_aware", ["0", "1"])
def test_mpi_buffers_of_gpu_tensors(fake_gpus, monkeypatch, cuda_aware):
    from hpcflow.devices import staging
    gpu, = fake_gpus(1)
    monkeypatch.setenv("HPCFLOW_CUDA_AWARE_MPI", cuda_aware)
    value = gpu.to_device(np.arange(6.0).reshape(2, 3))[:, ::2]  # not contiguous
    buffer = staging.send_buffer(value, gpu)
    assert buffer.flags.c_contiguous and buffer.shape == (2, 2)
    # CUDA-aware MPI takes the device buffer; otherwise a pinned host copy goes to MPI.
    assert gpu.is_array(buffer) == (cuda_aware == "1")
    scalar = staging.send_buffer(gpu.to_device(np.float32(2.5)), gpu)
    assert scalar.shape == ()
    incoming = staging.recv_buffer((2, 2), np.float64, gpu)
    assert gpu.is_array(incoming) == (cuda_aware == "1")
    incoming[...] = buffer
    received = staging.finish_recv(incoming, gpu)
    assert gpu.is_array(received)
    np.testing.assert_array_equal(gpu.to_host(received), [[0, 2], [3, 5]])
    host = staging.send_buffer(np.ones((2, 2)).T, None)
    assert type(host) is np.ndarray and host.flags.c_contiguous
    assert staging.finish_recv(np.ones(2), None).shape == (2,)


def test_tf1_gpu_queries(fake_gpus):
    from hpcflow import devices
    fake_gpus(1)
    assert devices.is_gpu_available() and devices.gpu_device_name() == "/device:GPU:0"
    assert not devices.is_gpu_available(cuda_only=True)  # the stand-in is not CUDA
    fake_gpus(0)
    assert not devices.is_gpu_available() and devices.gpu_device_name() == ""


class _MockCupy:
    """Enough of CuPy's API, over the stand-in array module, to drive CupyGpu's code."""

    def __init__(self):
        import contextlib
        self._xp = fake.FakeArrayModule(1)
        self.ndarray = fake.FakeDeviceArray
        self.synchronized = 0
        mock = self

        class _Stream:
            def synchronize(self):
                mock.synchronized += 1

        class _Cuda:
            @staticmethod
            def Device(ordinal):  # noqa: N802 - CuPy's name
                assert ordinal == 1
                return contextlib.nullcontext()

            @staticmethod
            def get_current_stream():
                return _Stream()
        self.cuda = _Cuda()

    def __getattr__(self, name):
        return getattr(self._xp, name)


def test_the_cupy_device_class_on_a_mock_cupy():
    mock = _MockCupy()
    gpu = device_lib.CupyGpu(0, 1, "7", mock)
    assert gpu.name == "/device:GPU:0" and gpu.kind == "cupy" and "device 7" in repr(gpu)
    value = gpu.to_device(np.arange(4.0))
    assert gpu.is_array(value) and value.device.id == 1
    assert not gpu.is_array(np.arange(4.0))
    other = fake.to_device(np.ones(3), device_id=1)[::2]  # not contiguous
    copied = gpu.from_other_device(other)
    np.testing.assert_array_equal(gpu.to_host(copied), [1.0, 1.0])
    gpu.synchronize()
    assert mock.synchronized == 1
    with gpu.activate():
        pass
