"""Queues (FIFO, RandomShuffle, Padding), queue runners, the coordinator and train.batch."""
import re
import threading
import time

import numpy as np
import pytest

import hpcflow as tf
from hpcflow.framework import registry
from hpcflow.ops import data_flow_ops
from hpcflow.ops.data_flow_ops import FIFOQueue, PaddingFIFOQueue, RandomShuffleQueue
from hpcflow.train import input as input_lib
from hpcflow.train.coordinator import Coordinator, LooperThread
from hpcflow.train.queue_runner import QueueRunner, add_queue_runner, start_queue_runners


def _timeout_session(ms=150):
    return tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=ms))


def _thread(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


# -- graph construction -------------------------------------------------------------------------

def test_ops_names_dtypes_and_static_shapes():
    q = FIFOQueue(3, [tf.float32, tf.int32], shapes=[[2], []])
    assert q.name == "fifo_queue" and q.queue_ref.op.type == "FIFOQueueV2"
    assert q.queue_ref.dtype == tf.variant and q.dtypes == [tf.float32, tf.int32]
    assert q.shapes == [tf.TensorShape([2]), tf.TensorShape([])] and q.names is None
    assert q.enqueue([[1.0, 2.0], 3]).name == "fifo_queue_enqueue"
    em = q.enqueue_many([[[1.0, 2.0]], [3]])
    assert (em.name, em.type) == ("fifo_queue_EnqueueMany", "QueueEnqueueManyV2")
    d = q.dequeue()
    assert [t.name for t in d] == ["fifo_queue_Dequeue:0", "fifo_queue_Dequeue:1"]
    assert [t.shape.as_list() for t in d] == [[2], []]
    assert [t.dtype for t in d] == [tf.float32, tf.int32]
    dm = q.dequeue_many(4)
    assert dm[0].name == "fifo_queue_DequeueMany:0"
    assert [t.shape.as_list() for t in dm] == [[4, 2], [4]]
    du = q.dequeue_up_to(4)
    assert [t.shape.as_list() for t in du] == [[None, 2], [None]]
    size, closed = q.size(), q.is_closed()
    assert (size.name, size.dtype, size.shape.as_list()) == ("fifo_queue_Size:0", tf.int32, [])
    assert (closed.name, closed.dtype) == ("fifo_queue_Is_Closed:0", tf.bool)
    close = q.close()
    assert (close.name, close.type) == ("fifo_queue_Close", "QueueCloseV2")
    assert not close.get_attr("cancel_pending_enqueues")
    assert q.close(cancel_pending_enqueues=True).get_attr("cancel_pending_enqueues")


def test_single_component_returns_a_tensor_and_unknown_shapes():
    q = FIFOQueue(3, tf.float32)
    d = q.dequeue()
    assert isinstance(d, tf.Tensor) and d.name == "fifo_queue_Dequeue:0"
    assert d.shape.ndims is None and q.shapes[0].ndims is None
    q2 = FIFOQueue(3, tf.float32, name="second")
    assert q2.dequeue().name == "second_Dequeue:0"


def test_named_components_are_dicts():
    q = FIFOQueue(4, [tf.float32, tf.int32], shapes=[[], []], names=["x", "y"])
    out = q.dequeue()
    assert sorted(out) == ["x", "y"] and out["y"].dtype == tf.int32
    with pytest.raises(ValueError, match="must enqueue a dictionary"):
        q.enqueue([1.0, 2])
    with pytest.raises(ValueError, match="do not match names"):
        q.enqueue({"x": 1.0, "z": 2})
    with pytest.raises(ValueError, match="must have names"):
        FIFOQueue(4, tf.float32).enqueue({"x": 1.0})
    with tf.Session() as sess:
        sess.run(q.enqueue({"y": 7, "x": 1.5}))
        got = sess.run(out)
    assert got == {"x": 1.5, "y": 7}


def test_build_time_errors():
    with pytest.raises(ValueError, match="fully defined"):
        FIFOQueue(3, tf.float32, shapes=[[None]])
    with pytest.raises(ValueError, match="same length as dtypes"):
        FIFOQueue(3, [tf.float32, tf.int32], shapes=[[2]])
    with pytest.raises(ValueError, match="names must have the same length"):
        FIFOQueue(3, [tf.float32], names=["a", "b"])
    with pytest.raises(ValueError, match="list of shapes must be provided"):
        PaddingFIFOQueue(3, tf.float32, shapes=None)
    q = FIFOQueue(3, tf.float32, shapes=[[2]])
    with pytest.raises(ValueError, match=r"Shapes \(3,\) and \(2,\) are incompatible"):
        q.enqueue([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="rank at least 1"):
        FIFOQueue(3, tf.float32).enqueue_many([1.0])
    with pytest.raises(TypeError):
        q.enqueue([["a", "b"]])


# -- running --------------------------------------------------------------------------------

def test_fifo_order_enqueue_many_dequeue_many_and_size():
    q = FIFOQueue(10, [tf.float32, tf.int64], shapes=[[2], []])
    data = np.arange(8, dtype=np.float32).reshape(4, 2)
    with tf.Session() as sess:
        sess.run(q.enqueue_many([data, np.arange(4)]))
        sess.run(q.enqueue([[9.0, 9.5], 10]))
        assert sess.run(q.size()) == 5
        x, y = sess.run(q.dequeue())
        np.testing.assert_array_equal(x, [0.0, 1.0])
        assert x.dtype == np.float32 and y == 0 and y.dtype == np.int64
        xs, ys = sess.run(q.dequeue_many(3))
        np.testing.assert_array_equal(xs, data[1:])
        assert xs.dtype == np.float32 and xs.shape == (3, 2)
        np.testing.assert_array_equal(ys, [1, 2, 3])
        assert ys.dtype == np.int64
        xs, ys = sess.run(q.dequeue_many(0))
        assert xs.shape == (0, 2) and ys.shape == (0,) and xs.dtype == np.float32
        assert sess.run(q.size()) == 1 and not sess.run(q.is_closed())


def test_string_and_scalar_components():
    q = FIFOQueue(5, [tf.string, tf.bool], shapes=[[], []])
    with tf.Session() as sess:
        sess.run(q.enqueue_many([["a", "bc", ""], [True, False, True]]))
        s, b = sess.run(q.dequeue())
        assert s == b"a" and b == np.True_
        strings, bools = sess.run(q.dequeue_many(2))
    assert list(strings) == [b"bc", b""] and bools.dtype == np.bool_


def test_closed_queue_errors_match_tensorflow():
    q = FIFOQueue(3, tf.float32)
    with tf.Session() as sess:
        sess.run(q.close())
        assert sess.run(q.is_closed())
        with pytest.raises(tf.errors.OutOfRangeError) as info:
            sess.run(q.dequeue())
        assert re.match(r"FIFOQueue '_\d+_fifo_queue' is closed and has insufficient elements "
                        r"\(requested 1, current size 0\)", info.value.message)
        assert "fifo_queue_Dequeue" in info.value.message
        with pytest.raises(tf.errors.CancelledError, match=r"FIFOQueue '_\d+_fifo_queue' is "
                                                           r"closed\."):
            sess.run(q.enqueue(1.0))


def test_dequeue_many_insufficient_keeps_elements_and_up_to_drains():
    q = FIFOQueue(5, tf.int32, shapes=[[]])
    with tf.Session() as sess:
        sess.run(q.enqueue_many([[1, 2, 3]]))
        sess.run(q.close())
        with pytest.raises(tf.errors.OutOfRangeError, match=r"requested 4, current size 3"):
            sess.run(q.dequeue_many(4))
        assert sess.run(q.size()) == 3
        np.testing.assert_array_equal(sess.run(q.dequeue_up_to(2)), [1, 2])
        np.testing.assert_array_equal(sess.run(q.dequeue_up_to(2)), [3])
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(q.dequeue_up_to(2))


def test_runtime_shape_mismatch_names_queue_and_op():
    q = FIFOQueue(2, tf.float32, shapes=[[2]], name="qq")
    p = tf.placeholder(tf.float32)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(q.enqueue([p]), {p: [1.0, 2.0, 3.0]})
        message = info.value.message
        assert "Shape mismatch in tuple component 0. Expected [2], got [3]" in message
        assert "qq" in message and "qq_enqueue" in message
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected \[1,2\], got \[1,3\]"):
            sess.run(q.enqueue_many([p]), {p: [[1.0, 2.0, 3.0]]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="rank >= 1"):
            sess.run(q.enqueue_many([p]), {p: 1.0})


def test_unknown_shape_queue_refuses_dequeue_many():
    q = FIFOQueue(2, tf.float32)
    with tf.Session() as sess:
        sess.run(q.enqueue(1.0))
        with pytest.raises(tf.errors.InvalidArgumentError, match="require the components to "
                                                                 "have specified shapes"):
            sess.run(q.dequeue_many(1))


def test_enqueued_feed_is_copied():
    q = FIFOQueue(2, tf.float32, shapes=[[3]])
    p = tf.placeholder(tf.float32, [3])
    value = np.array([1.0, 2.0, 3.0], np.float32)
    with tf.Session() as sess:
        sess.run(q.enqueue([p]), {p: value})
        value[:] = -1.0
        np.testing.assert_array_equal(sess.run(q.dequeue()), [1.0, 2.0, 3.0])


def test_sessions_have_separate_queues_and_shared_name_shares():
    q = FIFOQueue(3, tf.float32, shapes=[[]])
    a = FIFOQueue(3, tf.float32, shapes=[[]], shared_name="common")
    b = FIFOQueue(3, tf.float32, shapes=[[]], shared_name="common", name="other")
    with tf.Session() as one, tf.Session() as two:
        one.run(q.enqueue(1.0))
        assert one.run(q.size()) == 1 and two.run(q.size()) == 0
        one.run(a.enqueue(5.0))
        assert one.run(b.dequeue()) == 5.0
    c = FIFOQueue(3, tf.int32, shapes=[[]], shared_name="common", name="clash")
    with tf.Session() as sess:
        sess.run(a.size())
        with pytest.raises(tf.errors.InvalidArgumentError, match="Shared queue 'common'"):
            sess.run(c.size())


# -- blocking, threads and timeouts ---------------------------------------------------------------

def test_dequeue_on_empty_queue_times_out():
    q = FIFOQueue(2, tf.float32)
    with _timeout_session() as sess:
        start = time.monotonic()
        with pytest.raises(tf.errors.DeadlineExceededError,
                           match="Timed out waiting for notification"):
            sess.run(q.dequeue())
        assert time.monotonic() - start >= 0.14


def test_capacity_blocks_enqueue_until_timeout():
    q = FIFOQueue(2, tf.float32, shapes=[[]])
    with _timeout_session() as sess:
        sess.run(q.enqueue_many([[1.0, 2.0]]))
        with pytest.raises(tf.errors.DeadlineExceededError):
            sess.run(q.enqueue(3.0))
        assert sess.run(q.size()) == 2


def test_blocked_enqueue_completes_after_dequeue():
    q = FIFOQueue(1, tf.float32, shapes=[[]])
    enqueue = q.enqueue(tf.placeholder_with_default(2.0, []))
    with tf.Session() as sess:
        sess.run(q.enqueue(1.0))
        worker = _thread(sess.run, enqueue)
        time.sleep(0.05)
        assert worker.is_alive()  # blocked: the queue is full
        assert sess.run(q.dequeue()) == 1.0
        worker.join(5)
        assert not worker.is_alive()
        assert sess.run(q.dequeue()) == 2.0


def test_producer_thread_and_consumer_see_all_elements_in_order():
    q = FIFOQueue(3, tf.int32, shapes=[[]])
    p = tf.placeholder(tf.int32, [])
    enqueue = q.enqueue(p)
    with tf.Session() as sess:
        def produce():
            for i in range(50):
                sess.run(enqueue, {p: i})
            sess.run(q.close())
        worker = _thread(produce)
        got = []
        with pytest.raises(tf.errors.OutOfRangeError):
            while True:
                got.append(int(sess.run(q.dequeue())))
        worker.join(5)
    assert got == list(range(50))


def test_dequeue_many_larger_than_capacity_completes():
    q = FIFOQueue(2, tf.int32, shapes=[[]])
    with tf.Session() as sess:
        worker = _thread(sess.run, q.enqueue_many([np.arange(7, dtype=np.int32)]))
        np.testing.assert_array_equal(sess.run(q.dequeue_many(5)), np.arange(5))
        worker.join(5)
        np.testing.assert_array_equal(sess.run(q.dequeue_many(2)), [5, 6])


def test_close_wakes_blocked_dequeue_with_out_of_range():
    q = FIFOQueue(2, tf.float32)
    errors_seen = []
    with tf.Session() as sess:
        def consume():
            try:
                sess.run(q.dequeue())
            except tf.errors.OpError as e:
                errors_seen.append(e)
        worker = _thread(consume)
        time.sleep(0.05)
        sess.run(q.close())
        worker.join(5)
    assert len(errors_seen) == 1 and isinstance(errors_seen[0], tf.errors.OutOfRangeError)


def test_close_with_cancel_fails_pending_enqueue_and_plain_close_lets_it_finish():
    for cancel in (True, False):
        with tf.Graph().as_default():
            q = FIFOQueue(1, tf.float32, shapes=[[]])
            enqueue = q.enqueue(tf.placeholder_with_default(2.0, []))
            outcome = []
            with tf.Session() as sess:
                sess.run(q.enqueue(1.0))

                def produce():
                    try:
                        sess.run(enqueue)
                        outcome.append("done")
                    except tf.errors.CancelledError as e:
                        outcome.append(e)
                worker = _thread(produce)
                time.sleep(0.05)
                sess.run(q.close(cancel_pending_enqueues=cancel))
                if not cancel:
                    assert sess.run(q.dequeue()) == 1.0
                worker.join(5)
                if cancel:
                    assert isinstance(outcome[0], tf.errors.CancelledError)
                    assert "is closed" in outcome[0].message
                else:
                    assert outcome == ["done"] and sess.run(q.dequeue()) == 2.0


def test_session_close_unblocks_waiting_thread():
    q = FIFOQueue(1, tf.float32)
    outcome = []
    sess = tf.Session()

    def consume():
        try:
            sess.run(q.dequeue())
        except Exception as e:  # noqa: BLE001 - any error is what we wait for
            outcome.append(e)
    worker = _thread(consume)
    time.sleep(0.05)
    sess.close()
    worker.join(5)
    assert not worker.is_alive() and isinstance(outcome[0], tf.errors.CancelledError)


def test_dequeue_inside_control_flow_bodies():
    from hpcflow.ops import control_flow_ops
    q = FIFOQueue(10, tf.float32, shapes=[[]])
    fill = q.enqueue_many([[1.0, 2.0, 3.0, 4.0]])
    _, total = control_flow_ops.while_loop(
        lambda i, acc: i < 3, lambda i, acc: (i + 1, acc + q.dequeue()),
        [tf.constant(0), tf.constant(0.0)])
    taken = control_flow_ops.cond(tf.constant(True), q.dequeue, lambda: tf.constant(-1.0))
    with tf.Session() as sess:
        sess.run(fill)
        assert sess.run(total) == 6.0  # one dequeue per iteration: 1 + 2 + 3
        assert sess.run(taken) == 4.0 and sess.run(q.size()) == 0


# -- RandomShuffleQueue and PaddingFIFOQueue ------------------------------------------------------

def test_random_shuffle_queue_permutes_and_respects_min_after_dequeue():
    q = RandomShuffleQueue(20, 5, tf.int32, shapes=[[]], seed=3)
    assert q.queue_ref.op.type == "RandomShuffleQueueV2"
    with _timeout_session() as sess:
        sess.run(q.enqueue_many([np.arange(10, dtype=np.int32)]))
        first = sess.run(q.dequeue_many(5))
        with pytest.raises(tf.errors.DeadlineExceededError):
            sess.run(q.dequeue())  # only min_after_dequeue elements left
        sess.run(q.close())
        rest = sess.run(q.dequeue_many(5))  # closed: drains below min_after_dequeue
        with pytest.raises(tf.errors.OutOfRangeError,
                           match=r"RandomShuffleQueue '_\d+_random_shuffle_queue' is closed"):
            sess.run(q.dequeue())
    order = np.concatenate([first, rest])
    assert sorted(order) == list(range(10)) and list(order) != list(range(10))
    assert order.dtype == np.int32


def test_random_shuffle_queue_seeded_order_repeats_across_sessions():
    from hpcflow.ops import random_ops
    random_ops.set_random_seed(11)
    q = RandomShuffleQueue(30, 0, tf.int32, shapes=[[]], seed=5)
    orders = []
    for _ in range(2):
        with tf.Session() as sess:
            sess.run(q.enqueue_many([np.arange(20, dtype=np.int32)]))
            orders.append(list(sess.run(q.dequeue_many(20))))
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(20))


def test_random_shuffle_queue_capacity_check():
    q = RandomShuffleQueue(3, 3, tf.int32, shapes=[[]])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match="min_after_dequeue 3 must be < capacity 3"):
            sess.run(q.size())


def test_padding_fifo_queue_pads_batches():
    q = PaddingFIFOQueue(5, [tf.int32, tf.string], shapes=[[None, 2], [None]])
    d = q.dequeue_many(2)
    assert [t.shape.as_list() for t in d] == [[2, None, 2], [2, None]]
    p = tf.placeholder(tf.int32)
    s = tf.placeholder(tf.string)
    enqueue = q.enqueue([p, s])
    with tf.Session() as sess:
        sess.run(enqueue, {p: [[1, 2]], s: ["a"]})
        sess.run(enqueue, {p: [[3, 4], [5, 6], [7, 8]], s: ["b", "c"]})
        ints, strings = sess.run(d)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Expected \\[\\?,2\\], got "
                                                                 "\\[1,3\\]"):
            sess.run(enqueue, {p: [[1, 2, 3]], s: ["a"]})
    expected = np.zeros((2, 3, 2), np.int32)
    expected[0, 0] = [1, 2]
    expected[1] = [[3, 4], [5, 6], [7, 8]]
    np.testing.assert_array_equal(ints, expected)
    assert ints.dtype == np.int32
    assert strings.tolist() == [[b"a", b""], [b"b", b"c"]]


