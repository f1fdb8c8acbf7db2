"""TF1 queue-based input pipelines: `tf.train.batch`, `shuffle_batch`, `*_join`, producers.

Each function builds a queue, enqueue ops fed by the given tensors, and a QueueRunner in
the QUEUE_RUNNERS collection; `tf.train.start_queue_runners` starts the threads. The
batch comes out of `dequeue_many` (or `dequeue_up_to` with
`allow_smaller_final_batch`). Producers (`input_producer`, `slice_input_producer`...)
cycle through their input, optionally shuffled and limited to `num_epochs` (a local
variable counts the epochs: run `tf.local_variables_initializer()`); when the epochs run
out the queues close and the consumer gets OutOfRangeError.
"""
from ..framework import dtypes
from ..framework.graph import GraphKeys, Tensor, control_dependencies, name_scope
from ..framework.tensor_conversion import convert_to_tensor
from ..framework.tensor_shape import as_shape
from ..ops import data_flow_ops
from . import queue_runner


def _summary_scalar(name, tensor_fn):
    # TF records the queue's fill level as a summary; only when a summary module exists.
    try:
        from .. import summary
    except ImportError:
        return
    summary.scalar(name, tensor_fn())


# -- producers ---------------------------------------------------------------------------------

def limit_epochs(tensor, num_epochs=None, name=None):
    """Returns `tensor` `num_epochs` times, then raises OutOfRangeError (TF1 `limit_epochs`).

    The count lives in a local variable "epochs" (run `tf.local_variables_initializer()`).

    Raises:
      ValueError: if `num_epochs` is not positive.
    """
    if num_epochs is None:
        return tensor
    if num_epochs <= 0:
        raise ValueError("num_epochs must be > 0 not %d." % num_epochs)
    from ..ops import array_ops, variables
    with name_scope(name, "limit_epochs", [tensor]) as scope:
        zero64 = convert_to_tensor(0, dtype=dtypes.int64)
        epochs = variables.Variable(zero64, name="epochs", trainable=False,
                                    collections=[GraphKeys.LOCAL_VARIABLES])
        counter = epochs.count_up_to(num_epochs)
        with control_dependencies([counter]):
            return array_ops.identity(tensor, name=scope)


def input_producer(input_tensor, element_shape=None, num_epochs=None, shuffle=True, seed=None,
                   capacity=32, shared_name=None, summary_name=None, name=None, cancel_op=None):
    """A queue filled with the rows of `input_tensor`, epoch after epoch (TF1).

    Args:
      input_tensor: a tensor whose rows (first dimension) are the elements.
      element_shape: the rows' shape, if `input_tensor`'s is not fully known.
      num_epochs: how many times to produce each row (None: forever).
      shuffle: shuffle the rows within each epoch.
      seed, capacity, shared_name, name, cancel_op: of the queue and its runner.

    Returns:
      The FIFOQueue; dequeue from it.

    Raises:
      ValueError: if the element shape is not fully defined.
    """
    with name_scope(name, "input_producer", [input_tensor]):
        input_tensor = convert_to_tensor(input_tensor, name="input_tensor")
        element_shape = input_tensor.shape[1:].merge_with(
            as_shape(element_shape) if element_shape is not None else as_shape(None))
        if not element_shape.is_fully_defined():
            raise ValueError("Either `input_tensor` must have a fully defined shape or "
                             "`element_shape` must be specified")
        if shuffle:
            from ..ops import random_ops
            input_tensor = random_ops.random_shuffle(input_tensor, seed=seed)
        input_tensor = limit_epochs(input_tensor, num_epochs)
        queue = data_flow_ops.FIFOQueue(capacity=capacity, dtypes=[input_tensor.dtype],
                                        shapes=[element_shape], shared_name=shared_name,
                                        name=name or "fifo_queue")
        enqueue = queue.enqueue_many([input_tensor])
        queue_runner.add_queue_runner(queue_runner.QueueRunner(queue, [enqueue],
                                                               cancel_op=cancel_op))
        if summary_name is not None:
            _summary_scalar(summary_name, lambda: _fraction(queue.size(), capacity))
        return queue


def _fraction(size, capacity):
    from ..ops import math_ops
    return math_ops.cast(size, dtypes.float32) * (1.0 / capacity)


