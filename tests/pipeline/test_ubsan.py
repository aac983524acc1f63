"""The generated C of accepted models is free of undefined behaviour: each model's library is
compiled with UBSan (every check fatal) and run in a child process on seeded inputs that include
the int8 extremes, with the fast kernels selected as for a board, then compared with the reference."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tinygen.compile.host import find_cc

pytestmark = pytest.mark.host

RUNNER = textwrap.dedent("""
    import sys, numpy as np
    from tinygen.compile.host import HostModel
    import tinygen
    program = tinygen.load(sys.argv[1])
    lib = HostModel(sys.argv[2], program.prefix, program.inputs, program.outputs)
    rng = np.random.default_rng(4)
    for i in range(6):
        xs = []
        for spec in program.inputs:
            x = rng.integers(-128, 128, spec.shape).astype(np.int8)
            if i == 0: x[...] = -128
            if i == 1: x[...] = 127
            xs.append(x)
        out = lib.invoke_one(xs)
        ref = program.reference(*xs)
        ref = ref if isinstance(ref, (list, tuple)) else [ref]
        for a, b in zip(out, ref):
            assert np.array_equal(a, np.asarray(b).reshape(a.shape)), "C differs from the reference"
    print("ok")
""")


@pytest.mark.parametrize("name", ["conv_stack", "branches", "pools", "activations"])
def test_generated_c_is_ubsan_clean(name, tmp_path):
    torch = pytest.importorskip("torch")
    import tinygen
    from tests.torch_models import make

    model, shape = make(name)
    path = tmp_path / f"{name}.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(path))
    program = tinygen.build(path, out_dir=tmp_path / "out")
    src = tmp_path / "out" / "model"
    lib = tmp_path / "libubsan_model.so"
    cmd = [find_cc(), "-std=c99", "-O1", "-g", "-fPIC", "-shared", "-fsanitize=undefined",
           "-fno-sanitize-recover=all", f"-I{src}", "-o", str(lib), *map(str, sorted(src.glob("*.c")))]
    built = subprocess.run(cmd, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    run = subprocess.run([sys.executable, "-c", RUNNER, str(program.out_dir), str(lib)], capture_output=True,
                         text=True, timeout=300)
    assert "runtime error" not in run.stderr, run.stderr[-2000:]
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stderr[-2000:]
