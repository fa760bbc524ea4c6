"""`pip install --no-build-isolation .` works offline from Debian's packages alone, into a
virtual environment that sees Debian's numpy, and the installed module is the whole thing:
it imports from the environment (not this tree) and reproduces the seed notebook."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

SEED = """
import numpy as np, recur
np.random.seed(42)
x = np.random.randn(10, 1)
rnn = recur.RNN(1, 8, 1, lr=0.01)
losses = [rnn.train_step(x, 2 * x) for _ in range(200)]
print(recur.__file__)
print(f"{losses[19]:.4f} {losses[-1]:.4f}")
"""


def test_pip_install_into_a_virtual_environment(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["RECUR_JOBS"] = "2"
    result = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation",
                             "--no-index", str(ROOT)], env=env, capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = subprocess.run([str(venv / "bin" / "python"), "-c", SEED], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    where, numbers = run.stdout.splitlines()
    assert where.startswith(str(venv))
    assert numbers == "9.2975 0.0184"  # the seed's printed losses at epochs 20 and 200
