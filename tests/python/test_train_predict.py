"""`recur train`, `recur predict` and `recur info` end to end, and the trained model in PyTorch."""
import json
import math
import os
import re
import struct

import pytest
import torch

from recur_safetensors import load
from test_pytorch_parity import Model


def write_series(path, sequences=3, steps=40):
    with open(path, "w") as f:
        f.write("id,u,v,w\n")
        for s in range(sequences):
            for t in range(steps):
                f.write(f"s{s},{math.sin(0.2 * t + s):.6f},{math.cos(0.3 * t):.6f},"
                        f"{0.5 * math.sin(0.2 * (t + 1) + s) + 0.1:.6f}\n")


def train_flags(tmp_path, **extra):
    flags = {"data": tmp_path / "d.csv", "input-columns": "u,v", "target-columns": "w",
             "sequence-column": "id", "hidden": 8, "epochs": 5, "lr": 0.05, "batch-size": 2,
             "save": tmp_path / "m.safetensors", "seed": 3}
    flags.update(extra)
    out = []
    for key, value in flags.items():
        if value is not None:
            out += ["--" + key, str(value)]
    return out


NETWORKS = {
    "elman": [],
    "lstm-2-layers-dropout": ["--cell", "lstm", "--layers", "2", "--dropout", "0.2"],
    "gru-bidirectional": ["--cell", "gru", "--bidirectional"],
}


