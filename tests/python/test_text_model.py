"""Character models end to end: `recur train --text`, `recur generate`, and the model in
PyTorch (nn.LSTM / nn.GRU loaded from the same file) generating the same greedy text."""
import json

import pytest
import torch

from recur_safetensors import load
from test_pytorch_parity import Model

TEXT = ("the quick brown fox jumps over the lazy dog. " * 30
        + "na\u00efve caf\u00e9 \u2014 \u03bb \u2192 \U0001d11e\n") * 2


def train_text(run, tmp_path, epochs=6):
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8")
    result = run("train", "--text", tmp_path / "t.txt", "--cell", "lstm", "--hidden", 24,
                 "--layers", 2, "--bptt", 20, "--window", 60, "--batch-size", 8,
                 "--optimizer", "adam", "--lr", 0.01, "--epochs", epochs, "--validation", 0.1,
                 "--save", tmp_path / "m.safetensors", "--log", tmp_path / "log.jsonl",
                 "--seed", 2)
    assert result.returncode == 0, result.stderr
    return result


def test_text_model_learns_and_reports_bits_per_character(tmp_path, run):
    result = train_text(run, tmp_path)
    assert "bits/char" in result.stderr
    log = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
    assert len(log) == 6
    for line in log:  # bits per character are the loss in nats over ln 2
        assert line["bpc"] == pytest.approx(line["loss"] / 0.6931471805599453)
    # The vocabulary has 40-odd characters (log2: 5.4 bits); the text repeats, so the model
    # must do far better than that and than its first epoch.
    assert log[-1]["validation_bpc"] < 0.6 * log[0]["validation_bpc"]
    assert log[-1]["validation_bpc"] < 2.5
    _, meta = load(tmp_path / "m.safetensors")
    vocabulary = json.loads(meta["vocabulary"])
    assert vocabulary == sorted(set(map(ord, TEXT)))  # code points, not bytes
    assert meta["loss"] == "cross-entropy" and meta["cell"] == "lstm" and meta["layers"] == "2"


def greedy_in_torch(tmp_path, prime, length):
    tensors, meta = load(tmp_path / "m.safetensors")
    vocabulary = [chr(c) for c in json.loads(meta["vocabulary"])]
    V = len(vocabulary)
    model = Model(V, int(meta["hidden_size"]), V, cell=meta["cell"],
                  layers=int(meta["layers"])).to(torch.float32)
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optimizer.")})
    text, state = prime, None
    with torch.no_grad():
        x = torch.nn.functional.one_hot(torch.tensor([vocabulary.index(c) for c in prime]), V)
        out, state = model.rnn(x.float().unsqueeze(1), state)
        for _ in range(length):
            k = int(model.readout(out[-1, 0]).argmax())
            text += vocabulary[k]
            one = torch.nn.functional.one_hot(torch.tensor([[k]]), V).float()
            out, state = model.rnn(one, state)
    return text


def test_generate_greedy_is_what_pytorch_generates(tmp_path, run):
    train_text(run, tmp_path)
    result = run("generate", "--model", tmp_path / "m.safetensors", "--prime", "the q",
                 "--length", 40, "--temperature", 0)
    assert result.returncode == 0, result.stderr
    assert result.stdout == greedy_in_torch(tmp_path, "the q", 40) + "\n"


def test_generate_samples_reproducibly_from_the_vocabulary(tmp_path, run):
    train_text(run, tmp_path)
    args = ["generate", "--model", tmp_path / "m.safetensors", "--prime", "caf\u00e9 ",
            "--length", 200, "--temperature", 0.8]
    first = run(*args, "--seed", 1)
    assert first.returncode == 0, first.stderr
    text = first.stdout[:-1]
    assert text.startswith("caf\u00e9 ") and len(text) == 5 + 200
    assert set(text) <= set(TEXT)
    assert run(*args, "--seed", 1).stdout == first.stdout
    assert run(*args, "--seed", 2).stdout != first.stdout


@pytest.mark.parametrize("args,words", [
    (["--prime", "tZ"], "--prime: U+005A 'Z' is not in"),
    (["--prime", ""], "--prime: expected at least one character"),
    (["--prime", "the", "--temperature", "-1"], "--temperature: expected 0 (greedy) or more"),
    (["--prime", "the", "--length", "-5"], "--length"),
])
def test_generate_refuses_bad_flags(tmp_path, run, args, words):
    train_text(run, tmp_path, epochs=1)
    result = run("generate", "--model", tmp_path / "m.safetensors", *args)
    assert result.returncode == 2 and words in result.stderr, result.stderr


@pytest.mark.parametrize("flags,words", [
    (["--input-columns", "a"], "--input-columns: applies to --data (CSV), not --text"),
    (["--loss", "mse"], "--loss: a text model is trained with cross-entropy"),
    (["--bidirectional"], "--bptt: truncated BPTT carries the state forward"),
    (["--dropout", "1"], "--dropout"),
    (["--cell", "rnn"], "--cell"),
    (["--layers", "0"], "--layers"),
    (["--cell", "lstm", "--nonlinearity", "relu"], "--nonlinearity: applies to the elman cell"),
])
def test_train_refuses_bad_network_flags(tmp_path, run, flags, words):
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8")
    result = run("train", "--text", tmp_path / "t.txt", "--bptt", 10, "--save",
                 tmp_path / "m.safetensors", *flags)
    assert result.returncode == 2 and words in result.stderr, result.stderr
    assert not (tmp_path / "m.safetensors").exists()


def test_text_that_is_not_utf8_is_refused_with_its_place(tmp_path, run):
    (tmp_path / "t.txt").write_bytes(b"fine\nline two \xff bad\n")
    result = run("train", "--text", tmp_path / "t.txt", "--save", tmp_path / "m.safetensors")
    assert result.returncode == 1
    assert "t.txt:2:10: byte 0xFF cannot start a character" in result.stderr


def test_models_refuse_the_other_command(tmp_path, run):
    train_text(run, tmp_path, epochs=1)
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    result = run("predict", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "d.csv")
    assert result.returncode == 2 and "is a character model" in result.stderr
