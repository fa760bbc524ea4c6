"""`recur bench` end to end: the seed run against the notebook, a network's workloads, and the
products' FLOPs each run is credited with, counted by hand."""
import json

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


def check_timings(results, repeats):
    for r in results:
        assert r["runs"] == repeats
        assert 0 < r["min_s"] <= r["median_s"]
        assert abs(r["gflops"] - r["flops"] / r["median_s"] / 1e9) <= 1e-9 * r["gflops"]


def test_two_layer_lstm_is_credited_with_its_products(run):
    out = bench_json(run, "--cell", "lstm", "--layers", "2", "--input-size", "3", "--hidden", "5",
                     "--output-size", "2", "--steps", "4", "--batch", "2", "--repeats", "3",
                     "--warmup", "1", "--workload", "train,infer,stream")
    assert out["network"] == {"cell": "lstm", "layers": 2, "bidirectional": False,
                              "input_size": 3, "hidden_size": 5, "output_size": 2,
                              "dtype": "float32"}
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
    out = bench_json(run, "--bidirectional", "--input-size", "3", "--hidden", "4",
                     "--output-size", "2", "--steps", "5", "--batch", "3", "--dtype", "float64",
                     "--repeats", "2")
    assert out["network"]["bidirectional"] and out["network"]["dtype"] == "float64"
    # A row: forward 2 directions * (3*4 + 4*4) = 56, readout of both 8*2 = 16: 72;
    # backward 56 for the weight gradients, 2 * 4*4 = 32 through W_hh, 16 + 16 for the
    # readout's: 120. Without stream by default: the reverse direction needs the sequence.
    assert [(r["workload"], r["flops"]) for r in out["results"]] == [
        ("train", 2 * 15 * (72 + 120)), ("infer", 2 * 15 * 72)]
    check_timings(out["results"], 2)


def test_a_model_file_from_pytorch_is_timed_as_its_network(tmp_path, run):
    torch.manual_seed(1)
    model = Model(3, 6, 2, cell="gru", layers=2)
    save(tmp_path / "m.safetensors", dict(model.state_dict()))
    out = bench_json(run, "--model", tmp_path / "m.safetensors", "--steps", "3", "--repeats",
                     "2", "--warmup", "0")
    assert out["network"] == {"cell": "gru", "layers": 2, "bidirectional": False,
                              "input_size": 3, "hidden_size": 6, "output_size": 2,
                              "dtype": "float32"}
    assert [r["workload"] for r in out["results"]] == ["train", "infer", "stream"]
    check_timings(out["results"], 2)
    as_double = bench_json(run, "--model", tmp_path / "m.safetensors", "--dtype", "float64",
                           "--workload", "infer", "--repeats", "1")
    assert as_double["network"]["dtype"] == "float64"


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