def string_input_producer(string_tensor, num_epochs=None, shuffle=True, seed=None, capacity=32,
                          shared_name=None, name=None, cancel_op=None):
    """A queue of the strings of the 1-D `string_tensor` (e.g. file names), TF1 style.

    Raises:
      ValueError: if `string_tensor` is an empty Python list (at run time: an empty
        tensor fails an Assert).
    """
    not_null_err = "string_input_producer requires a non-null input tensor"
    if not isinstance(string_tensor, Tensor) and not len(string_tensor):
        raise ValueError(not_null_err)
    from ..ops import array_ops, check_ops, math_ops
    with name_scope(name, "input_producer", [string_tensor]) as scope:
        string_tensor = convert_to_tensor(string_tensor, dtype=dtypes.string)
        with control_dependencies([check_ops.Assert(
                math_ops.greater(array_ops.size(string_tensor), 0), [not_null_err])]):
            string_tensor = array_ops.identity(string_tensor)
        return input_producer(string_tensor, element_shape=[], num_epochs=num_epochs,
                              shuffle=shuffle, seed=seed, capacity=capacity,
                              shared_name=shared_name, name=scope,
                              summary_name="fraction_of_%d_full" % capacity, cancel_op=cancel_op)


def range_input_producer(limit, num_epochs=None, shuffle=True, seed=None, capacity=32,
                         shared_name=None, name=None):
    """A queue of the int32 indices 0 .. limit-1, epoch after epoch (TF1)."""
    from ..ops import array_ops
    with name_scope(name, "input_producer", [limit]) as scope:
        range_tensor = array_ops.range(limit)
        return input_producer(range_tensor, [], num_epochs, shuffle, seed, capacity,
                              shared_name, "fraction_of_%d_full" % capacity, scope)


def slice_input_producer(tensor_list, num_epochs=None, shuffle=True, seed=None, capacity=32,
                         shared_name=None, name=None):
    """Produces one row (slice along dimension 0) of every tensor of `tensor_list` at a time.

    Returns:
      A list of tensors, row i of each input for the same i.

    Raises:
      ValueError: if `tensor_list` is empty.
    """
    from ..ops import array_ops
    with name_scope(name, "input_producer", [t for t in tensor_list if isinstance(t, Tensor)]):
        tensor_list = [convert_to_tensor(t) for t in tensor_list]
        if not tensor_list:
            raise ValueError("Expected at least one tensor in slice_input_producer().")
        range_size = array_ops.shape(tensor_list[0])[0]
        queue = range_input_producer(range_size, num_epochs=num_epochs, shuffle=shuffle,
                                     seed=seed, capacity=capacity, shared_name=shared_name)
        index = queue.dequeue()
        return [array_ops.gather(t, index) for t in tensor_list]


# -- batching ----------------------------------------------------------------------------------

def _as_tensor_list(tensors):
    if isinstance(tensors, dict):
        return [tensors[k] for k in sorted(tensors, key=str)]
    return tensors


def _as_tensor_list_list(tensors_list):
    if not tensors_list:
        raise ValueError("Expected at least one set of tensors")
    if isinstance(tensors_list[0], dict):
        expected_keys = set(tensors_list[0].keys())
        for tensors in tensors_list[1:]:
            if set(tensors.keys()) != expected_keys:
                raise ValueError("All dictionaries in tensors_list must have the same keys")
        return [_as_tensor_list(tensors) for tensors in tensors_list]
    return tensors_list


def _as_original_type(original_tensors, tensor_list):
    if isinstance(original_tensors, dict):
        if len(original_tensors) == 1:
            # One component dequeues as a bare tensor (b/28117485 in TF): list it again.
            tensor_list = [tensor_list]
        return {k: tensor_list[i] for i, k in enumerate(sorted(original_tensors, key=str))}
    return tensor_list


def _validate(tensor_list):
    tensor_list = [convert_to_tensor(t) for t in tensor_list]
    if not tensor_list:
        raise ValueError("Expected at least one tensor in batch().")
    return tensor_list


def _validate_join(tensor_list_list):
    tensor_list_list = [[convert_to_tensor(t) for t in tl] for tl in tensor_list_list]
    if not tensor_list_list:
        raise ValueError("Expected at least one input in batch_join().")
    return tensor_list_list


