"""The `tf` namespace: TF1's names point at TF1's things (ops stay ops)."""
import numpy as np

import hpcflow as tf


def test_tensor_ops_are_not_shadowed_by_job_helpers():
    x = tf.constant(np.zeros((2, 3)))
    with tf.Session() as sess:
        assert sess.run([tf.size(x), tf.rank(x), tf.shape(x)])[:2] == [6, 2]
    assert tf.mpi.size() == 1 and tf.mpi.rank() == 0
    assert tf.mpi.cluster_spec().num_tasks("worker") == 1


def test_common_tf1_names_exist():
    for name in ["placeholder", "Variable", "get_variable", "variable_scope", "Session",
                 "InteractiveSession", "gradients", "cond", "while_loop", "map_fn", "FIFOQueue",
                 "Print", "Assert", "py_func", "global_variables_initializer", "set_random_seed",
                 "random_uniform", "truncated_normal", "one_hot", "matmul", "reduce_mean",
                 "clip_by_global_norm", "RegisterGradient", "GraphKeys", "errors", "nn", "train",
                 "summary", "test", "debugging", "compat", "newaxis", "float32", "int64"]:
        assert hasattr(tf, name), name
    assert tf.compat.v1 is tf
    for name in ["AdamOptimizer", "Saver", "MonitoredTrainingSession", "StopAtStepHook",
                 "replica_device_setter", "ClusterSpec", "exponential_decay",
                 "start_queue_runners", "Coordinator", "get_or_create_global_step"]:
        assert hasattr(tf.train, name), name
    for name in ["relu", "softmax", "conv2d", "max_pool", "dropout", "embedding_lookup",
                 "sparse_softmax_cross_entropy_with_logits", "sigmoid", "tanh"]:
        assert hasattr(tf.nn, name), name