# -- Coordinator ----------------------------------------------------------------------------------

def test_coordinator_stop_and_join_reraises_first_exception():
    coord = Coordinator()
    assert not coord.should_stop()

    def worker(n):
        with coord.stop_on_exception():
            if n == 1:
                raise ValueError("worker %d failed" % n)
            while not coord.should_stop():
                time.sleep(0.005)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    with pytest.raises(ValueError, match="worker 1 failed"):
        coord.join(threads)
    assert coord.should_stop() and coord.joined
    with pytest.raises(ValueError, match="worker 1 failed"):
        coord.raise_requested_exception()
    coord.clear_stop()
    assert not coord.should_stop() and not coord.joined
    coord.raise_requested_exception()  # cleared: nothing to raise


def test_coordinator_clean_stop_exceptions_and_stragglers():
    coord = Coordinator()
    coord.request_stop(tf.errors.OutOfRangeError(None, None, "done"))
    assert coord.should_stop()
    coord.join([])  # OutOfRangeError is a clean stop: not re-raised
    coord = Coordinator()
    stuck = threading.Event()
    t = threading.Thread(target=stuck.wait, args=(5,), name="stuck", daemon=True)
    t.start()
    coord.request_stop()
    with pytest.raises(RuntimeError, match="threads still running: stuck"):
        coord.join([t], stop_grace_period_secs=0.01)
    stuck.set()
    with pytest.raises(RuntimeError, match="boom"):
        try:
            raise RuntimeError("boom")
        except RuntimeError as e:
            coord.request_stop(e)  # after join: raised right away