def _dtypes(tensor_list_list):
    all_types = [[t.dtype for t in tl] for tl in tensor_list_list]
    types = all_types[0]
    for other_types in all_types[1:]:
        if other_types != types:
            raise TypeError("Expected types to be consistent: %s vs. %s."
                            % (", ".join(x.name for x in types),
                               ", ".join(x.name for x in other_types)))
    return types


def _merge_shapes(shape_list, enqueue_many):
    shape_list = [as_shape(s) for s in shape_list]
    if enqueue_many:
        # The element shapes, without the leading batch dimension.
        shape_list = [s.with_rank_at_least(1)[1:] for s in shape_list]
    merged = shape_list[0]
    for s in shape_list[1:]:
        merged = merged.merge_with(s)
    return merged.as_list()


def _shapes(tensor_list_list, shapes, enqueue_many):
    if shapes is None:
        len0 = len(tensor_list_list[0])
        for tl in tensor_list_list:
            for i in range(len0):
                if tl[i].shape.ndims is None:
                    raise ValueError("Cannot infer Tensor's rank: %s" % tl[i])
        shapes = [_merge_shapes([tl[i].shape.as_list() for tl in tensor_list_list],
                                enqueue_many) for i in range(len0)]
    return shapes


def _enqueue_join(queue, tensor_list_list, enqueue_many):
    enqueue_fn = queue.enqueue_many if enqueue_many else queue.enqueue
    enqueue_ops = [enqueue_fn(tl) for tl in tensor_list_list]
    queue_runner.add_queue_runner(queue_runner.QueueRunner(queue, enqueue_ops))


def _enqueue(queue, tensor_list, threads, enqueue_many):
    enqueue_fn = queue.enqueue_many if enqueue_many else queue.enqueue
    enqueue_ops = [enqueue_fn(tensor_list)] * threads
    queue_runner.add_queue_runner(queue_runner.QueueRunner(queue, enqueue_ops))


def _dequeue(queue, batch_size, allow_smaller_final_batch, name):
    if allow_smaller_final_batch:
        return queue.dequeue_up_to(batch_size, name=name)
    return queue.dequeue_many(batch_size, name=name)


def _queue_class(dynamic_pad):
    return data_flow_ops.PaddingFIFOQueue if dynamic_pad else data_flow_ops.FIFOQueue


def batch(tensors, batch_size, num_threads=1, capacity=32, enqueue_many=False, shapes=None,
          dynamic_pad=False, allow_smaller_final_batch=False, shared_name=None, name=None):
    """Batches `tensors` through a FIFO queue filled by `num_threads` threads (TF1).

    Args:
      tensors: a list or dict of tensors (one example, or a batch with `enqueue_many`).
      batch_size: examples per dequeued batch.
      num_threads: enqueue threads.
      capacity: queue capacity.
      enqueue_many: each tensor is a batch of examples along dimension 0.
      shapes: example shapes (default: the tensors' static shapes, which must be fully
        defined unless `dynamic_pad`).
      dynamic_pad: pad examples of varying shapes to the largest in the batch.
      allow_smaller_final_batch: the last batch may be smaller (batch dimension unknown).
      shared_name, name: of the queue / of the dequeue op (scope "batch").

    Returns:
      Tensors like `tensors` with a leading batch dimension (one tensor in a list comes
      back as a bare tensor, as in TF1).

    Raises:
      ValueError: for no tensors, unknown ranks or not fully defined shapes.
    """
    tensor_list = _as_tensor_list(tensors)
    with name_scope(name, "batch", [t for t in tensor_list if isinstance(t, Tensor)]) as scope:
        tensor_list = _validate(tensor_list)
        types = _dtypes([tensor_list])
        shapes = _shapes([tensor_list], shapes, enqueue_many)
        queue = _queue_class(dynamic_pad)(capacity=capacity, dtypes=types, shapes=shapes,
                                          shared_name=shared_name)
        _enqueue(queue, tensor_list, num_threads, enqueue_many)
        _summary_scalar("fraction_of_%d_full" % capacity, lambda: _fraction(queue.size(),
                                                                             capacity))
        dequeued = _dequeue(queue, batch_size, allow_smaller_final_batch, scope)
        return _as_original_type(tensors, dequeued)


