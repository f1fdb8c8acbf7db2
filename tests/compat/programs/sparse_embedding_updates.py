import numpy as np
def program(tf):
    out = {}
    table0 = np.arange(40, dtype=np.float32).reshape(10, 4) / 10
    for name in ["sgd", "adagrad", "adam", "mom"]:
        g = tf.Graph()
        with g.as_default():
            emb = tf.Variable(table0)
            ids = tf.constant([1, 3, 1, 7])
            loss = tf.reduce_sum(tf.square(tf.nn.embedding_lookup(emb, ids) - 1.0))
            opt = {"sgd": tf.train.GradientDescentOptimizer(0.1), "adagrad": tf.train.AdagradOptimizer(0.1),
                   "adam": tf.train.AdamOptimizer(0.1), "mom": tf.train.MomentumOptimizer(0.1, 0.9)}[name]
            train = opt.minimize(loss)
            with tf.Session() as s:
                s.run(tf.global_variables_initializer())
                for _ in range(3): s.run(train)
                out[name] = s.run(emb)
    return out
