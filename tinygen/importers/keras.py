"""Keras model files (.keras, .h5) -> .tflite bytes, converted with TensorFlow, then imported as TFLite.

* A model with Larq layers is converted with Larq Compute Engine's converter
  (`larq_compute_engine.convert_keras_model`), which needs no data: its binary layers are exact and
  its remaining float layers stay float32 (see tinygen/importers/lce_ops.py for what tinygen runs).
* Any other model is quantized to full int8 with TFLiteConverter (post-training quantization).
  That needs real input samples to calibrate the activation ranges: pass `calibration`, a float32
  array (or .npy file) of shape [N, *input_shape[1:]] (N around 100-500 typical inputs). Without it
  the conversion is refused, because tinygen builds integer code only and guessing ranges would
  silently lose accuracy. (A quantization-aware-trained model converts without calibration.)

TensorFlow is imported here only, and with TF_USE_LEGACY_KERAS=1 (Larq needs tf.keras 2) unless the
caller already imported TensorFlow.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from tinygen.errors import TinygenError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def is_keras_file(path: Path) -> bool:
    """A Keras v3 archive (.keras: zip with config.json and model.weights.h5) or an HDF5 (.h5) model."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if head == HDF5_MAGIC:
        return True
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as e:
            raise TinygenError(f"{path}: corrupt zip archive ({str(e)[:120]}); re-export the model") from None
        return "config.json" in names and any(n.endswith(".weights.h5") for n in names)
    return False


def tensorflow_quiet():
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # also silences oneDNN's start-up notice
    from tinygen.importers.quiet import native_stderr_silenced

    try:
        with native_stderr_silenced():
            import tensorflow as tf
    except ImportError as e:
        raise TinygenError("converting Keras models needs TensorFlow: pip install 'tinygen[tf]'") from e
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
    return tf


def _check_h5_config(path: Path) -> None:
    """A legacy .h5 model runs Lambda-layer bytecode and imports custom layer classes on load, and
    tf.keras has no safe mode for .h5: read the config JSON from the HDF5 attributes first."""
    import json

    try:
        import h5py
    except ImportError:
        raise TinygenError(f"{path}: checking a legacy .h5 model needs h5py; convert it to .keras or .tflite, or "
                           "pass --trust-pickle if you trust the file") from None
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
        config = json.loads(raw.decode() if isinstance(raw, bytes) else raw) if raw is not None else None
    except Exception as e:  # noqa: BLE001  (h5py raises many types for damaged files)
        raise TinygenError(f"{path}: unreadable HDF5 model file ({type(e).__name__}: {str(e)[:120]})") from None
    if config is None:
        raise TinygenError(f"{path}: the .h5 file holds no model config (weights only?); save the whole model")
    for layer in _config_layers(config):
        cls = str(layer.get("class_name", ""))
        module = str(layer.get("module") or "")
        registered = str(layer.get("registered_name") or "")
        if ">" in registered and not registered.lower().startswith("larq"):
            module, cls = registered.split(">", 1)
        if cls == "Lambda":
            raise TinygenError(f"{path}: layer '{layer.get('config', {}).get('name', '?')}' is a Lambda layer, whose "
                               "Python bytecode runs on load from a .h5; refused. Save the model as .keras (safe_mode) or "
                               "convert it to .tflite, or pass --trust-pickle if you trust the file")
        if module and not module.startswith(("keras", "tf_keras", "tensorflow", "larq")) or "." in cls:
            raise TinygenError(f"{path}: layer class {module + '.' if module else ''}{cls} is not a Keras layer (custom "
                               "code); refused. Convert the model to .tflite, or pass --trust-pickle if you trust the file")


def _config_layers(config):
    """Every layer config in a (nested) Keras model config."""
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict):
            yield config
        for v in config.values():
            yield from _config_layers(v)
    elif isinstance(config, list):
        for v in config:
            yield from _config_layers(v)


