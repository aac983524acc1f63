"""Seeded mutation fuzzing of .pt2 and TorchScript files through the CLI: no traceback, crash or
hang on any of them (bounded to ~25 s; tests/fuzz/fuzz_models.py runs a longer campaign)."""

import os

import pytest

from tests.fuzz.mutate import fuzz
from tests.fuzz.seeds import payload_seeds, torch_seeds

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the fuzzer isolates each file in a forked child")


def test_mutated_torch_archives(tmp_path):
    seeds, argv = torch_seeds(tmp_path)
    marker = tmp_path / "payload_ran"
    extra_seeds, extra_argv = payload_seeds(tmp_path, marker)
    seeds.update(extra_seeds)
    argv.update(extra_argv)
    counts = fuzz(seeds, 400, tmp_path, seed=18, extra_argv=argv, budget_s=25, marker=marker)
    assert counts.files >= 5, counts.line()  # each accepted file is a full build with gcc
    assert counts.tracebacks == counts.crashes == counts.hangs == counts.payloads_run == 0, (counts.line(),
                                                                                         counts.examples)