def test_looper_thread_runs_until_stop():
    coord = Coordinator()
    calls = []
    looper = LooperThread.loop(coord, 0.001, target=calls.append, args=(1,))
    while len(calls) < 3:
        time.sleep(0.001)
    coord.request_stop()
    coord.join([looper])
    assert len(calls) >= 3 and not looper.is_alive()
    with pytest.raises(ValueError, match="Coordinator"):
        LooperThread(object(), 1.0)


# -- QueueRunner and the input pipeline -----------------------------------------------------------

def test_queue_runner_fills_queue_and_closes_when_input_exhausted():
    source = FIFOQueue(10, tf.int32, shapes=[[]])
    target = FIFOQueue(4, tf.int32, shapes=[[]])
    qr = QueueRunner(target, [target.enqueue(source.dequeue())])
    assert qr.name == target.name and qr.queue is target
    assert qr.queue_closed_exception_types == (tf.errors.OutOfRangeError,)
    add_queue_runner(qr)
    assert tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS) == [qr]
    with tf.Session() as sess:
        sess.run(source.enqueue_many([np.arange(6, dtype=np.int32)]))
        sess.run(source.close())
        coord = Coordinator()
        threads = start_queue_runners(sess, coord)
        assert len(threads) == 2 and all(t.daemon for t in threads)
        got = []
        with pytest.raises(tf.errors.OutOfRangeError):
            while True:
                got.append(int(sess.run(target.dequeue())))
        coord.request_stop()
        coord.join(threads)
    assert got == list(range(6))