def _load(path: Path, tf):
    """Load with tf.keras (Keras 2, with Larq's layers when larq is installed), else Keras 3."""
    errors = []
    custom = {}
    try:
        import larq

        custom = {name: obj for name, obj in vars(larq.layers).items() if isinstance(obj, type)}
        custom.update({name: obj for name, obj in vars(larq.quantizers).items() if isinstance(obj, type)})
    except Exception:  # larq is optional (and needs tf.keras 2)
        pass
    try:
        return tf.keras.models.load_model(str(path), custom_objects=custom, compile=False)
    except Exception as e:
        errors.append(f"tf.keras: {e}")
    try:
        import keras

        return keras.saving.load_model(str(path), compile=False)
    except Exception as e:
        errors.append(f"keras: {e}")
    raise TinygenError(f"{path.name}: TensorFlow could not load the Keras model ({'; '.join(errors)[:400]})")


def _uses_larq(model) -> bool:
    return any(type(layer).__module__.startswith("larq") for layer in _layers(model))


def _layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):
            yield from _layers(layer)


def _calibration(calibration, input_shape, name: str) -> np.ndarray:
    if isinstance(calibration, (str, os.PathLike)):
        try:
            x = np.load(calibration, allow_pickle=False)
        except ValueError as e:  # object arrays need unpickling, which runs code from the file
            if "pickle" not in str(e):
                raise TinygenError(f"{calibration}: not a readable .npy file ({str(e)[:120]})") from None
            raise TinygenError(f"{calibration}: the calibration file holds pickled Python objects (object dtype); "
                               "save a float32 array with np.save(path, x.astype(np.float32))") from None
        except (OSError, EOFError) as e:
            raise TinygenError(f"{calibration}: cannot read the calibration file ({str(e)[:120]})") from None
    else:
        x = calibration
    try:
        x = np.asarray(x, np.float32)
    except (TypeError, ValueError):
        raise TinygenError(f"{name}: calibration samples are not numbers (dtype {np.asarray(x).dtype}); pass a "
                           "float32 array") from None
    want = tuple(int(d) for d in input_shape[1:])
    if x.shape[1:] != want or len(x) == 0:
        raise TinygenError(f"{name}: calibration samples have shape {list(x.shape)}, expected [N, "
                           f"{', '.join(map(str, want))}] float32 inputs of the model")
    return x


def load_keras_model(path: Path, trust_pickle: bool = False):
    """(the Keras model, the tensorflow module): a legacy .h5's config is checked for code first
    unless `trust_pickle`."""
    with open(path, "rb") as f:
        if f.read(8) == HDF5_MAGIC and not trust_pickle:
            _check_h5_config(path)
    tf = tensorflow_quiet()
    return _load(path, tf), tf


def keras_to_tflite(path: str | Path, calibration=None, trust_pickle: bool = False) -> bytes:
    """Convert a Keras model file to .tflite bytes (see the module docstring)."""
    path = Path(path)
    model, tf = load_keras_model(path, trust_pickle)
    if _uses_larq(model):
        import larq_compute_engine as lce

        return bytes(lce.convert_keras_model(model))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    if calibration is not None:
        x = _calibration(calibration, model.inputs[0].shape, path.name)

        def samples():
            for i in range(len(x)):
                yield [x[i:i + 1]]

        converter.representative_dataset = samples
    try:
        return bytes(converter.convert())
    except Exception as e:
        if calibration is None:
            raise TinygenError(
                f"{path.name}: a float Keras model needs calibration samples to be quantized to int8: pass "
                "--calibration samples.npy (float32 [N, *input shape], ~100-500 real inputs), or convert it to a "
                "full-integer .tflite yourself (TFLiteConverter with a representative_dataset, "
                "supported_ops=[TFLITE_BUILTINS_INT8], int8 input and output)") from None
        raise TinygenError(f"{path.name}: TensorFlow could not convert the model to int8: {str(e)[:400]}") from None


def import_keras(path: str | Path, calibration=None, trust_pickle: bool = False):
    """Convert with TensorFlow, then import the .tflite bytes."""
    from tinygen.importers.tflite import import_tflite

    path = Path(path)
    return import_tflite(path, data=keras_to_tflite(path, calibration, trust_pickle))


def main(argv=None) -> int:
    """python -m tinygen.importers.keras MODEL [--calibration X.npy] -o OUT.tflite"""
    import argparse

    p = argparse.ArgumentParser(prog="python -m tinygen.importers.keras", description=main.__doc__)
    p.add_argument("model", type=Path)
    p.add_argument("--calibration", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    args = p.parse_args(argv)
    args.output.write_bytes(keras_to_tflite(args.model, args.calibration))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
