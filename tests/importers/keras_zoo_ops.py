"""Keras models for the TFLite ops added after the first zoo (tests/importers/keras_zoo.py): one model
per op family, int8-quantized with TFLiteConverter (seeded). Each entry: name -> (builder, input shape
without batch, TFLite ops the converted model must hold). `merged` holds every op once (the test suite
and one QEMU run); benchmarks/tflite_ops_vs_tflm.py runs the per-op models. (tf.squeeze converts to
RESHAPE, so SQUEEZE is tested with a hand-built flatbuffer in test_tflite_more_ops_sweeps.py.)"""

from __future__ import annotations

import numpy as np


def sub(tf, L, x):
    a = L.Conv2D(6, 3, padding="same")(x)
    b = L.Conv2D(6, 1)(x)
    return L.Conv2D(3, 1)(L.Subtract()([a, b]))


def tanh(tf, L, x):
    x = L.Conv2D(17, 3, padding="same")(x)
    return L.Conv2D(3, 1)(L.Activation("tanh")(x))


def strided_slice(tf, L, x):
    x = L.Conv2D(17, 3, padding="same")(x)
    a = L.Lambda(lambda v: v[:, 1:6:2, ::-1, 2:15:3])(x)
    b = L.Lambda(lambda v: v[:, 3, ..., 1:9])(x)  # shrink axis 1, ellipsis
    c = L.Lambda(lambda v: v[:, -2:, :, -1])(x)  # negative begin, shrink the last axis
    return L.Concatenate()([L.Flatten()(a), L.Flatten()(b), L.Flatten()(c)])


def transpose(tf, L, x):
    x = L.Conv2D(6, 3, padding="same")(x)
    a = L.Lambda(lambda v: tf.transpose(v, [0, 2, 1, 3]))(x)
    b = L.Permute((3, 1, 2))(x)
    return L.Concatenate()([L.Flatten()(L.Conv2D(4, 1)(a)), L.Flatten()(b)])


def resize_nearest(tf, L, x):
    x = L.Conv2D(4, 3, padding="same")(x)
    a = L.UpSampling2D((2, 3), interpolation="nearest")(x)
    b = L.Lambda(lambda v: tf.image.resize(v, (4, 9), "nearest"))(x)  # half-pixel centers
    c = L.Lambda(lambda v: tf.compat.v1.image.resize_nearest_neighbor(v, (11, 3), align_corners=True))(x)
    d = L.Lambda(lambda v: tf.compat.v1.image.resize_nearest_neighbor(v, (10, 7)))(x)
    return L.Concatenate()([L.Flatten()(t) for t in (a, b, c, d)])


def resize_bilinear(tf, L, x):
    x = L.Conv2D(4, 3, padding="same")(x)
    a = L.UpSampling2D((2, 3), interpolation="bilinear")(x)
    b = L.Lambda(lambda v: tf.image.resize(v, (4, 9), "bilinear"))(x)  # half-pixel centers
    c = L.Lambda(lambda v: tf.compat.v1.image.resize_bilinear(v, (11, 3), align_corners=True))(x)
    d = L.Lambda(lambda v: tf.compat.v1.image.resize_bilinear(v, (10, 7)))(x)
    return L.Concatenate()([L.Flatten()(t) for t in (a, b, c, d)])


def split(tf, L, x):
    x = L.Conv2D(17, 3, padding="same")(x)
    a, b, c = L.Lambda(lambda v: tf.split(v, [2, 5, 10], axis=-1))(x)  # SPLIT_V
    d, e = L.Lambda(lambda v: tf.split(v[:, :6], 2, axis=1))(L.Conv2D(4, 1)(x))  # SPLIT
    return L.Concatenate()([L.Flatten()(t) for t in (L.Conv2D(3, 1)(a), b, L.Conv2D(3, 1)(c), d, e)])


def pack(tf, L, x):
    x = L.Conv2D(6, 3, padding="same")(x)
    parts = L.Lambda(lambda v: tf.unstack(v, axis=2))(x)  # 5 x [1, 7, 6]
    y = L.Lambda(lambda p: tf.stack(p[::-1], axis=1))(parts)  # [1, 5, 7, 6]
    z = L.Lambda(lambda p: tf.stack([p[0], p[3]], axis=-1))(parts)  # [1, 7, 6, 2]
    return L.Concatenate()([L.Flatten()(y), L.Flatten()(z)])


def maximum(tf, L, x):
    a = L.Conv2D(6, 3, padding="same")(x)
    b = L.Conv2D(6, 1)(x)
    return L.Conv2D(3, 1)(L.Concatenate()([L.Maximum()([a, b]), L.Minimum()([a, b])]))


def leaky_relu(tf, L, x):
    x = L.Conv2D(17, 3, padding="same")(x)
    return L.Conv2D(3, 1)(L.LeakyReLU(0.2)(x))


def prelu(tf, L, x):
    def init(seed):
        return tf.keras.initializers.RandomUniform(0.05, 0.9, seed=seed)
    a = L.PReLU(alpha_initializer=init(1), shared_axes=[1, 2])(L.Conv2D(7, 3, padding="same")(x))  # per channel
    b = L.PReLU(alpha_initializer=init(2))(L.Conv2D(4, 1)(x))  # per element
    return L.Concatenate()([L.Flatten()(a), L.Flatten()(b)])


def relu(tf, L, x):
    a = L.Conv2D(4, 1)(L.ReLU()(x))  # standalone: the model input has no producer to fuse into
    b = L.Conv2D(4, 1)(L.ReLU(6.0)(x))
    return L.Concatenate()([a, b])