def test_queue_runner_reports_errors_and_rejects_bad_arguments():
    q = FIFOQueue(4, tf.float32, shapes=[[]])
    p = tf.placeholder(tf.float32, [])
    qr = QueueRunner(q, [q.enqueue(p)])  # the placeholder is never fed: run time error
    with tf.Session() as sess:
        coord = Coordinator()
        threads = qr.create_threads(sess, coord=coord, start=True)
        with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value"):
            coord.join(threads)
    with pytest.raises(ValueError, match="Must provide queue and enqueue_ops"):
        QueueRunner(q, [])
    with pytest.raises(TypeError, match="queue_closed_exception_types"):
        QueueRunner(q, [q.enqueue(1.0)], queue_closed_exception_types=(ValueError,))


def test_create_threads_once_per_session_while_running():
    q = FIFOQueue(1, tf.float32, shapes=[[]])
    qr = QueueRunner(q, [q.enqueue(1.0)] * 2)
    with tf.Session() as sess:
        coord = Coordinator()
        threads = qr.create_threads(sess, coord=coord, daemon=True, start=True)
        assert len(threads) == 3  # two enqueue threads and the close-on-stop thread
        assert all(t.daemon for t in threads)
        assert qr.create_threads(sess, coord=coord) == []  # still running (blocked: full)
        assert sess.run(q.dequeue()) == 1.0
        coord.request_stop()
        coord.join(threads)  # the cancel op unblocked the full queue's enqueues
        assert not any(t.is_alive() for t in threads)


