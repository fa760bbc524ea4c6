"""`recur demo` against the seed notebook's own numpy code, for the seed's settings and others."""
import json

import numpy as np
import pytest

from seed_notebook import run_notebook

SETTINGS = [
    {},
    {"seed": 0, "steps": 25, "input_size": 3, "hidden": 16, "lr": 0.005, "epochs": 150,
     "scale": -1.5},
    {"seed": 123, "steps": 5, "input_size": 2, "hidden": 4, "lr": 0.02, "epochs": 300,
     "scale": 0.5},
    {"seed": 7, "steps": 40, "input_size": 1, "hidden": 32, "lr": 0.001, "epochs": 60,
     "scale": 3.0},
    {"seed": 2024, "steps": 12, "input_size": 2, "hidden": 12, "lr": 0.01, "epochs": 100,
     "scale": 1.0, "init_scale": 0.1},
    {"seed": 4294967295, "steps": 3, "input_size": 1, "hidden": 1, "lr": 0.05, "epochs": 400,
     "scale": 2.0},
]


def flags(settings):
    out = []
    for key, value in settings.items():
        out += ["--" + key.replace("_", "-"), str(value)]
    return out


def assert_relative(actual, expected, rtol=1e-10):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    scale = np.maximum(np.abs(actual), np.abs(expected))
    worst = np.max(np.abs(actual - expected) / np.where(scale > 0, scale, 1.0))
    assert worst <= rtol, f"largest relative difference {worst:.3e}"


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: " ".join(flags(s)) or "seed")
def test_json_agrees_with_numpy(run, settings):
    losses, y_pred, x_data, y_data, _ = run_notebook(**settings)
    result = run("demo", "--json", *flags(settings))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"losses", "predictions", "x", "y"}
    assert_relative(out["x"], x_data, rtol=0)
    assert_relative(out["y"], y_data, rtol=0)
    assert len(out["losses"]) == len(losses)
    assert_relative(out["losses"], losses)
    assert_relative(out["predictions"], y_pred)


def test_json_numbers_round_trip(run):
    """Every number printed with enough digits to give back the same double."""
    _, _, x_data, _, _ = run_notebook(epochs=1)
    out = json.loads(run("demo", "--json", "--epochs", "1").stdout)
    assert np.array_equal(np.array(out["x"]), x_data)
