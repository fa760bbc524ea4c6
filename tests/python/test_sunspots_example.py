"""The sunspot example runs end to end and beats the naive last-value forecast."""
import os
import re
import subprocess

from conftest import slow_under_sanitizers

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "sunspots", "run.sh")


@slow_under_sanitizers
def test_sunspot_forecaster_beats_naive(tmp_path, recur_bin):
    out = subprocess.run([EXAMPLE, recur_bin, str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    match = re.search(r"recur ([0-9.]+), naive last value ([0-9.]+)", out.stdout)
    assert match, out.stdout
    recur_mae, naive_mae = float(match.group(1)), float(match.group(2))
    assert naive_mae > 20  # the data's own property: 1989-2008 moves about 22 a year
    assert recur_mae < 0.75 * naive_mae