def test_start_queue_runners_needs_a_session():
    with pytest.raises(ValueError, match="No default session"):
        start_queue_runners()
    with pytest.raises(TypeError, match="must be a `tf.Session`"):
        start_queue_runners(sess=object())


def _drain(sess, fetches):
    got = []
    try:
        while True:
            got.append(sess.run(fetches))
    except tf.errors.OutOfRangeError:
        pass
    return got


def _run_pipeline(fetches, setup=None):
    with tf.Session() as sess:
        if setup is not None:
            setup(sess)
        coord = Coordinator()
        threads = start_queue_runners(sess, coord)
        got = _drain(sess, fetches)
        coord.request_stop()
        coord.join(threads)
    return got


def _closed_source(values, dtype=tf.float32, shape=()):
    q = FIFOQueue(len(values) + 1, dtype, shapes=[list(shape)])
    fill = q.enqueue_many([np.asarray(values, dtype.np_dtype)])
    close = q.close()
    return q.dequeue(), lambda sess: (sess.run(fill), sess.run(close))


def test_batch_shapes_names_and_smaller_final_batch():
    x, setup = _closed_source(np.arange(10) * 1.5)
    b = input_lib.batch([x], batch_size=4, capacity=8, allow_smaller_final_batch=True)
    assert isinstance(b, tf.Tensor)  # one tensor in a list comes back bare, as in TF1
    assert b.name == "batch:0" and b.shape.as_list() == [None]
    got = _run_pipeline(b, setup)
    assert [len(v) for v in got] == [4, 4, 2]
    np.testing.assert_allclose(np.concatenate(got), np.arange(10) * 1.5)
    assert got[0].dtype == np.float32


