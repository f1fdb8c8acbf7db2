"""The numpy stand-in device is as strict as CuPy about host and device memory, and the
re-bound numpy kernels (xp_adapt) dispatch each call to the right memory."""
import numpy as np
import pytest

from hpcflow.backends import xp_adapt
from hpcflow.devices import fake


@pytest.fixture
def xp():
    return fake.FakeArrayModule(0)


def test_creation_and_ufuncs_stay_on_the_device(xp):
    a = xp.arange(6, dtype=np.float32).reshape(2, 3)
    assert isinstance(a, fake.FakeDeviceArray)
    for value in (a + 1, np.exp(a), a.sum(axis=0), xp.matmul(a, a.T), np.concatenate([a, a]),
                  a[0, 1], a.max(), xp.where(a > 2, a, 0)):
        assert isinstance(value, fake.FakeDeviceArray), type(value)
    assert a[0, 1].shape == ()  # scalars come back as 0-d device arrays, as in CuPy
    np.testing.assert_array_equal(a.get(), np.arange(6).reshape(2, 3))


def test_mixing_host_and_device_arrays_fails_like_cupy(xp):
    a = xp.ones(3)
    host = np.ones(3)
    for call in (lambda: a + host, lambda: np.add(host, a), lambda: xp.maximum(a, host),
                 lambda: xp.concatenate([a, host]), lambda: a[np.array([0, 1])],
                 lambda: a.__setitem__(slice(None), host), lambda: xp.sum(host)):
        with pytest.raises(fake.HostDeviceMixError, match="Unsupported type"):
            call()
    # Python and numpy scalars are fine, as in CuPy.
    assert float((a * 2.0 + np.float32(1))[0]) == 3.0


def test_uploads_and_downloads_copy(xp):
    host = np.arange(4.0)
    dev = xp.asarray(host)
    host[0] = 99
    assert float(dev[0]) == 0.0  # asarray of host data is an upload: a copy
    assert xp.asarray(dev) is dev
    back = fake.asnumpy(dev)
    assert type(back) is np.ndarray
    back[1] = 7
    assert float(dev[1]) == 1.0
    out = np.empty(4)
    assert dev.get(out=out) is out
    with pytest.raises(fake.HostDeviceMixError):
        dev.get(out=xp.empty(4))
    target = xp.zeros(4)
    target.set(np.ones(4))
    assert float(target.sum()) == 4.0


def test_every_name_looked_up_is_recorded(xp):
    fake.ACCESSED_NAMES.discard("cumsum")
    xp.cumsum(xp.ones(3))
    xp.add.at(xp.zeros(3), xp.asarray([0, 0]), 1.0)
    xp.linalg.inv(xp.eye(2))
    assert {"cumsum", "add.at", "linalg.inv"} <= fake.ACCESSED_NAMES


def test_dispatch_namespace_routes_calls_by_memory(xp):
    np_ = xp_adapt.DispatchNamespace(xp)
    dev = xp.ones((2, 2))
    host = np.ones((2, 2))
    assert isinstance(np_.maximum(dev, 0), fake.FakeDeviceArray)
    assert type(np_.maximum(host, 0)) is np.ndarray            # host operands: numpy
    assert isinstance(np_.zeros((2, 3)), fake.FakeDeviceArray)  # created: device memory
    assert not isinstance(np_.prod((2, 3)), fake.FakeDeviceArray)  # Python data: host math
    assert isinstance(np_.add.at, xp_adapt._DispatchFunction)
    assert np_.float32 is np.float32 and np_.newaxis is None
    assert isinstance(dev, np_.ndarray) and isinstance(host, np_.ndarray)
    with pytest.raises(fake.HostDeviceMixError):
        np_.matmul(dev, host)


def test_adapt_rebinds_a_kernel_and_its_module_helpers(xp):
    from hpcflow.ops import nn_ops
    kernel = xp_adapt.adapt(nn_ops._softmax_kernel, xp)
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1000.0]])
    got = kernel(xp.asarray(logits))
    assert isinstance(got, fake.FakeDeviceArray)
    np.testing.assert_allclose(got.get(), nn_ops._softmax_kernel(logits))
    assert xp_adapt.adapt(np.isfinite, xp) is np.isfinite  # ufuncs dispatch by themselves
