"""PyTorch's PT2E path into tinygen's int8 scheme (needs the optional torchao==0.18.0).

    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e, convert_pt2e
    from tinygen.quantizer import TinygenQuantizer

    m = torch.export.export(model.eval(), (example,)).module()
    m = prepare_pt2e(m, TinygenQuantizer())          # or prepare_qat_pt2e(m, TinygenQuantizer(is_qat=True))
    for x in samples: m(x)                           # calibrate (or train, for QAT)
    torch.export.save(torch.export.export(convert_pt2e(m), (example,)), "model.pt2")

`quantize_ptq(model, samples)` does that PTQ in one call (and `tinygen build model.pt2
--calibration x.npy` does it for a float model file). The Quantizer lives in
tinygen/importers/torch/quantizer.py and is imported on first use, so importing tinygen needs
neither torch nor torchao.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "TinygenQuantizer":
        try:
            from tinygen.importers.torch.quantizer import TinygenQuantizer
        except ImportError as e:
            from tinygen.errors import TinygenError

            raise TinygenError(f"tinygen.quantizer needs torchao: pip install torchao==0.18.0 ({e})") from None
        return TinygenQuantizer
    if name == "quantize_ptq":
        from tinygen.importers.torch.ptq import quantize_ptq

        return quantize_ptq
    raise AttributeError(name)
