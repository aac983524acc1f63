"""Small Larq models built in the tests and converted with Larq Compute Engine (seeded)."""

from __future__ import annotations

import numpy as np


def _randomize_bn(model, seed: int) -> None:
    """Non-trivial batch-norm statistics (mixed signs of gamma exercise flipped thresholds)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            gamma = rng.uniform(0.3, 1.5, n) * rng.choice([1.0, 1.0, 1.0, -1.0], n)
            layer.set_weights([gamma.astype(np.float32), rng.normal(0, 1, n).astype(np.float32),
                               rng.normal(0, 2, n).astype(np.float32), rng.uniform(0.5, 3, n).astype(np.float32)])


def _qconv(lq, filters, k, **kw):
    return lq.layers.QuantConv2D(filters, k, input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                                 kernel_constraint="weight_clip", use_bias=False, **kw)


def binary_core(tf, lq, L, x):
    """Only exact ops: sign of the input, bitpacked bconvs (+1 padding), binary max pool, float
    outputs of bconvs with zero and +1 padding, a float shortcut add, float max pool and BN."""
    x = _qconv(lq, 33, 3, padding="same", pad_values=1.0)(x)
    x = L.BatchNormalization()(x)
    x = _qconv(lq, 65, 3, padding="same", pad_values=1.0)(x)  # bitpacked in and out
    x = L.BatchNormalization()(x)
    x = L.MaxPooling2D(2, padding="same")(x)  # between binary layers: LceBMaxPool2d
    y = _qconv(lq, 31, 3, padding="same", pad_values=0.0)(x)  # float output, zero padding
    y = L.BatchNormalization()(y)
    z = _qconv(lq, 31, (3, 2), strides=(1, 2), padding="same", pad_values=1.0)(x)  # float out, +1 padding
    z = L.UpSampling2D((1, 2))(z) if False else z
    y = L.MaxPooling2D((1, 2), padding="same")(y)
    x = L.Add()([y, z])  # float shortcut
    x = L.BatchNormalization()(x)
    return _qconv(lq, 17, 2, padding="valid")(x)


def full(tf, lq, L, x):
    """A typical BNN: float first conv, binary body, global pooling, QuantDense, softmax."""
    x = L.Conv2D(32, 3, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = _qconv(lq, 63, 3, padding="same", pad_values=1.0)(x)
    x = L.BatchNormalization()(x)
    x = L.MaxPooling2D(2)(x)
    x = L.BatchNormalization()(x)
    x = _qconv(lq, 64, 3, padding="same", pad_values=0.0)(x)
    x = L.BatchNormalization()(x)
    x = L.GlobalAveragePooling2D()(x)
    x = lq.layers.QuantDense(10, input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                             kernel_constraint="weight_clip", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    return L.Activation("softmax")(x)


LARQ_ZOO = {
    "binary_core": (binary_core, (9, 7, 3)),
    "full": (full, (8, 6, 1)),
}


def make_larq(name: str, seed: int = 0):
    import larq as lq
    import tensorflow as tf

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    fn, shape = LARQ_ZOO[name]
    inp = L.Input(shape, batch_size=1)
    model = tf.keras.Model(inp, fn(tf, lq, L, inp), name=name)
    _randomize_bn(model, seed)
    return model


def convert(model) -> bytes:
    import larq_compute_engine as lce

    return bytes(lce.convert_keras_model(model))


def lce_run(model: bytes, x: np.ndarray) -> np.ndarray:
    import larq_compute_engine as lce

    it = lce.testing.Interpreter(model)
    return np.concatenate([np.asarray(it.predict(x[i:i + 1])) for i in range(len(x))])
