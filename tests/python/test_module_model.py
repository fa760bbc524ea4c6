"""recur.Model against PyTorch (outputs, states, training steps), against the recur program
(the same training run, the same files), and its array handling: views, shapes, threads,
Ctrl-C."""
import os
import signal
import subprocess
import threading

import numpy as np
import pytest
import torch

import recur
from recur.torch_bridge import RecurrentModel

CASES = [  # cell, layers, bidirectional
    ("elman", 1, False), ("elman", 2, True), ("lstm", 1, False), ("lstm", 2, True),
    ("gru", 1, False), ("gru", 2, True),
]


def torch_twin(cell, layers, bidirectional, I=3, H=5, O=2, seed=0):
    """A PyTorch module with its own random weights (PyTorch's initialisation)."""
    torch.manual_seed(seed)
    return RecurrentModel(cell, I, H, O, layers, bidirectional).double()


@pytest.mark.parametrize("cell,layers,bidirectional", CASES)
def test_predict_matches_pytorch(cell, layers, bidirectional):
    module = torch_twin(cell, layers, bidirectional)
    model = recur.Model.from_torch(module)
    assert model.dtype == np.float64
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 4, 3))
    D = 2 if bidirectional else 1
    h0 = rng.standard_normal((layers * D, 4, 5))
    c0 = rng.standard_normal((layers * D, 4, 5))
    state = (h0, c0) if cell == "lstm" else h0
    y, state_out = model.predict(x, state=state)
    with torch.no_grad():
        t_state = tuple(torch.tensor(s) for s in state) if cell == "lstm" else torch.tensor(h0)
        y_t, state_t = module(torch.tensor(x), t_state)
    np.testing.assert_allclose(y, y_t.numpy(), rtol=1e-10, atol=1e-12)
    if cell == "lstm":
        for a, b in zip(state_out, state_t):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(state_out, state_t.numpy(), rtol=1e-10, atol=1e-12)
    # One sequence [T, F] gives the batch's first column, with unbatched states as PyTorch.
    y1, s1 = model.predict(x[:, 0])
    with torch.no_grad():
        y1_t, s1_t = module.readout(module.rnn(torch.tensor(x[:, 0]))[0]), module.rnn(
            torch.tensor(x[:, 0]))[1]
    np.testing.assert_allclose(y1, y1_t.numpy(), rtol=1e-10, atol=1e-12)
    h1 = s1[0] if cell == "lstm" else s1
    h1_t = s1_t[0] if cell == "lstm" else s1_t
    assert h1.shape == (layers * D, 5)
    np.testing.assert_allclose(h1, h1_t.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell,layers,bidirectional", CASES)
def test_to_torch_round_trip(cell, layers, bidirectional):
    model = recur.Model(cell=cell, input_size=2, hidden_size=4, output_size=3, layers=layers,
                        bidirectional=bidirectional, seed=3)
    module = model.to_torch()
    x = np.random.default_rng(2).standard_normal((6, 2, 2)).astype(np.float32)
    with torch.no_grad():
        y_t, _ = module(torch.tensor(x))
    np.testing.assert_allclose(model.predict(x)[0], y_t.numpy(), rtol=1e-5, atol=1e-6)
    back = recur.Model.from_torch(module)
    for name, value in model.parameters().items():
        np.testing.assert_array_equal(back.parameters()[name], value)


@pytest.mark.parametrize("cell,optimizer", [("elman", "sgd"), ("lstm", "adam"), ("gru", "rmsprop")])
def test_fit_matches_pytorch_training(cell, optimizer):
    """Full-batch steps: every epoch is one step on all sequences, so PyTorch's loop is plain.
    recur's Elman and LSTM layers train one bias where PyTorch has two (summed): PyTorch's
    bias_hh is held at zero and frozen for them; GRU trains both in both."""
    module = torch_twin(cell, 1, False, seed=4)
    for name, p in module.named_parameters():
        if name.startswith("rnn.bias_hh") and cell != "gru":
            with torch.no_grad():
                p.zero_()
            p.requires_grad_(False)
    model = recur.Model.from_torch(module)
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((9, 6, 3)), rng.standard_normal((9, 6, 2))
    history = model.fit(x, y, epochs=6, batch_size=6, optimizer=optimizer, lr=0.01, clip=1.0)
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam,
           "rmsprop": torch.optim.RMSprop}[optimizer]([p for p in module.parameters() if p.requires_grad], lr=0.01)
    losses = []
    for _ in range(6):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(module(torch.tensor(x))[0], torch.tensor(y))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-10)
    trained = recur.Model.from_torch(module)
    for name, value in model.parameters().items():
        np.testing.assert_allclose(value, trained.parameters()[name], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cell,flags,kwargs,ragged", [
    ("gru", ["--optimizer", "adam", "--lr", "0.01"], dict(optimizer="adam", lr=0.01), False),
    ("lstm", ["--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.05", "--clip", "0.5",
              "--bptt", "4"], dict(optimizer="sgd", momentum=0.9, lr=0.05, clip=0.5, bptt=4),
     True),
])
def test_fit_is_the_programs_training_run(tmp_path, run, cell, flags, kwargs, ragged):
    """The same data through `recur train` (CSV) and Model.fit: the same model, float32.
    Ragged: sequences of different lengths, a padded batch with lengths for fit."""
    rng = np.random.default_rng(6)
    T, B = 12, 5
    x, y = rng.standard_normal((T, B, 2)), rng.standard_normal((T, B, 1))
    lengths = [12, 7, 12, 3, 9] if ragged else [T] * B
    lines = ["id,a,b,target"]
    for b in range(B):
        for t in range(lengths[b]):
            lines.append(f"s{b},{x[t, b, 0]!r},{x[t, b, 1]!r},{y[t, b, 0]!r}")
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    cli_file = tmp_path / "cli.safetensors"
    result = run("train", "--data", tmp_path / "data.csv", "--input-columns", "a,b",
                 "--target-columns", "target", "--sequence-column", "id", "--normalize", "none",
                 "--cell", cell, "--hidden", "6", "--epochs", "4", "--batch-size", "2",
                 "--seed", "7", "--save", cli_file, *flags)
    assert result.returncode == 0, result.stderr
    model = recur.Model(cell=cell, input_size=2, hidden_size=6, output_size=1, seed=7)
    model.fit(x, y, epochs=4, batch_size=2, seed=7, lengths=lengths if ragged else None,
              **kwargs)
    from_cli = recur.load(cli_file)
    for name, value in model.parameters().items():
        np.testing.assert_allclose(value, from_cli.parameters()[name], rtol=1e-6, atol=1e-7)
    # And the program predicts with the module's file.
    ours = tmp_path / "ours.safetensors"
    csv_keys = ("data", "input_columns", "target_columns", "sequence_column", "forecast",
                "normalize", "normalization")
    model.save(ours, metadata={k: from_cli.metadata[k] for k in csv_keys})
    out = tmp_path / "pred.csv"
    result = run("predict", "--model", ours, "--data", tmp_path / "data.csv", "--output", out)
    assert result.returncode == 0, result.stderr
    predicted = np.loadtxt(out, delimiter=",", skiprows=1, usecols=-1)
    y_pred = model.predict(x, lengths=lengths)[0][:, :, 0]
    expected = np.concatenate([y_pred[:lengths[b], b] for b in range(B)])
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)


