"""`tf.random`: random ops under their `tf.random.*` names."""
from .ops.random_ops import (categorical, multinomial, random_gamma as gamma,  # noqa: F401
                             random_normal as normal, random_poisson as poisson,
                             random_shuffle as shuffle, random_uniform as uniform,
                             set_random_seed, truncated_normal, get_seed)
