import pytest

from streams.text.datasets import shared_available, shared_file


@pytest.fixture
def tipdm():
    """Path factory for the shared tipdm2020 files; skips the test where they are absent."""
    if not shared_available("README.md"):
        pytest.skip("shared tipdm2020 data not found (../shared/data/tipdm2020 or HOTLINE_SHARED_DIR)")
    return shared_file
