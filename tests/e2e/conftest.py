"""End-to-end tests log in through real server processes (browser fixtures: tests/browser.py)."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """Overrides the suite's MD5 hasher: the servers under test run in other processes with
    the real hashers, and must be able to check the passwords the tests set."""