def test_a_padded_batch_is_its_sequences_one_by_one():
    model = recur.Model(cell="lstm", input_size=2, hidden_size=4, output_size=1,
                        bidirectional=True, dtype="float64")
    x = np.random.default_rng(11).standard_normal((6, 3, 2))
    lengths = [6, 2, 4]
    y, (h, c) = model.predict(x, lengths=lengths)
    for b, n in enumerate(lengths):
        y_b, (h_b, c_b) = model.predict(x[:n, b])
        np.testing.assert_allclose(y[:n, b], y_b, rtol=1e-12, atol=1e-14)
        assert np.all(y[n:, b] == 0)
        np.testing.assert_allclose(h[:, b], h_b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(c[:, b], c_b, rtol=1e-12, atol=1e-14)


def test_fit_lets_other_python_threads_run():
    """fit holds no GIL while it computes: a Python thread counts between two epochs' ends
    (the callback samples the count while fit holds the GIL, between epochs). fit runs on
    one thread here, so that the counter has a core: with two, a split loop's second thread
    and the pool's spinning worker can hold both of this machine's cores for the whole run.
    The run lasts about a tenth of a second (16 batches an epoch), not a few milliseconds:
    with another test on the other core, the counter shares this one, and a run shorter than
    the scheduler's slices had left it none (a failure under `ctest -j2`)."""
    threads_before = recur.threads()
    recur.set_threads(1)
    model = recur.Model(cell="lstm", input_size=4, hidden_size=32, output_size=1)
    rng = np.random.default_rng(12)
    x, y = rng.standard_normal((40, 512, 4)), rng.standard_normal((40, 512, 1))
    count = 0
    samples = []
    done = threading.Event()

    def counter():
        nonlocal count
        while not done.is_set():
            count += 1

    thread = threading.Thread(target=counter)
    thread.start()
    try:
        model.fit(x, y, epochs=8, batch_size=32,
                  callback=lambda epoch, logs: samples.append(count))
    finally:
        done.set()
        thread.join()
        recur.set_threads(threads_before)
    assert samples[-1] - samples[0] > 1000


def test_save_and_load_keep_everything(tmp_path):
    model = recur.Model(cell="lstm", input_size=3, hidden_size=4, output_size=2, layers=2,
                        dtype="float64", seed=1)
    model.save(tmp_path / "m.safetensors", metadata={"note": "hello"})
    back = recur.load(tmp_path / "m.safetensors")
    assert back.config == model.config
    assert back.metadata["note"] == "hello"
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    np.testing.assert_array_equal(back.predict(x)[0], model.predict(x)[0])


def test_parameters_and_gradients_are_views():
    model = recur.Model(cell="elman", input_size=2, hidden_size=3, output_size=1, dtype="float64")
    x = np.zeros((4, 1, 2))
    before = model.predict(x)[0]
    model.parameters()["readout.bias"][...] += 5.0
    np.testing.assert_allclose(model.predict(x)[0], before + 5.0)
    params = model.parameters()
    grads = model.gradients()
    model.fit(np.ones((4, 1, 2)), np.ones((4, 1, 1)), epochs=1, batch_size=1, lr=0.1)
    # Training moved the arrays handed out before it: they are the model's memory.
    assert not np.all(params["rnn.weight_hh_l0"] == 0)
    assert np.any(grads["rnn.weight_hh_l0"] != 0)
    assert np.shares_memory(grads["rnn.weight_hh_l0"], model.gradients()["rnn.weight_hh_l0"])


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_step_is_predict_one_step_at_a_time(cell):
    model = recur.Model(cell=cell, input_size=2, hidden_size=5, output_size=2, layers=2, seed=2,
                        dtype="float64")
    x = np.random.default_rng(3).standard_normal((6, 3, 2))
    y, final = model.predict(x)
    state = None
    for t in range(6):
        y_t, state = model.step(x[t], state)
        np.testing.assert_allclose(y_t, y[t], rtol=1e-12, atol=1e-14)
    for a, b in zip(np.atleast_1d(state), np.atleast_1d(final)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    # A weight changed through a view is seen by the next step.
    model.parameters()["readout.bias"][...] += 1.0
    y_t, _ = model.step(x[0])
    np.testing.assert_allclose(y_t, y[0] + 1.0, rtol=1e-12)


def test_arrays_of_any_layout_and_float_type():
    model = recur.Model(cell="gru", input_size=3, hidden_size=4, output_size=2, dtype="float64")
    x = np.random.default_rng(4).standard_normal((5, 6, 3))
    expected = model.predict(x[:, ::2])[0]
    strided = x[:, ::2]
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(model.predict(np.ascontiguousarray(strided))[0], expected)
    np.testing.assert_allclose(model.predict(strided.astype(np.float32))[0], expected, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(strided.tolist())[0], expected)


@pytest.mark.parametrize("call,message", [
    (lambda m: m.predict(np.zeros((5, 2, 4))), r"x: expected shape \[T, B, 3\] or \[T, 3\], got \[5, 2, 4\]"),
    (lambda m: m.predict(np.zeros(5)), r"x: expected shape \[T, B, 3\] or \[T, 3\], got \[5\]"),
    (lambda m: m.predict(np.zeros((5, 2, 3), dtype=np.int32)), r"x: expected float32 or float64 values, got int32"),
    (lambda m: m.predict(np.zeros((5, 2, 3)), lengths=[5]), r"lengths: expected 2 integers"),
    (lambda m: m.predict(np.zeros((5, 2, 3)), lengths=[5, 6]), r"lengths\[1\]: expected 1 to 5, got 6"),
    (lambda m: m.predict(np.zeros((5, 2, 3)), state=np.zeros((1, 3, 4))), r"state: expected shape \[1, 2, 4\], got \[1, 3, 4\]"),
    (lambda m: m.step(np.zeros((2, 2))), r"x_t: expected shape \[B, 3\] or \[3\], got \[2, 2\]"),
    (lambda m: m.fit(np.zeros((5, 2, 3)), np.zeros((5, 2, 1))), r"y: expected shape \[5, 2, 2\] or \[5, 2\], got \[5, 2, 1\]"),
    (lambda m: m.fit(np.zeros((5, 2, 3)), np.zeros((5, 2, 2)), optimizer="adagrad"), r"adagrad"),
    (lambda m: m.fit(np.zeros((5, 2, 3)), np.zeros((5, 2, 2)), validation=0.9), r"too few to hold out"),
    (lambda m: m.fit(np.full((5, 2, 3), np.nan), np.zeros((5, 2, 2))), r"x: not finite values"),
])
def test_bad_arguments_raise_value_error(call, message):
    model = recur.Model(cell="elman", input_size=3, hidden_size=4, output_size=2)
    with pytest.raises(ValueError, match=message):
        call(model)


@pytest.mark.parametrize("kwargs,message", [
    (dict(cell="rnn"), r"cell: expected one of elman, lstm, gru, got 'rnn'"),
    (dict(hidden_size=0), r"hidden_size: expected a positive integer, got 0"),
    (dict(dtype="float16"), r"dtype: expected float32 or float64, got float16"),
    (dict(cell="lstm", nonlinearity="relu"), r"nonlinearity: applies to the elman cell"),
    (dict(dropout=1.0), r"dropout: expected a fraction in \[0, 1\)"),
])
def test_bad_models_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        recur.Model(**kwargs)


def test_an_lstm_state_is_h_and_c():
    model = recur.Model(cell="lstm", input_size=1, hidden_size=2, output_size=1)
    with pytest.raises(ValueError, match=r"state: an LSTM's state is a tuple \(h, c\)"):
        model.predict(np.zeros((3, 1)), state=np.zeros((1, 2)))


def test_validation_and_callbacks():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((6, 10, 2)), rng.standard_normal((6, 10, 1))
    model = recur.Model(cell="lstm", input_size=2, hidden_size=4, output_size=1, dtype="float64")
    seen = []
    history = model.fit(x, y, epochs=3, batch_size=4, validation=0.2,
                        callback=lambda epoch, logs: seen.append((epoch, dict(logs))))
    assert [e for e, _ in seen] == [0, 1, 2]
    assert len(history["loss"]) == len(history["val_loss"]) == 3
    # The last validation loss is the mean squared error on the last two sequences.
    y_val = model.predict(x[:, 8:])[0]
    np.testing.assert_allclose(history["val_loss"][-1], np.mean((y_val - y[:, 8:]) ** 2), rtol=1e-10)
    stopped = model.fit(x, y, epochs=5, callback=lambda epoch, logs: epoch < 1)
    assert len(stopped["loss"]) == 2


def test_progress_bar(capsys):
    model = recur.Model(input_size=1, hidden_size=3, output_size=1)
    model.fit(np.zeros((4, 8, 1)), np.zeros((4, 8, 1)), epochs=2, batch_size=4, progress=True)
    err = capsys.readouterr().err
    assert "4/4" in err and "step" in err


def test_threads_share_a_model_safely():
    model = recur.Model(cell="lstm", input_size=8, hidden_size=64, output_size=4)
    x = np.random.default_rng(9).standard_normal((50, 16, 8)).astype(np.float32)
    expected = model.predict(x)[0]
    results = [None] * 4

    def work(i):
        results[i] = model.predict(x)[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_ctrl_c_stops_fit_between_steps():
    model = recur.Model(cell="lstm", input_size=4, hidden_size=32, output_size=1)
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((40, 64, 4)), rng.standard_normal((40, 64, 1))
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=100000, batch_size=8)
    timer.join()
    # The model is whole: it predicts, with finite values, and trains on.
    assert np.all(np.isfinite(model.predict(x)[0]))
    assert len(model.fit(x, y, epochs=1, batch_size=64)["loss"]) == 1


def test_limits_are_the_programs(tmp_path):
    model = recur.Model(cell="gru", input_size=2, hidden_size=4, output_size=1)
    model.save(tmp_path / "m.safetensors")
    before = recur.limits()
    assert before == {"max_file_size": 2 << 30, "max_line_length": 16 << 20,
                      "max_vocabulary": 65536}
    recur.set_limits(max_file_size=100)
    try:
        with pytest.raises(recur.Error, match="over the max-file-size limit of 100"):
            recur.load(tmp_path / "m.safetensors")
        with pytest.raises(ValueError, match="max_line_length: expected a positive number"):
            recur.set_limits(max_line_length=0)
    finally:
        recur.set_limits(**before)
    assert recur.load(tmp_path / "m.safetensors").parameters().keys() == \
        model.parameters().keys()
