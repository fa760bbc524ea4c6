"""`recur` end to end: what demo prints, what gradcheck says, and every bad input's answer."""
import pytest

from seed_notebook import run_notebook

TEXT_SETTINGS = [
    {},
    # Rows wider than numpy's 75 columns wrap.
    {"seed": 3, "steps": 4, "input_size": 9, "hidden": 6, "epochs": 40, "log_every": 7},
    # More than 1000 elements: numpy summarises with "...".
    {"seed": 5, "steps": 400, "input_size": 3, "hidden": 4, "epochs": 3, "log_every": 1},
    # Tiny values: numpy switches to scientific notation.
    {"seed": 9, "steps": 6, "input_size": 2, "hidden": 5, "scale": 1e-5, "epochs": 20},
]


def flags(settings):
    out = []
    for key, value in settings.items():
        out += ["--" + key.replace("_", "-"), str(value)]
    return out


@pytest.mark.parametrize("settings", TEXT_SETTINGS, ids=lambda s: " ".join(flags(s)) or "seed")
def test_demo_prints_what_the_notebook_prints(run, settings):
    *_, printed = run_notebook(**settings)
    result = run("demo", *flags(settings))
    assert result.returncode == 0, result.stderr
    assert result.stdout == printed
    assert result.stderr == ""


def test_demo_prints_the_seed_numbers(run):
    out = run("demo").stdout
    assert "Epoch 20/200, Loss = 9.2975\n" in out
    assert "Epoch 200/200, Loss = 0.0184\n" in out
    assert " [[ 1.04348767]\n [-0.32104181]\n" in out


