import numpy as np
def program(tf):
    x = tf.placeholder(tf.float32, [])
    i0 = tf.constant(0)
    def body(i, acc): return i + 1, acc * x
    _, y = tf.while_loop(lambda i, acc: i < 3, body, [i0, tf.constant(1.0)])
    gy = tf.gradients(y, x)[0]
    c = tf.cond(x > 1.0, lambda: tf.square(x), lambda: -x)
    gc = tf.gradients(c, x)[0]
    with tf.Session() as s:
        r = s.run({"y": y, "gy": gy, "c": c, "gc": gc}, {x: 2.0})
        r2 = s.run({"c2": c, "gc2": gc}, {x: 0.5})
    r.update(r2)
    return r
