"""Train FlyNet-h3 on Fashion-MNIST, quantization-aware, and export it for tinygen.

    .venv/bin/python examples/flynet/train.py [--out examples/flynet/build] [--samples 24000] [--epochs 2]

Data: Debian's `dataset-fashion-mnist` package (IDX files in /usr/share/datasets/fashion-mnist/,
installed by scripts/setup.sh), read here with numpy. Training is sized for two CPU cores in a
couple of minutes: a random subset of the 60,000 training images, two epochs, AdamW with a
one-cycle schedule. The first 3/4 of training runs with the activation quantizers observing only
(float activations, EMA ranges; fake-quant steps cost about three times as much on a CPU), the
last 1/4 fake-quantizes (QAT), so the exported model carries settled int8 ranges. With softmax attention the temperature is annealed from 10 to the target.
Before export the biases are snapped onto the values the int8 graph realizes (tinygen.nn.deploy),
so that PyTorch computes what the MCU computes.
Exports `flynet_q8.pt` (a torch.export archive; tinygen detects it by content) and `flynet_q8.json`
(the constructor arguments, so run.py can rebuild the eager model for batched evaluation).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: no OpenMP spinning on shared cores

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from flynet import FlyNet, OnGridOf, export, flynet_fashion  # noqa: E402

from tinygen.nn import QuantAct  # noqa: E402
from tinygen.nn.deploy import snap_bias  # noqa: E402

# torch warns that the archive's name does not end in .pt2; the brief's name is flynet_q8.pt
logging.getLogger("torch.export.pt2_archive._package").setLevel(logging.ERROR)

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
MEAN, STD = 0.2860, 0.3530  # of the training images, in [0, 1]
SHAPE = (1, 1, 28, 28)
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or plain): magic 0x0000 TT DD (TT = 0x08 for uint8), DD big-endian
    uint32 dims, then the row-major data."""
    raw = gzip.open(path).read() if str(path).endswith(".gz") else Path(path).read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} bytes of data for dims {dims}")
    return data.reshape(dims)


@dataclass
class Split:
    x_train: np.ndarray  # float32 [N, 1, 28, 28], standardised
    y_train: np.ndarray  # int64
    x_test: np.ndarray
    y_test: np.ndarray