def test_gradcheck_passes_for_every_tensor(run):
    result = run("gradcheck", "--batch", "3", "--input-size", "2", "--hidden", "5",
                 "--init-scale", "0.3")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_l0", "readout.weight",
                 "readout.bias"]:
        assert name in result.stdout
    assert "gradcheck passed" in result.stdout


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_gradcheck_every_cell_stacked_and_bidirectional(run, cell):
    """At 0.1-scale weights: at the seed's 0.01 the gated cells' recurrent gradients (about
    1e-9) sink below what even long double finite differences resolve (see README)."""
    result = run("gradcheck", "--cell", cell, "--layers", "2", "--bidirectional", "--batch", "2",
                 "--init-scale", "0.1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rnn.weight_hh_l1_reverse" in result.stdout
    assert f"gradcheck passed (tolerance 1e-06, eps 0.001, {cell}," in result.stdout


def test_gradcheck_fails_above_tolerance(run):
    result = run("gradcheck", "--tolerance", "1e-300")
    assert result.returncode == 1
    assert "FAIL" in result.stdout


BAD_INPUTS = [
    (["demo", "--hidden", "0"], "--hidden", "positive integer"),
    (["demo", "--hidden", "-3"], "--hidden", "positive integer"),
    (["demo", "--steps", "abc"], "--steps", "positive integer"),
    (["demo", "--input-size", "1.5"], "--input-size", "positive integer"),
    (["demo", "--lr", "-0.1"], "--lr", "greater than 0"),
    (["demo", "--lr", "0"], "--lr", "greater than 0"),
    (["demo", "--lr", "nan"], "--lr", "finite number"),
    (["demo", "--lr", "inf"], "--lr", "finite number"),
    (["demo", "--lr", "fast"], "--lr", "finite number"),
    (["demo", "--lr", "+-0.1"], "--lr", "finite number"),
    (["demo", "--hidden", "+-3"], "--hidden", "positive integer"),
    (["demo", "--epochs", "99999999999"], "--epochs", "no larger than 2147483647"),
    (["demo", "--epochs", "2147483648"], "--epochs", "no larger than 2147483647"),
    (["demo", "--seed", "-1"], "--seed", "from 0 to 4294967295"),
    (["demo", "--seed", "4294967296"], "--seed", "from 0 to 4294967295"),
    (["demo", "--scale", "inf"], "--scale", "finite number"),
    (["demo", "--log-every", "0"], "--log-every", "positive integer"),
    (["demo", "--bogus"], "--bogus", ""),
    (["demo", "--hidden"], "--hidden", ""),
    (["gradcheck", "--batch", "0"], "--batch", "positive integer"),
    (["gradcheck", "--tolerance", "-1"], "--tolerance", "greater than 0"),
    (["frobnicate"], "frobnicate", ""),
    (["demo", "--threads", "0"], "--threads", "positive integer"),
    (["predict", "--threads", "two", "--model", "m.safetensors", "--data", "d.csv"], "--threads",
     "positive integer"),
    (["--threads", "-1", "bench"], "--threads", "positive integer"),
    (["bench", "--repeats", "0"], "--repeats", "positive integer"),
    (["bench", "--workload", "train", "--repeats", "20000000"], "--repeats", "at most 10000000"),
    (["bench", "--workload", "fly"], "--workload", "expected seed, train, infer or stream"),
    (["bench", "--workload", "seed,train"], "--workload", "goes alone"),
    (["bench", "--workload", "train,train"], "--workload", "each workload once"),
    (["bench", "--cell", "lstm"], "--cell", "applies to a network's timings"),
    (["bench", "--workload", "seed", "--batch", "2"], "--batch", "applies to a network's"),
    (["bench", "--workload", "train", "--epochs", "5"], "--epochs", "seed run"),
    (["bench", "--workload", "train", "--batch", "0"], "--batch", "positive integer"),
    (["bench", "--workload", "train", "--cell", "rnn"], "--cell", "elman or lstm or gru"),
    (["bench", "--workload", "infer", "--cell", "gru", "--nonlinearity", "relu"],
     "--nonlinearity", "elman cell"),
    (["bench", "--workload", "infer", "--dtype", "float16"], "--dtype", "float32"),
    (["bench", "--workload", "infer", "--warmup", "-1"], "--warmup", "integer from 0"),
    (["bench", "--workload", "stream", "--bidirectional"], "--workload stream", "bidirectional"),
    (["bench", "--model", "m.safetensors", "--hidden", "4"], "--hidden", "come from --model"),
    (["bench", "--model", ""], "--model", "expected a model file"),
    (["bench", "--model", "m.safetensors", "--workload", "seed"], "--model", "not the seed run"),
    # Every flag is checked before the model file is read.
    (["bench", "--model", "/nonexistent.safetensors", "--batch", "0"], "--batch",
     "positive integer"),
    (["bench", "--workload", "train", "--cell", "lstm", "--hidden", "4096", "--steps", "100000",
      "--batch", "1000"], "--steps 100000 --batch 1000", "more than 2147483647 values"),
    (["bench", "--workload", "train", "--cell", "lstm", "--hidden", "4096", "--layers", "100",
      "--steps", "1000", "--batch", "30"], "--steps 1000 --batch 30", "would need"),
]


@pytest.mark.parametrize("args,flag,expected", BAD_INPUTS, ids=lambda a: " ".join(a)
                         if isinstance(a, list) else None)
def test_bad_input_is_a_one_line_usage_error(run, args, flag, expected):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("recur: error: ")
    assert flag in lines[0]
    assert expected in lines[0]


def test_sizes_too_large_for_memory_are_refused_before_allocating(run):
    for args in (["--hidden", "50000"], ["--steps", "2000000000", "--hidden", "2"],
                 ["--steps", "100000000", "--input-size", "50"]):
        result = run("demo", *args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("recur: error: --steps")
        assert "GB of memory, more than half of this machine's" in result.stderr


def test_no_command_is_a_usage_error(run):
    result = run()
    assert result.returncode == 2
    assert result.stderr.startswith("recur: error: ")


def test_help_exits_zero(run):
    result = run("demo", "--help")
    assert result.returncode == 0
    assert "--hidden" in result.stdout