def test_batch_dict_enqueue_many_and_full_batches_only():
    q = FIFOQueue(10, [tf.int64, tf.float32], shapes=[[2], [2, 3]])
    rows = np.arange(14).reshape(7, 2)
    fill = q.enqueue_many([rows, np.ones((7, 2, 3), np.float32)])
    close = q.close()
    a, b = q.dequeue()
    out = input_lib.batch({"a": a, "b": b}, batch_size=2, enqueue_many=True)
    assert out["a"].shape.as_list() == [2] and out["b"].shape.as_list() == [2, 3]
    got = _run_pipeline(out, lambda sess: (sess.run(fill), sess.run(close)))
    assert len(got) == 7  # 14 examples in batches of 2
    np.testing.assert_array_equal(np.concatenate([g["a"] for g in got]), rows.reshape(-1))


def test_batch_requires_known_shapes():
    with pytest.raises(ValueError, match="Cannot infer Tensor's rank"):
        input_lib.batch([tf.placeholder(tf.float32)], batch_size=2)
    with pytest.raises(ValueError, match="fully defined"):
        input_lib.batch([tf.placeholder(tf.float32, [None])], batch_size=2)
    with pytest.raises(ValueError, match="at least one tensor"):
        input_lib.batch([], batch_size=2)


def test_batch_dynamic_pad():
    q = FIFOQueue(4, tf.int32)
    p = tf.placeholder(tf.int32, [None])
    fill = q.enqueue([p])
    x = q.dequeue()
    x.set_shape([None])
    b = input_lib.batch([x], batch_size=2, dynamic_pad=True)

    def setup(sess):
        sess.run(fill, {p: [1]})
        sess.run(fill, {p: [2, 3, 4]})
        sess.run(q.close())
    got = _run_pipeline(b, setup)
    np.testing.assert_array_equal(got[0], [[1, 0, 0], [2, 3, 4]])