@pytest.mark.parametrize("network", list(NETWORKS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pytorch_predicts_what_recur_predicts(tmp_path, run, dtype, network):
    write_series(tmp_path / "d.csv")
    result = run("train", *train_flags(tmp_path, dtype=dtype, validation=0.3), *NETWORKS[network])
    assert result.returncode == 0, result.stderr
    assert "validation" in result.stderr  # reported every epoch
    predicted = run("predict", "--model", tmp_path / "m.safetensors", "--data",
                    tmp_path / "d.csv")
    assert predicted.returncode == 0, predicted.stderr
    lines = predicted.stdout.splitlines()
    assert lines[0] == "id,step,w"
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == 3 * 40

    tensors, meta = load(tmp_path / "m.safetensors")
    torch_dtype = torch.float32 if dtype == "float32" else torch.float64
    model = Model(int(meta["input_size"]), int(meta["hidden_size"]), int(meta["output_size"]),
                  cell=meta["cell"], layers=int(meta["layers"]),
                  bidirectional=meta["bidirectional"] == "true").to(torch_dtype)
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optimizer.")})
    model.eval()  # no dropout in prediction
    norm = json.loads(meta["normalization"])
    with open(tmp_path / "d.csv") as f:
        data = [line.strip().split(",") for line in f.readlines()[1:]]
    tol = 1e-5 if dtype == "float32" else 1e-12
    for s in range(3):
        seq = [r for r in data if r[0] == f"s{s}"]
        x = torch.tensor([[float(r[1]), float(r[2])] for r in seq], dtype=torch.float64)
        x = ((x - torch.tensor(norm["input_mean"], dtype=torch.float64))
             / torch.tensor(norm["input_std"], dtype=torch.float64))
        with torch.no_grad():
            y = model(x.to(torch_dtype).unsqueeze(1)).squeeze(1).to(torch.float64)
        y = y * norm["target_std"][0] + norm["target_mean"][0]
        ours = torch.tensor([float(r[2]) for r in rows if r[0] == f"s{s}"], dtype=torch.float64)
        assert float((ours - y[:, 0]).abs().max()) <= tol * float(y.abs().max())


OPTIMIZER_FLAGS = {
    "sgd": {},
    "sgd-nesterov-clip": {"momentum": 0.9, "clip": 0.5, "weight-decay": 0.01},
    "adam": {"optimizer": "adam", "lr": 0.01},
    "rmsprop-momentum": {"optimizer": "rmsprop", "lr": 0.005, "momentum": 0.5},
}


@pytest.mark.parametrize("optimizer", list(OPTIMIZER_FLAGS))
def test_resume_reaches_the_uninterrupted_parameters(tmp_path, run, optimizer):
    write_series(tmp_path / "d.csv")
    extra = dict(OPTIMIZER_FLAGS[optimizer])
    nesterov = ["--nesterov"] if optimizer == "sgd-nesterov-clip" else []
    whole = run("train", *train_flags(tmp_path, epochs=6, save=tmp_path / "whole.safetensors",
                                      **extra), *nesterov)
    assert whole.returncode == 0, whole.stderr
    # A run that stopped after its checkpoint at epoch 4, then resumed to 6: the optimizer's
    # state (momentum, moments, step count) travels in the checkpoint.
    first = run("train", *train_flags(tmp_path, epochs=4, save=tmp_path / "ckpt.safetensors",
                                      **{"checkpoint-every": 2}, **extra), *nesterov)
    assert first.returncode == 0, first.stderr
    resumed = run("train", *train_flags(tmp_path, epochs=6, save=tmp_path / "resumed.safetensors",
                                        resume=tmp_path / "ckpt.safetensors", **extra), *nesterov)
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 5/6" in resumed.stderr and "epoch 4/6" not in resumed.stderr
    a, _ = load(tmp_path / "whole.safetensors")
    b, meta = load(tmp_path / "resumed.safetensors")
    assert meta["epochs_done"] == "6"
    for name in a:
        assert torch.equal(a[name], b[name]), name
    # Resuming with different flags is refused.
    other = run("train", *train_flags(tmp_path, epochs=6,
                                      resume=tmp_path / "ckpt.safetensors", **dict(extra, lr=0.02)),
                *nesterov)
    assert other.returncode == 2
    assert "--resume" in other.stderr and "lr" in other.stderr
    for changed in (["--bptt", "3"], ["--clip", "0.1"], ["--target", "last"],
                    ["--schedule", "cosine"], ["--warmup", "2"]):
        refused = run("train", *train_flags(tmp_path, epochs=6,
                                            resume=tmp_path / "ckpt.safetensors", **extra),
                      *nesterov, *changed)
        assert refused.returncode == 2, changed


def test_log_has_one_json_line_per_epoch(tmp_path, run):
    write_series(tmp_path / "d.csv")
    result = run("train", *train_flags(tmp_path, epochs=3, log=tmp_path / "log.jsonl",
                                       validation=0.3))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
    assert [line["epoch"] for line in lines] == [1, 2, 3]
    assert all(line["loss"] > 0 and line["validation_loss"] > 0 and line["grad_norm"] > 0
               for line in lines)


def test_horizon_feeds_predictions_back(tmp_path, run):
    write_series(tmp_path / "d.csv", sequences=1, steps=30)
    result = run("train", *train_flags(tmp_path, **{"input-columns": "u", "target-columns": "u",
                                                     "forecast": None}), "--forecast")
    assert result.returncode == 0, result.stderr
    out = run("predict", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "d.csv",
              "--horizon", "4", "--output", tmp_path / "p.csv")
    assert out.returncode == 0, out.stderr
    rows = open(tmp_path / "p.csv").read().splitlines()
    assert rows[0] == "id,step,u"
    assert [int(r.split(",")[1]) for r in rows[1:]] == list(range(1, 34))  # 30 rows + 3 more
    # Feeding back by hand: append the first forecast as a row and predict again; its forecast
    # is the horizon's second row.
    first = rows[30].split(",")
    assert first[1] == "30"
    with open(tmp_path / "d.csv") as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    extended = lines[-1].split(",")
    extended[header.index("u")] = first[2]
    (tmp_path / "e.csv").write_text("\n".join(lines + [",".join(extended)]) + "\n")
    again = run("predict", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "e.csv")
    last = again.stdout.splitlines()[-1].split(",")
    assert last[1] == "31"
    assert float(last[2]) == pytest.approx(float(rows[31].split(",")[2]), rel=1e-5)
    bad = run("predict", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "d.csv",
              "--horizon", "0.5")
    assert bad.returncode == 2 and "--horizon" in bad.stderr


def test_threads_change_nothing_but_the_time(tmp_path, run):
    """--threads, for any command: 16 sequences in batches of 16 are two groups of the
    product kernel's rows, so the time loops can split (their first runs always do), and the
    weight gradients' products split too; one thread splits nothing. The model files and the
    predictions are the same, byte for byte."""
    write_series(tmp_path / "d.csv", sequences=16, steps=40)
    outputs = []
    for threads in ("1", "2"):
        model = tmp_path / f"m{threads}.safetensors"
        result = run("--threads", threads, "train",
                     *train_flags(tmp_path, **{"cell": "lstm", "hidden": 160, "epochs": 2,
                                               "batch-size": 16, "save": model}))
        assert result.returncode == 0, result.stderr
        predicted = run("predict", "--threads", threads, "--model", model, "--data",
                        tmp_path / "d.csv")
        assert predicted.returncode == 0, predicted.stderr
        outputs.append((model.read_bytes(), predicted.stdout))
    assert outputs[0][0] == outputs[1][0]
    assert outputs[0][1] == outputs[1][1]


def test_info_describes_the_file(tmp_path, run):
    write_series(tmp_path / "d.csv")
    assert run("train", *train_flags(tmp_path)).returncode == 0
    out = run("info", tmp_path / "m.safetensors")
    assert out.returncode == 0
    assert "input 2, hidden 8, output 1" in out.stdout
    assert "rnn.weight_hh_l0" in out.stdout and "[8, 8]" in out.stdout


BAD_DATA = [
    ("id,u,v,w\ns0,1,2,3\ns0,1,2\n", ":3: 3 columns, expected 4"),
    ("id,u,v,w\ns0,1,2,3\ns0,1,x,3\n", ':3: column 3 ("v"): "x" is not a number'),
    ("id,u,v,w\ns0,1,2,3\ns0,1,nan,3\n", ':3: column 3 ("v"): nan is not a finite number'),
    ("id,u,v,w\ns0,1,2,3\ns0,1,inf,3\n", ':3: column 3 ("v"): inf is not a finite number'),
    ("id,u,v,w\ns0,1,2,3\ns0,1,1e999,3\n", ':3: column 3 ("v"): 1e999 is outside the range'),
    ("id,u,w\ns0,1,3\ns0,1,3\n", 'no column named "v"'),
    ("", "the file is empty"),
    ("id,u,v,w\ns0,1,2,3\ns0,1,2,3\ns1,1,2,3\n", ':4: sequence "s1" has 1 row'),
]


@pytest.mark.parametrize("text,message", BAD_DATA, ids=[m for _, m in BAD_DATA])
def test_bad_data_is_refused_and_nothing_is_written(tmp_path, run, text, message):
    (tmp_path / "d.csv").write_text(text)
    result = run("train", *train_flags(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith(f"recur: error: {tmp_path / 'd.csv'}")
    assert message in result.stderr
    assert not (tmp_path / "m.safetensors").exists()
    assert os.listdir(tmp_path) == ["d.csv"]


def test_a_failed_run_keeps_the_good_model(tmp_path, run):
    write_series(tmp_path / "d.csv")
    assert run("train", *train_flags(tmp_path)).returncode == 0
    before = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "d.csv").write_text("id,u,v,w\ns0,1,2,3\ns0,1,oops,3\n")
    assert run("train", *train_flags(tmp_path)).returncode == 1
    assert (tmp_path / "m.safetensors").read_bytes() == before


def test_damaged_model_files_are_refused(tmp_path, run):
    write_series(tmp_path / "d.csv")
    assert run("train", *train_flags(tmp_path)).returncode == 0
    good = (tmp_path / "m.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", good[:8])
    damaged = {
        "short.safetensors": good[:5],
        "past_end.safetensors": struct.pack("<Q", len(good)) + good[8:],
        "json.safetensors": good[:8] + b"x" + good[9:],
        "truncated.safetensors": good[:-4],
    }
    for name, data in damaged.items():
        (tmp_path / name).write_bytes(data)
        for args in (["info", tmp_path / name],
                     ["predict", "--model", tmp_path / name, "--data", tmp_path / "d.csv"]):
            result = run(*args)
            assert result.returncode == 1, (name, result.stderr)
            assert result.stderr.startswith(f"recur: error: {tmp_path / name}: "), result.stderr


BAD_FLAGS = [
    (["--hidden", "0"], "--hidden"),
    (["--lr", "-1"], "--lr"),
    (["--validation", "1.5"], "--validation"),
    (["--loss", "huber"], "--loss"),
    (["--dtype", "float16"], "--dtype"),
    (["--optimizer", "lbfgs"], "--optimizer"),
    (["--momentum", "1.5"], "--momentum"),
    (["--nesterov"], "--nesterov"),
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum"),
    (["--clip", "-1"], "--clip"),
    (["--weight-decay", "nan"], "--weight-decay"),
    (["--normalize", "minmax"], "--normalize"),
    (["--input-columns", "u,,v"], "--input-columns"),
    (["--init-method", "he"], "--init-method"),
    (["--optimizer", "rmsprop", "--momentum", "0.5", "--nesterov"], "--nesterov"),
    (["--schedule", "cosine", "--warmup", "2", "--min-lr", "0.001"], "--warmup"),
]


@pytest.mark.parametrize("flags,name", BAD_FLAGS, ids=[n for _, n in BAD_FLAGS])
def test_bad_train_flags_are_usage_errors(tmp_path, run, flags, name):
    write_series(tmp_path / "d.csv")
    result = run("train", *train_flags(tmp_path), *flags)
    assert result.returncode == 2
    assert result.stderr.startswith("recur: error: " + name)
    assert not (tmp_path / "m.safetensors").exists()


def test_training_starts_from_a_pytorch_written_file(tmp_path, run):
    write_series(tmp_path / "d.csv")
    torch.manual_seed(0)
    model = Model(2, 6, 1)
    from recur_safetensors import save
    save(tmp_path / "torch.safetensors", model.state_dict())
    result = run("train", *train_flags(tmp_path, init=tmp_path / "torch.safetensors", epochs=1,
                                       lr=1e-12, hidden=None))
    assert result.returncode == 0, result.stderr
    tensors, meta = load(tmp_path / "m.safetensors")
    assert meta["hidden_size"] == "6"  # taken from the file
    # After one step with a negligible learning rate, the one bias is PyTorch's two summed.
    expected = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    assert torch.allclose(tensors["rnn.bias_ih_l0"], expected.detach(), atol=1e-6)
    assert torch.allclose(tensors["rnn.weight_hh_l0"], model.rnn.weight_hh_l0.detach(), atol=1e-6)
    clash = run("train", *train_flags(tmp_path, init=tmp_path / "torch.safetensors", hidden=9))
    assert clash.returncode == 2 and clash.stderr.startswith("recur: error: --hidden: 9, but")
    clash = run("train", *train_flags(tmp_path, init=tmp_path / "torch.safetensors",
                                      hidden=None, nonlinearity="relu"))
    assert clash.returncode == 2
    assert clash.stderr.startswith("recur: error: --nonlinearity: relu, but")


def test_relu_model_trains_and_predicts_as_in_pytorch(tmp_path, run):
    write_series(tmp_path / "d.csv")
    result = run("train", *train_flags(tmp_path, nonlinearity="relu", dtype="float64"))
    assert result.returncode == 0, result.stderr
    tensors, meta = load(tmp_path / "m.safetensors")
    assert meta["nonlinearity"] == "relu"
    model = Model(2, 8, 1, nonlinearity="relu").double()
    model.load_state_dict(tensors)
    out = run("predict", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "d.csv")
    norm = json.loads(meta["normalization"])
    rows = [line.split(",") for line in out.stdout.splitlines()[1:] if line.startswith("s0,")]
    data = [line.strip().split(",") for line in open(tmp_path / "d.csv").readlines()[1:]]
    x = torch.tensor([[float(r[1]), float(r[2])] for r in data if r[0] == "s0"],
                     dtype=torch.float64)
    x = ((x - torch.tensor(norm["input_mean"], dtype=torch.float64))
         / torch.tensor(norm["input_std"], dtype=torch.float64))
    with torch.no_grad():
        y = model(x.unsqueeze(1))[:, 0, 0] * norm["target_std"][0] + norm["target_mean"][0]
    ours = torch.tensor([float(r[2]) for r in rows], dtype=torch.float64)
    assert float((ours - y).abs().max()) <= 1e-12 * float(y.abs().max())


def test_progress_line_on_a_terminal(tmp_path, recur_bin):
    """On a terminal, stderr carries a live line with steps/s and ETA."""
    import pty
    import subprocess
    write_series(tmp_path / "d.csv")
    main, secondary = pty.openpty()
    proc = subprocess.run([recur_bin, "train", *train_flags(tmp_path, epochs=2, validation=0.3)],
                          stderr=secondary, stdout=subprocess.DEVNULL, timeout=60)
    os.close(secondary)
    text = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        text += chunk
    os.close(main)
    assert proc.returncode == 0
    out = text.decode()
    assert "\r" in out and "steps/s" in out and "ETA" in out and "step " in out and "|g|" in out
    assert "epoch 2/2 loss" in out


def test_hostile_checkpoint_metadata_is_refused(tmp_path, run):
    from recur_safetensors import save
    write_series(tmp_path / "d.csv")
    assert run("train", *train_flags(tmp_path, epochs=2)).returncode == 0
    tensors, meta = load(tmp_path / "m.safetensors")
    cases = {"epochs_done": ["abc", "99999999999", "-3", "12abc", "9"],
             "train_run": ["{oops", "[1]"], "loss": ["l1"], "forecast": ["yes"]}
    for key, values in cases.items():
        for value in values:
            bad = dict(meta, **{key: value})
            save(tmp_path / "bad.safetensors", tensors, bad)
            if key in ("epochs_done", "train_run"):
                result = run("train", *train_flags(tmp_path, epochs=5,
                                                   resume=tmp_path / "bad.safetensors"))
            else:
                result = run("predict", "--model", tmp_path / "bad.safetensors", "--data",
                             tmp_path / "d.csv")
            assert result.returncode == 1, (key, value, result.stderr)
            assert result.stderr.startswith(
                f"recur: error: {tmp_path / 'bad.safetensors'}: metadata {key}"), result.stderr


def test_predict_refuses_scattered_sequences(tmp_path, run):
    write_series(tmp_path / "d.csv")
    assert run("train", *train_flags(tmp_path, epochs=1)).returncode == 0
    (tmp_path / "p.csv").write_text("id,u,v,w\ns0,1,2,3\ns1,1,2,3\ns0,1,2,3\n")
    result = run("predict", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "p.csv")
    assert result.returncode == 1
    assert 'p.csv:4: sequence "s0" started before, at line 2' in result.stderr


def test_info_escapes_control_characters(tmp_path, run):
    from recur_safetensors import save
    write_series(tmp_path / "d.csv")
    assert run("train", *train_flags(tmp_path, epochs=1)).returncode == 0
    tensors, meta = load(tmp_path / "m.safetensors")
    save(tmp_path / "esc.safetensors", tensors, dict(meta, note="\x1b[2Jgotcha"))
    out = run("info", tmp_path / "esc.safetensors")
    assert out.returncode == 0
    assert "\x1b" not in out.stdout and "\\x1b[2Jgotcha" in out.stdout


SCHEDULES = {
    "step": (["--schedule", "step", "--step-size", "3", "--gamma", "0.5"],
             lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)),
    "cosine": (["--schedule", "cosine", "--min-lr", "0.001"],
               lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12,
                                                                      eta_min=0.001)),
    "warmup-cosine": (["--schedule", "cosine", "--warmup", "4"],
                      lambda opt: torch.optim.lr_scheduler.ChainedScheduler([
                          torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.25,
                                                            total_iters=3),
                          torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12)])),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedules_follow_torch_lr_scheduler(tmp_path, run, name):
    flags, make = SCHEDULES[name]
    write_series(tmp_path / "d.csv", sequences=2, steps=10)
    result = run("train", *train_flags(tmp_path, epochs=12, lr=0.05, log=tmp_path / "log.jsonl"),
                 *flags)
    assert result.returncode == 0, result.stderr
    ours = [json.loads(line)["lr"] for line in open(tmp_path / "log.jsonl")]
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
    scheduler = make(optimizer)
    theirs = []
    for _ in range(12):
        theirs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-15)