def batch_join(tensors_list, batch_size, capacity=32, enqueue_many=False, shapes=None,
               dynamic_pad=False, allow_smaller_final_batch=False, shared_name=None,
               name=None):
    """Batches examples from several tensor lists, one enqueue thread per list (TF1).

    Raises:
      TypeError: if the lists' dtypes differ.
    """
    tensor_list_list = _as_tensor_list_list(tensors_list)
    flat = [t for tl in tensor_list_list for t in tl if isinstance(t, Tensor)]
    with name_scope(name, "batch_join", flat) as scope:
        tensor_list_list = _validate_join(tensor_list_list)
        types = _dtypes(tensor_list_list)
        shapes = _shapes(tensor_list_list, shapes, enqueue_many)
        queue = _queue_class(dynamic_pad)(capacity=capacity, dtypes=types, shapes=shapes,
                                          shared_name=shared_name)
        _enqueue_join(queue, tensor_list_list, enqueue_many)
        _summary_scalar("fraction_of_%d_full" % capacity, lambda: _fraction(queue.size(),
                                                                             capacity))
        dequeued = _dequeue(queue, batch_size, allow_smaller_final_batch, scope)
        return _as_original_type(tensors_list[0], dequeued)


def shuffle_batch(tensors, batch_size, capacity, min_after_dequeue, num_threads=1, seed=None,
                  enqueue_many=False, shapes=None, allow_smaller_final_batch=False,
                  shared_name=None, name=None):
    """Batches `tensors` in random order through a RandomShuffleQueue (TF1).

    Args:
      min_after_dequeue: examples kept in the queue after a dequeue (mixing level).
      seed: op seed of the queue's shuffling.
      Others: as for `batch`.

    Raises:
      ValueError: if `capacity <= min_after_dequeue`, or as for `batch`.
    """
    tensor_list = _as_tensor_list(tensors)
    with name_scope(name, "shuffle_batch",
                    [t for t in tensor_list if isinstance(t, Tensor)]) as scope:
        if capacity <= min_after_dequeue:
            raise ValueError("capacity %d must be bigger than min_after_dequeue %d."
                             % (capacity, min_after_dequeue))
        tensor_list = _validate(tensor_list)
        types = _dtypes([tensor_list])
        shapes = _shapes([tensor_list], shapes, enqueue_many)
        queue = data_flow_ops.RandomShuffleQueue(
            capacity=capacity, min_after_dequeue=min_after_dequeue, seed=seed, dtypes=types,
            shapes=shapes, shared_name=shared_name)
        _enqueue(queue, tensor_list, num_threads, enqueue_many)
        dequeued = _dequeue(queue, batch_size, allow_smaller_final_batch, scope)
        return _as_original_type(tensors, dequeued)


def shuffle_batch_join(tensors_list, batch_size, capacity, min_after_dequeue, seed=None,
                       enqueue_many=False, shapes=None, allow_smaller_final_batch=False,
                       shared_name=None, name=None):
    """`shuffle_batch` over several tensor lists, one enqueue thread per list (TF1)."""
    tensor_list_list = _as_tensor_list_list(tensors_list)
    flat = [t for tl in tensor_list_list for t in tl if isinstance(t, Tensor)]
    with name_scope(name, "shuffle_batch_join", flat) as scope:
        if capacity <= min_after_dequeue:
            raise ValueError("capacity %d must be bigger than min_after_dequeue %d."
                             % (capacity, min_after_dequeue))
        tensor_list_list = _validate_join(tensor_list_list)
        types = _dtypes(tensor_list_list)
        shapes = _shapes(tensor_list_list, shapes, enqueue_many)
        queue = data_flow_ops.RandomShuffleQueue(
            capacity=capacity, min_after_dequeue=min_after_dequeue, seed=seed, dtypes=types,
            shapes=shapes, shared_name=shared_name)
        _enqueue_join(queue, tensor_list_list, enqueue_many)
        dequeued = _dequeue(queue, batch_size, allow_smaller_final_batch, scope)
        return _as_original_type(tensors_list[0], dequeued)


__all__ = ["batch", "batch_join", "input_producer", "limit_epochs", "range_input_producer",
           "shuffle_batch", "shuffle_batch_join", "slice_input_producer",
           "string_input_producer"]
