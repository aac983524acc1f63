"""Small Keras models built in the tests and quantized to int8 with TFLiteConverter (seeded).

Each entry: name -> (builder, input shape without batch, TFLite ops the converted model must hold).
Odd sizes on purpose (7x5 images, 3/17 channels)."""

from __future__ import annotations

import numpy as np


def _tf():
    import tensorflow as tf

    return tf


def _hard_swish(tf):
    return tf.keras.layers.Lambda(lambda v: v * tf.nn.relu6(v + 3.0) * (1.0 / 6.0))


def conv(tf, L, x):
    x = L.Conv2D(17, 3, padding="same", activation="relu")(x)
    x = L.Conv2D(8, 3, strides=2, padding="valid", activation="relu6")(x)
    x = L.Conv2D(5, (2, 3), strides=(1, 2), padding="same", dilation_rate=1)(x)
    return L.Flatten()(x)


def depthwise(tf, L, x):
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same")(x)
    x = L.Conv2D(17, 1, activation="relu")(x)
    return L.GlobalAveragePooling2D()(x)


def dense(tf, L, x):
    x = L.Flatten()(x)
    x = L.Dense(17, activation="relu")(x)
    return L.Dense(10)(x)


def residual(tf, L, x):
    x = L.Conv2D(17, 3, padding="same", activation="relu")(x)
    y = L.Conv2D(17, 3, padding="same")(x)
    x = L.ReLU()(L.Add()([x, y]))
    z = L.Conv2D(17, 1)(x)
    x = L.Multiply()([x, z])
    return L.Conv2D(4, 1)(x)


def pooling(tf, L, x):
    x = L.Conv2D(17, 3, padding="same")(x)
    a = L.AveragePooling2D(2, padding="same")(x)
    b = L.MaxPooling2D(2, padding="same")(x)
    x = L.Add()([a, b])
    x = L.AveragePooling2D(3, strides=1, padding="valid")(x)
    return L.MaxPooling2D((2, 1), strides=(1, 1), padding="valid")(x)


def mean(tf, L, x):
    x = L.Conv2D(17, 3, padding="same")(x)
    a = L.GlobalAveragePooling2D(keepdims=True)(x)
    b = L.Lambda(lambda v: tf.reduce_mean(v, axis=1, keepdims=True))(x)
    b = L.Lambda(lambda v: tf.reduce_mean(v, axis=2, keepdims=True))(b)
    return L.Concatenate()([L.Flatten()(a), L.Flatten()(b)])


def concat(tf, L, x):
    a = L.Conv2D(3, 1)(x)
    b = L.Conv2D(17, 3, padding="same", activation="relu")(x)
    c = L.Conv2D(5, 3, padding="same")(x)
    return L.Concatenate(axis=-1)([a, b, c])


def hardswish(tf, L, x):
    x = L.Conv2D(17, 3, padding="same")(x)
    x = _hard_swish(tf)(x)
    return L.Conv2D(3, 1)(x)


def sigmoid(tf, L, x):
    x = L.Conv2D(17, 3, padding="same")(x)
    x = L.Activation("sigmoid")(x)
    return L.Conv2D(3, 1)(x)


def softmax(tf, L, x):
    a = L.Conv2D(17, 3, padding="same")(x)
    a = L.Softmax(axis=-1)(a)
    b = L.Dense(10)(L.Flatten()(x))
    b = L.Softmax()(b)
    return L.Concatenate()([L.Flatten()(a), b])


def pad(tf, L, x):
    x = L.ZeroPadding2D(((1, 2), (0, 1)))(x)
    x = L.Conv2D(17, 3, padding="valid", activation="relu")(x)  # PAD folded into the conv
    y = L.ZeroPadding2D(((1, 0), (2, 1)))(x)
    y = L.MaxPooling2D(2)(y)  # PAD kept (a max pool does not treat padding as zero)
    return L.Conv2D(3, 1)(y)


ZOO = {
    "conv": (conv, (7, 5, 3), {"CONV_2D", "RESHAPE"}),
    "depthwise": (depthwise, (7, 5, 3), {"DEPTHWISE_CONV_2D", "MEAN"}),
    "dense": (dense, (7, 5, 3), {"FULLY_CONNECTED"}),
    "residual": (residual, (7, 5, 3), {"ADD", "MUL"}),
    "pooling": (pooling, (7, 5, 17), {"AVERAGE_POOL_2D", "MAX_POOL_2D"}),
    "mean": (mean, (7, 5, 3), {"MEAN", "CONCATENATION"}),
    "concat": (concat, (7, 5, 3), {"CONCATENATION"}),
    "hardswish": (hardswish, (7, 5, 3), {"HARD_SWISH"}),
    "sigmoid": (sigmoid, (7, 5, 3), {"LOGISTIC"}),
    "softmax": (softmax, (7, 5, 3), {"SOFTMAX"}),
    "pad": (pad, (7, 5, 3), {"PAD"}),
}


def make_keras(name: str, seed: int = 0):
    tf = _tf()
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    fn, shape, _ = ZOO[name]
    inp = L.Input(shape, batch_size=1)
    return tf.keras.Model(inp, fn(tf, L, inp), name=name)


def calibration(shape, n: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


def quantize(model, samples: np.ndarray, per_channel_dense: bool = True) -> bytes:
    """Full-integer PTQ: int8 in, int8 out, int8 ops only."""
    tf = _tf()
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = lambda: ([samples[i:i + 1]] for i in range(len(samples)))
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = tf.int8
    c.inference_output_type = tf.int8
    if not per_channel_dense:
        c._experimental_disable_per_channel_quantization_for_dense_layers = True
    return bytes(c.convert())


def op_names(model_bytes: bytes) -> set[str]:
    from tinygen.importers.tflite.reader import read_tflite

    return {op.name for op in read_tflite(model_bytes, "m").ops}
