"""`recur bench` end to end: the seed run against the notebook, a network's workloads, and the
products' FLOPs each run is credited with, counted by hand."""
import json

import numpy as np
import pytest
import torch

from recur_safetensors import save
from seed_notebook import run_notebook
from test_pytorch_parity import Model


def bench_json(run, *args):
    result = run("bench", *args, "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def test_seed_run_ends_at_the_notebooks_loss(run):
    losses, *_ = run_notebook()
    out = bench_json(run, "--repeats", "3")
    assert out["workload"] == "seed" and out["repeats"] == 3
    assert abs(out["final_loss"] - losses[-1]) <= 1e-12 * abs(losses[-1])
    assert 0 < out["min_s"] <= out["median_s"]


def check_timings(results, samples):
    for r in results:
        assert r["samples"] == samples
        assert 0 < r["min_s"] <= r["median_s"]


def test_two_layer_lstm_is_credited_with_its_products(run):
    out = bench_json(run, "--cell", "lstm", "--layers", "2", "--input-size", "3", "--hidden", "5",
                     "--output-size", "2", "--steps", "4", "--batch", "2", "--repeats", "3",
                     "--warmup", "1", "--workload", "train,infer,stream")
    assert out["network"] == {"cell": "lstm", "layers": 2, "bidirectional": False,
                              "input_size": 3, "hidden_size": 5, "output_size": 2,
                              "dropout": 0.0, "dtype": "float32"}
    assert out["threads"] >= 1
    # Multiply-adds a row (one sequence, one step), 4 gates of 5 units = 20 columns:
    #   forward   layer 0: x W_ih^T 3*20 + h W_hh^T 5*20 = 160; layer 1: 5*20 + 5*20 = 200;
    #             readout 5*2 = 10; in all 370
    #   backward  weight gradients 160 + 200 + 10 = 370; dh through W_hh 20*5 twice = 200;
    #             dx into layer 0 20*5 = 100; the readout's dh 2*5 = 10; in all 680
    # 4 steps of 2 sequences are 8 rows; a stream step is one step of the 2.
    assert [(r["workload"], r["steps"], r["batch"], r["flops"]) for r in out["results"]] == [
        ("train", 4, 2, 2 * 8 * (370 + 680)), ("infer", 4, 2, 2 * 8 * 370),
        ("stream", 1, 2, 2 * 2 * 370)]
    check_timings(out["results"], 3)


def test_bidirectional_elman_in_float64_is_credited_with_both_directions(run):
    out = bench_json(run, "--workload", "train,infer", "--bidirectional", "--input-size", "3",
                     "--hidden", "4", "--output-size", "2", "--steps", "5", "--batch", "3",
                     "--dtype", "float64", "--repeats", "2")
    assert out["network"]["bidirectional"] and out["network"]["dtype"] == "float64"
    assert out["network"]["nonlinearity"] == "tanh"
    # A row: forward 2 directions * (3*4 + 4*4) = 56, readout of both 8*2 = 16: 72;
    # backward 56 for the weight gradients, 2 * 4*4 = 32 through W_hh, 16 + 16 for the
    # readout's: 120.
    assert [(r["workload"], r["flops"]) for r in out["results"]] == [
        ("train", 2 * 15 * (72 + 120)), ("infer", 2 * 15 * 72)]
    check_timings(out["results"], 2)


def test_two_bidirectional_gru_layers_are_credited_with_both_directions(run):
    out = bench_json(run, "--workload", "train", "--cell", "gru", "--layers", "2",
                     "--bidirectional", "--input-size", "2", "--hidden", "3", "--output-size", "4",
                     "--steps", "2", "--batch", "1", "--repeats", "1")
    # 3 gates of 3 units = 9 columns a direction. A row: forward, layer 0 2 * (2*9 + 3*9) = 90,
    # layer 1 reads both directions' 6 values: 2 * (6*9 + 3*9) = 162, readout 6*4 = 24: 276;
    # backward, weight gradients 90 + 162 + 24 = 276, dh through W_hh 2 * 9*3 twice = 108, dx
    # into layer 0 2 * 9*6 = 108, the readout's dh 4*6 = 24: 516. 2 rows.
    assert out["results"][0]["flops"] == 2 * 2 * (276 + 516)


def test_unsized_runs_fill_a_second_and_group_short_ones(run):
    out = bench_json(run, "--workload", "stream", "--hidden", "4")
    (result,) = out["results"]
    assert result["samples"] >= 5
    assert result["group"] > 1  # a step of 4 units takes far less than 10 us
    assert 0.5 <= result["samples"] * result["group"] * result["median_s"] <= 5


def draws(seed, *counts):
    np.random.seed(seed)
    return [np.random.randn(count) for count in counts]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_model_file_from_pytorch_is_run_as_pytorch_runs_it(tmp_path, run, dtype):
    """Each workload starts from the file's weights and draws its data from --seed: the first
    run's loss or mean output is PyTorch's on the same numbers."""
    torch.manual_seed(1)
    model = Model(3, 6, 2, cell="gru", layers=2)
    save(tmp_path / "m.safetensors", dict(model.state_dict()))
    T, B, seed = 3, 2, 7
    out = bench_json(run, "--model", tmp_path / "m.safetensors", "--steps", T, "--batch", B,
                     "--seed", seed, "--dtype", dtype, "--repeats", "2", "--warmup", "0")
    assert out["network"] == {"cell": "gru", "layers": 2, "bidirectional": False,
                              "input_size": 3, "hidden_size": 6, "output_size": 2,
                              "dropout": 0.0, "dtype": dtype}
    train, infer, stream = out["results"]
    assert [r["workload"] for r in out["results"]] == ["train", "infer", "stream"]
    check_timings(out["results"], 2)
    model = model.to(getattr(torch, dtype))
    as_tensor = lambda a, *shape: torch.from_numpy(a).to(getattr(torch, dtype)).reshape(*shape)
    x, target = draws(seed, T * B * 3, T * B * 2)
    with torch.no_grad():
        y = model(as_tensor(x, T, B, 3))
        loss = float(((y.double() - as_tensor(target, T, B, 2).double()) ** 2).mean())
        y_step = model(as_tensor(x[:B * 3], 1, B, 3))
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    assert abs(train["loss"] - loss) <= tolerance * loss
    assert abs(infer["output_mean"] - float(y.double().mean())) <= tolerance
    assert abs(stream["output_mean"] - float(y_step.double().mean())) <= tolerance


def test_a_bidirectional_model_is_refused_a_stream_run(tmp_path, run):
    model = Model(2, 4, 1, cell="lstm", bidirectional=True)
    save(tmp_path / "m.safetensors", dict(model.state_dict()))
    result = run("bench", "--model", tmp_path / "m.safetensors", "--workload", "stream")
    assert result.returncode == 2
    assert "--workload stream" in result.stderr and "bidirectional" in result.stderr


def test_a_missing_model_file_is_named(tmp_path, run):
    result = run("bench", "--model", tmp_path / "none.safetensors")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "none.safetensors" in result.stderr
