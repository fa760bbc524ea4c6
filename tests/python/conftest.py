import os
import subprocess

import pytest


@pytest.fixture(scope="session")
def recur_bin():
    path = os.environ.get("RECUR_BIN")
    if not path:
        pytest.fail("RECUR_BIN is not set: run the tests through `make test` (ctest)")
    return path


@pytest.fixture
def run(recur_bin):
    def run_recur(*args):
        return subprocess.run([recur_bin, *map(str, args)], capture_output=True, text=True,
                              timeout=120)

    return run_recur


# Under the sanitizer build (tests/CMakeLists.txt), tests that train real models for minutes.
slow_under_sanitizers = pytest.mark.skipif(
    os.environ.get("RECUR_SANITIZED") == "1",
    reason="trains a real model for minutes under AddressSanitizer; the same code paths run "
           "in the other tests")
