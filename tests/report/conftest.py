import pytest

from tests.plan.graphs import registered_test_op


@pytest.fixture(autouse=True)
def _register_test_op():
    with registered_test_op():
        yield