def test_shuffle_batch_and_joins():
    x, setup = _closed_source(np.arange(12), tf.int32)
    b = input_lib.shuffle_batch([x], batch_size=3, capacity=8, min_after_dequeue=2, seed=1,
                                allow_smaller_final_batch=True)
    assert b.name == "shuffle_batch:0"
    got = np.concatenate(_run_pipeline(b, setup))
    assert sorted(got) == list(range(12))
    with pytest.raises(ValueError, match="must be bigger than min_after_dequeue"):
        input_lib.shuffle_batch([x], batch_size=2, capacity=2, min_after_dequeue=2)


def test_batch_join_uses_one_thread_per_list():
    with tf.Graph().as_default():
        x1, setup1 = _closed_source([1.0, 2.0])
        x2, setup2 = _closed_source([10.0, 20.0, 30.0])
        b = input_lib.batch_join([[x1], [x2]], batch_size=5)
        qr = tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS)[-1]
        assert len(qr.enqueue_ops) == 2
        got = _run_pipeline(b, lambda sess: (setup1(sess), setup2(sess)))
        assert sorted(got[0]) == [1.0, 2.0, 10.0, 20.0, 30.0]
        with pytest.raises(TypeError, match="Expected types to be consistent"):
            input_lib.batch_join([[x1], [tf.constant(1)]], batch_size=2)
        sb = input_lib.shuffle_batch_join([[x1], [x2]], batch_size=2, capacity=4,
                                          min_after_dequeue=1)
        assert sb.shape.as_list() == [2]


