import pytest

from tinygen.nn.spnet import export_spnet
from tests.spnet.models import calibrated, example_input

SWITCHES = (8, 4, 2, 1)


@pytest.fixture(scope="session")
def spnet_model():
    return calibrated(SWITCHES)


@pytest.fixture(scope="session")
def exported(spnet_model, tmp_path_factory):
    """One torch.export per switch is the slow part (~2 s each): done once for every test here."""
    return export_spnet(spnet_model, example_input(), tmp_path_factory.mktemp("sp") / "tiny.spnet")


@pytest.fixture(scope="session")
def relu_pt2(tmp_path_factory):
    import torch

    from tests.spnet.models import relu_net

    path = tmp_path_factory.mktemp("relu") / "relu.pt2"
    torch.export.save(torch.export.export(relu_net(4), (example_input(),)), str(path))
    return path


@pytest.fixture(scope="session")
def built(exported, tmp_path_factory):
    """The tiny SP-Net built for the host through the CLI (`tinygen build tiny.spnet`)."""
    from tinygen import spnet
    from tinygen.cli import main

    out = tmp_path_factory.mktemp("sp") / "out"
    assert main(["build", str(exported), "-o", str(out)]) == 0
    return spnet.load(out)