def depth_to_space(tf, L, x):
    a = L.Conv2D(12, 3, padding="same")(x)
    a = L.Lambda(lambda v: tf.nn.depth_to_space(v, 2))(a)  # [1, 8, 6, 3]
    b = L.Lambda(lambda v: tf.nn.space_to_depth(v[:, :4, :4], 2))(L.Conv2D(5, 1)(x))  # [1, 2, 2, 20]
    return L.Concatenate()([L.Flatten()(L.Conv2D(3, 1)(a)), L.Flatten()(b)])


def batch_matmul(tf, L, x):
    """A weight tensor with a leading 1 keeps the converter from rewriting the matmul as FULLY_CONNECTED."""
    x = L.Reshape((-1, 3))(L.Conv2D(3, 1)(x))
    w = np.random.default_rng(1).normal(size=(1, 3, 6)).astype(np.float32)
    a = L.Lambda(lambda v: tf.linalg.matmul(v, w))(x)
    wt = np.random.default_rng(2).normal(0.3, 0.2, size=(1, 5, 3)).astype(np.float32)
    b = L.Lambda(lambda v: tf.linalg.matmul(v, wt, transpose_b=True))(x)
    return L.Concatenate()([a, b])


ZOO_OPS = {
    "sub": (sub, (7, 5, 3), {"SUB"}),
    "tanh": (tanh, (7, 5, 3), {"TANH"}),
    "strided_slice": (strided_slice, (7, 5, 3), {"STRIDED_SLICE"}),
    "transpose": (transpose, (7, 5, 3), {"TRANSPOSE"}),
    "resize_nearest": (resize_nearest, (4, 3, 3), {"RESIZE_NEAREST_NEIGHBOR"}),
    "resize_bilinear": (resize_bilinear, (4, 3, 3), {"RESIZE_BILINEAR"}),
    "split": (split, (7, 5, 3), {"SPLIT", "SPLIT_V"}),
    "pack": (pack, (7, 5, 3), {"PACK", "UNPACK"}),
    "maximum": (maximum, (7, 5, 3), {"MAXIMUM", "MINIMUM"}),
    "leaky_relu": (leaky_relu, (7, 5, 3), {"LEAKY_RELU"}),
    "prelu": (prelu, (7, 5, 3), {"PRELU"}),
    "relu": (relu, (7, 5, 3), {"RELU", "RELU6"}),
    "depth_to_space": (depth_to_space, (4, 5, 3), {"DEPTH_TO_SPACE", "SPACE_TO_DEPTH"}),
    "batch_matmul": (batch_matmul, (7, 5, 3), {"BATCH_MATMUL"}),
}



def merged(tf, L, x):
    """Every op of ZOO_OPS once, on one [1, 7, 5, 3] input, outputs flattened and concatenated: a lean
    graph (about 60 TFLite ops) that converts in a fraction of the per-op models' time, for the test
    suite and one firmware under QEMU. Concatenated in groups: TFLM's CONCATENATION takes <= 10 inputs."""
    c = L.Conv2D(8, 3, padding="same")(x)  # [1, 7, 5, 8]
    d = L.Conv2D(8, 1)(x)
    v1 = tf.compat.v1.image
    fns = [
        lambda: L.ReLU()(x), lambda: L.ReLU(6.0)(x),  # standalone: the model input has no producer
        lambda: L.Subtract()([c, d]), lambda: L.Activation("tanh")(c), lambda: L.LeakyReLU(0.2)(c),
        lambda: L.PReLU(alpha_initializer=tf.keras.initializers.RandomUniform(0.05, 0.9, seed=3),
                        shared_axes=[1, 2])(d),
        lambda: L.Maximum()([c, d]), lambda: L.Minimum()([c, d]),
        lambda: L.Lambda(lambda v: v[:, 1:6:2, ::-1, 2:8:3])(c), lambda: L.Lambda(lambda v: v[:, 3, :, -1])(c),
        lambda: L.Lambda(lambda v: tf.transpose(v, [0, 2, 1, 3]))(c),
        lambda: L.Lambda(lambda v: tf.image.resize(v, (4, 9), "nearest"))(d),
        lambda: L.Lambda(lambda v: v1.resize_nearest_neighbor(v, (11, 3), align_corners=True))(d),
        lambda: L.Lambda(lambda v: v1.resize_nearest_neighbor(v, (10, 7)))(d),
        lambda: L.Lambda(lambda v: tf.image.resize(v, (4, 9), "bilinear"))(d),
        lambda: L.Lambda(lambda v: v1.resize_bilinear(v, (11, 3), align_corners=True))(d),
        lambda: L.Lambda(lambda v: v1.resize_bilinear(v, (10, 7)))(d),
        lambda: L.Lambda(lambda v: tf.split(v, [3, 5], axis=-1))(c),  # SPLIT_V (every output used: else the
        lambda: L.Lambda(lambda v: tf.split(v[:, :6], 2, axis=1))(d),  # SPLIT  converter leaves it float)
        lambda: L.Lambda(lambda v: tf.stack(tf.unstack(v, axis=2)[::-1], axis=1))(c),  # UNPACK, PACK
        lambda: L.Lambda(lambda v: tf.nn.depth_to_space(v, 2))(c),
        lambda: L.Lambda(lambda v: tf.nn.space_to_depth(v[:, :4, :4], 2))(d),
        lambda: L.Lambda(lambda v: tf.linalg.matmul(
            v, np.random.default_rng(1).normal(size=(1, 8, 6)).astype(np.float32)))(L.Reshape((-1, 8))(c)),
    ]
    outs = []
    for f in fns:
        y = f()
        outs += [L.Flatten()(t) for t in (y if isinstance(y, (list, tuple)) else [y])]
    return L.Concatenate()([L.Concatenate()(outs[i:i + 8]) for i in range(0, len(outs), 8)])


MERGED = (merged, (7, 5, 3), set().union(*(ops for _, _, ops in ZOO_OPS.values())))