def test_producers_with_epochs():
    data = np.arange(6).reshape(3, 2).astype(np.float32)
    labels = np.array([0, 1, 2], np.int32)
    x, y = input_lib.slice_input_producer([tf.constant(data), tf.constant(labels)],
                                          num_epochs=2, shuffle=False)
    assert x.shape.as_list() == [2] and y.dtype == tf.int32
    from hpcflow.ops import variables
    init = variables.local_variables_initializer()
    got = _run_pipeline([x, y], lambda sess: sess.run(init))
    assert [int(v[1]) for v in got] == [0, 1, 2, 0, 1, 2]
    np.testing.assert_array_equal(got[4][0], [2.0, 3.0])
    with pytest.raises(ValueError, match="num_epochs must be > 0"):
        input_lib.limit_epochs(tf.constant(1), 0)
    with pytest.raises(ValueError, match="non-null"):
        input_lib.string_input_producer([])


def test_string_input_producer_shuffles_each_epoch():
    from hpcflow.ops import variables
    names = ["a", "b", "c", "d"]
    q = input_lib.string_input_producer(names, num_epochs=3, seed=4)
    got = _run_pipeline(q.dequeue(), lambda sess: sess.run(
        variables.local_variables_initializer()))
    assert len(got) == 12
    for epoch in range(3):
        assert sorted(got[4 * epoch:4 * epoch + 4]) == [b"a", b"b", b"c", b"d"]


def test_queue_ops_are_stateful_and_not_differentiable():
    for op_type in ("FIFOQueueV2", "QueueEnqueueV2", "QueueDequeueV2", "QueueDequeueManyV2",
                    "QueueCloseV2", "QueueSizeV2"):
        record = registry.get(op_type)
        assert record.stateful and record.gradient == registry.NOT_DIFFERENTIABLE
    assert data_flow_ops.QueueBase is not None


def test_queue_graph_serializes_and_runs_after_import():
    graph = tf.Graph()
    with graph.as_default():
        q = FIFOQueue(5, [tf.float32, tf.string], shapes=[[2], []], name="q")
        q.enqueue_many([[[1.0, 2.0], [3.0, 4.0]], ["a", "b"]], name="fill")
        q.dequeue_many(2, name="take")
        RandomShuffleQueue(5, 1, tf.int32, shapes=[[]], seed=3, name="shuffled")
    data = graph.as_graph_def().SerializeToString()
    restored = tf.Graph()
    with restored.as_default():
        tf.import_graph_def(tf.GraphDef.FromString(data), name="")
        take = [restored.get_tensor_by_name("take:%d" % i) for i in range(2)]
        assert take[0].shape.as_list() == [2, 2] and take[1].dtype == tf.string
        with tf.Session() as sess:
            sess.run(restored.get_operation_by_name("fill"))
            values, names = sess.run(take)
    np.testing.assert_array_equal(values, [[1.0, 2.0], [3.0, 4.0]])
    assert names.tolist() == [b"a", b"b"]