def torch_tbptt(model, x, y, lr, epochs, bptt):
    """The PyTorch loop truncated BPTT stands for: chunks, one SGD step each, detach()."""
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trained, lr=lr)
    for _ in range(epochs):
        h = None
        for start in range(0, x.shape[0], bptt):
            out, h = model.rnn(x[start:start + bptt], h)
            loss = ((model.readout(out) - y[start:start + bptt]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            h = tuple(s.detach() for s in h) if isinstance(h, tuple) else h.detach()


TBPTT_NETWORKS = {"elman": ("elman", 1), "lstm-2-layers": ("lstm", 2), "gru": ("gru", 1)}


@pytest.mark.parametrize("network", list(TBPTT_NETWORKS))
@pytest.mark.parametrize("bptt", [4, 7, 100])
def test_truncated_bptt_matches_a_pytorch_loop_with_detach(tmp_path, run, bptt, network):
    from recur_safetensors import save
    from test_pytorch_parity import recur_names
    cell, layers = TBPTT_NETWORKS[network]
    torch.manual_seed(4)
    steps = 30
    x = torch.randn(steps, 1, 2, dtype=torch.float64)
    y = torch.randn(steps, 1, 1, dtype=torch.float64)
    with open(tmp_path / "d.csv", "w") as f:
        f.write("a,b,c\n")
        for t in range(steps):
            f.write(f"{float(x[t, 0, 0])!r},{float(x[t, 0, 1])!r},{float(y[t, 0, 0])!r}\n")
    model = Model(2, 5, 1, cell=cell, layers=layers).double()
    params = recur_names(model)  # zeroes and freezes bias_hh where recur sums the two
    save(tmp_path / "init.safetensors", model.state_dict())
    result = run("train", "--data", tmp_path / "d.csv", "--input-columns", "a,b",
                 "--target-columns", "c", "--normalize", "none", "--dtype", "float64",
                 "--epochs", "2", "--lr", "0.05", "--batch-size", "1", "--bptt", bptt,
                 "--init", tmp_path / "init.safetensors", "--save", tmp_path / "m.safetensors")
    assert result.returncode == 0, result.stderr
    torch_tbptt(model, x, y, 0.05, 2, bptt)
    ours, _ = load(tmp_path / "m.safetensors")
    for name, p in params.items():
        stored = "rnn.bias_ih_" + name[len("rnn.bias_"):] if name.startswith("rnn.bias_l") else name
        assert torch.allclose(ours[stored], p.detach(), rtol=1e-10, atol=1e-12), name
    if bptt >= steps:  # a chunk as long as the sequence is full BPTT
        full = run("train", "--data", tmp_path / "d.csv", "--input-columns", "a,b",
                   "--target-columns", "c", "--normalize", "none", "--dtype", "float64",
                   "--epochs", "2", "--lr", "0.05", "--batch-size", "1",
                   "--init", tmp_path / "init.safetensors", "--save", tmp_path / "f.safetensors")
        assert full.returncode == 0
        theirs, _ = load(tmp_path / "f.safetensors")
        for name in theirs:
            assert torch.equal(ours[name], theirs[name]), name


@pytest.mark.parametrize("method", ["pytorch", "xavier", "orthogonal", "numpy"])
def test_init_methods(tmp_path, run, method):
    write_series(tmp_path / "d.csv")
    result = run("train", *train_flags(tmp_path, epochs=1, lr=1e-12, hidden=16),
                 "--init-method", method)
    assert result.returncode == 0, result.stderr
    tensors, _ = load(tmp_path / "m.safetensors")
    w = tensors["rnn.weight_hh_l0"].double()
    if method == "orthogonal":
        assert torch.allclose(w @ w.T, torch.eye(16, dtype=torch.float64), atol=1e-5)
    bound = {"pytorch": 0.25, "xavier": (6 / 32) ** 0.5, "orthogonal": 1.0, "numpy": 0.1}[method]
    assert float(w.abs().max()) <= bound * 1.0001


def test_divergence_stops_with_epoch_and_step_and_keeps_the_checkpoint(tmp_path, run):
    write_series(tmp_path / "d.csv")
    good = run("train", *train_flags(tmp_path, epochs=2, **{"checkpoint-every": 1}))
    assert good.returncode == 0, good.stderr
    before = (tmp_path / "m.safetensors").read_bytes()
    bad = run("train", *train_flags(tmp_path, epochs=3, lr=1e30, loss="sse"))
    assert bad.returncode == 1
    assert re.search(r"recur: error: epoch \d+, step \d+: the (loss|gradient norm) is", bad.stderr)
    assert (tmp_path / "m.safetensors").read_bytes() == before
    resumed_bad = run("train", *train_flags(tmp_path, epochs=4, **{"checkpoint-every": 1}),
                      "--resume", tmp_path / "m.safetensors", "--lr", "1e30")
    assert resumed_bad.returncode == 2  # a resume with another --lr is refused up front


def test_many_to_one_predicts_one_row_per_sequence(tmp_path, run):
    write_series(tmp_path / "d.csv")
    for extra in ([], ["--bptt", "7"]):
        result = run("train", *train_flags(tmp_path, target="last", epochs=3), *extra)
        assert result.returncode == 0, result.stderr
        out = run("predict", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "d.csv")
        assert out.returncode == 0, out.stderr
        rows = out.stdout.splitlines()
        assert rows[0] == "id,step,w"
        assert [r.split(",")[:2] for r in rows[1:]] == [["s0", "39"], ["s1", "39"], ["s2", "39"]]
    # A many-to-one forecaster with a horizon: the last real step, then the steps fed back.
    result = run("train", *train_flags(tmp_path, target="last", epochs=1,
                                       **{"input-columns": "w", "target-columns": "w"}),
                 "--forecast")
    assert result.returncode == 0, result.stderr
    out = run("predict", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "d.csv",
              "--horizon", "3")
    steps = [int(r.split(",")[1]) for r in out.stdout.splitlines()[1:] if r.startswith("s0,")]
    assert steps == [40, 41, 42]
