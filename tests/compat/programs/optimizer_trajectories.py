import numpy as np
def program(tf):
    rng = np.random.RandomState(0)
    X = rng.randn(8, 3).astype(np.float32); T = rng.randn(8, 2).astype(np.float32)
    W0 = rng.randn(3, 2).astype(np.float32)
    out = {}
    makers = {
        "sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
        "mom": lambda: tf.train.MomentumOptimizer(0.05, 0.9),
        "nesterov": lambda: tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
        "adagrad": lambda: tf.train.AdagradOptimizer(0.3),
        "adam": lambda: tf.train.AdamOptimizer(0.05),
        "rms": lambda: tf.train.RMSPropOptimizer(0.01),
        "rms_c": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
    }
    for name, make in makers.items():
        g = tf.Graph()
        with g.as_default():
            w = tf.Variable(W0, name="w")
            step = tf.train.get_or_create_global_step()
            loss = tf.reduce_mean(tf.square(tf.matmul(tf.constant(X), w) - T))
            opt = make()
            train = opt.minimize(loss, global_step=step)
            with tf.Session() as s:
                s.run(tf.global_variables_initializer())
                for _ in range(6):
                    s.run(train)
                out[name] = s.run(w)
                out[name + "_step"] = s.run(step)
                out[name + "_slots"] = np.array(sorted(v.op.name for v in tf.global_variables()))
    return out
