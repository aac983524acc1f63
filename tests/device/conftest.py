import pytest

from tests.device.models import missing_tools


@pytest.fixture(scope="session")
def fw_root(tmp_path_factory):
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    return tmp_path_factory.getbasetemp() / "firmware-cache"
