"""The character-model example runs end to end (a short run) and its bits per character fall."""
import math
import os
import subprocess

from conftest import slow_under_sanitizers

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "charlm", "run.sh")


@slow_under_sanitizers
def test_charlm_example_learns_and_samples(tmp_path, recur_bin):
    out = subprocess.run([EXAMPLE, recur_bin, str(tmp_path), "8"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    rows = [line.split() for line in lines[1:9]]
    assert [int(r[0]) for r in rows] == list(range(1, 9))
    train_bpc = [float(r[1]) for r in rows]
    # Uniform guessing over the license's characters costs log2(V) bits; after 8 epochs the
    # model is well below its first epoch.
    vocabulary = len(set(open("/usr/share/common-licenses/GPL-3", encoding="utf-8").read()))
    assert train_bpc[0] < math.log2(vocabulary) + 0.5
    assert train_bpc[-1] < train_bpc[0] - 0.5
    assert lines[9] == "sample (temperature 0.6):"
    assert lines[10].startswith("The ") and len("".join(lines[10:])) >= 300