def load_fashion(data_dir: Path = DATA_DIR) -> Split:
    def images(name):
        return ((read_idx(data_dir / name).astype(np.float32) / 255.0 - MEAN) / STD)[:, None]

    def labels(name):
        return read_idx(data_dir / name).astype(np.int64)

    if not (data_dir / "train-images-idx3-ubyte.gz").exists():
        raise SystemExit(f"{data_dir}: Fashion-MNIST not found; install it with `apt-get install dataset-fashion-mnist` "
                         "(scripts/setup.sh does)")
    return Split(images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
                 images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


class _ObserveOnly:
    """While active, every QuantAct only tracks its range and quantizers that borrow another's
    grid (OnGridOf) pass through: float activations, settling int8 ranges."""

    def __init__(self, model: nn.Module):
        self.acts = [m for m in model.modules() if isinstance(m, QuantAct)]
        self.borrowed = [m for m in model.modules() if isinstance(m, OnGridOf)]

    def __enter__(self):
        for q in self.acts:
            q.forward = self._observer(q)
        for q in self.borrowed:
            q.forward = _identity
        return self

    def __exit__(self, *exc):
        for q in self.acts + self.borrowed:
            del q.forward

    @staticmethod
    def _observer(q: QuantAct):
        def forward(x):
            if q.training:
                q._observe(x)
            return x
        return forward


def _identity(x):
    return x


@torch.no_grad()
def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    model.eval()
    pred = np.concatenate([model(torch.from_numpy(x[i:i + batch])).argmax(1).numpy() for i in range(0, len(x), batch)])
    return float((pred == y).mean())


def train(split: Split, width: float = 0.5, heads: int = 3, attention: str = "sigmoid", temperature: float = 3.0,
          samples: int = 24000, epochs: int = 2, batch: int = 128, lr: float = 4e-3, float_fraction: float = 0.75,
          seed: int = 0, log=print) -> FlyNet:
    torch.manual_seed(seed)
    model = flynet_fashion(width=width, heads=heads, attention=attention, temperature=temperature)
    rng = np.random.default_rng(seed)
    subset = rng.permutation(len(split.x_train))[:samples]
    x, y = torch.from_numpy(split.x_train[subset]), torch.from_numpy(split.y_train[subset])
    steps = epochs * ((len(x) + batch - 1) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.25)
    gen = torch.Generator().manual_seed(seed)
    step, float_steps, t0 = 0, int(float_fraction * steps), time.perf_counter()
    observe = _ObserveOnly(model)
    observe.__enter__()
    for epoch in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            if step == float_steps:
                observe.__exit__()
            if attention == "softmax":  # anneal 10 -> T over the first 3/4 of training
                model.set_temperature(max(temperature, 10.0 + (temperature - 10.0) * step / (0.75 * steps)))
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx], label_smoothing=0.05).backward()
            opt.step()
            sched.step()
            step += 1
        if log:
            log(f"epoch {epoch + 1}/{epochs}: {time.perf_counter() - t0:.0f} s, "
                f"{'float' if step <= float_steps else 'fake-quant'} training")
    if step <= float_steps:
        observe.__exit__()
    model.set_temperature(temperature)
    return model.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "build")
    ap.add_argument("--width", type=float, default=0.5)
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--attention", choices=("sigmoid", "softmax"), default="sigmoid")
    ap.add_argument("--temperature", type=float, default=3.0, help="softmax attention temperature after annealing")
    ap.add_argument("--samples", type=int, default=24000, help="training images used (of 60,000)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    split = load_fashion()
    t0 = time.perf_counter()
    model = train(split, args.width, args.heads, args.attention, args.temperature, args.samples, args.epochs)
    seconds = time.perf_counter() - t0
    print(f"trained FlyNet-h{args.heads} {args.width}x ({args.attention}) on {args.samples} images x {args.epochs} "
          f"epochs in {seconds:.0f} s")
    print(f"PyTorch fake-quant test accuracy: {accuracy(model, split.x_test, split.y_test):.4f}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "flynet_q8.pt"
    print(f"biases of {snap_bias(model, torch.zeros(SHAPE))} layers snapped onto the int8 graph's values; "
          f"test accuracy now {accuracy(model, split.x_test, split.y_test):.4f}")
    export(model, SHAPE, path)
    hyper = {"width": args.width, "heads": args.heads, "attention": args.attention, "temperature": args.temperature}
    path.with_suffix(".json").write_text(json.dumps(hyper, indent=1, sort_keys=True) + "\n")
    print(f"exported {path} (+ {path.with_suffix('.json').name}: the constructor arguments)")
    return 0


def snap_export(path: Path) -> bool:
    """Snap the biases of an exported FlyNet (one trained before tinygen.nn.deploy existed) and
    export it again in place; False when they were already snapped."""
    model = load_eager(path)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    snap_bias(model, torch.zeros(SHAPE))
    if all(torch.equal(before[k], v) for k, v in model.state_dict().items()):
        return False
    export(model, SHAPE, path)
    return True


def load_eager(path: Path) -> FlyNet:
    """The exported model as an eager module (batched evaluation; the export is fixed to batch 1):
    rebuilt from the .json beside it and loaded with the archive's parameters and buffers."""
    hyper = json.loads(Path(path).with_suffix(".json").read_text())
    model = flynet_fashion(**hyper)
    model.load_state_dict(torch.export.load(str(path)).state_dict, strict=True)
    return model.eval()


if __name__ == "__main__":
    sys.exit(main())
