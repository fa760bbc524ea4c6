"""recur against PyTorch (nn.RNN, nn.LSTM or nn.GRU + nn.Linear, the same weights from the same
safetensors file): outputs, final states, loss, every parameter gradient, and the parameters
after 20 optimizer steps, for random sizes (I != O, B > 1, padded batches), every cell, stacked
and bidirectional, both losses and both dtypes."""
import os
import subprocess

import pytest
import torch

from recur_safetensors import load, save

TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}


class Model(torch.nn.Module):
    """What recur's model files hold: a recurrent module and a linear readout at every step."""

    def __init__(self, input_size, hidden_size, output_size, nonlinearity="tanh", cell="elman",
                 layers=1, bidirectional=False):
        super().__init__()
        if cell == "elman":
            self.rnn = torch.nn.RNN(input_size, hidden_size, layers, nonlinearity=nonlinearity,
                                    bidirectional=bidirectional)
        else:
            module = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
            self.rnn = module(input_size, hidden_size, layers, bidirectional=bidirectional)
        self.readout = torch.nn.Linear(hidden_size * (2 if bidirectional else 1), output_size)
        self.lengths = None  # set for padded batches: the module then runs packed sequences
        self.state0 = None

    def run(self, x):
        """(y, final state) with padded steps packed away, as recur treats them."""
        lengths = self.lengths or [x.shape[0]] * x.shape[1]
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths),
                                                         enforce_sorted=False)
        out, state = self.rnn(packed, self.state0)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])
        return self.readout(out), state

    def forward(self, x):
        return self.run(x)[0]


def masked_loss(kind, y, target, lengths, last=False):
    steps = torch.arange(y.shape[0]).unsqueeze(1)
    ends = torch.tensor(lengths).unsqueeze(0)
    counted = (steps == ends - 1) if last else (steps < ends)
    if kind == "cross-entropy":  # torch's own loss over the counted steps, classes by index
        rows = counted.reshape(-1)
        return torch.nn.functional.cross_entropy(y.reshape(-1, y.shape[2])[rows],
                                                 target.reshape(-1, y.shape[2])[rows].argmax(1))
    mask = counted.unsqueeze(2).to(y.dtype)
    squares = mask * (y - target) ** 2
    if kind == "sse":
        return 0.5 * squares.sum()
    return squares.sum() / (mask.sum() * y.shape[2])


def relative_error(actual, expected):
    actual = actual.reshape(expected.shape).to(torch.float64)
    expected = expected.to(torch.float64)
    scale = expected.abs().max().clamp(min=1e-300)
    return float((actual - expected).abs().max() / scale)


def random_case(seed):
    g = torch.Generator().manual_seed(seed)
    T, B, I, H, O = (int(torch.randint(lo, hi, (1,), generator=g))
                     for lo, hi in ((2, 12), (1, 6), (1, 5), (1, 24), (1, 4)))
    lengths = [int(torch.randint(1, T + 1, (1,), generator=g)) for _ in range(B)]
    lengths[0] = T  # at least one full-length sequence, as a padded batch has
    return T, B, I, H, O, lengths


CASES = [(seed, dtype, loss) for seed in range(6) for dtype in (torch.float64, torch.float32)
         for loss in ("sse", "mse")]


@pytest.mark.parametrize("seed,dtype,loss", CASES,
                         ids=lambda v: str(v).replace("torch.", ""))
def test_recur_matches_pytorch(tmp_path, seed, dtype, loss):
    # SSE sums over every value, so its gradients are larger: a smaller step keeps 20 steps
    # of float32 SGD in the stable regime where rounding stays near 1e-7.
    lr = 0.01 if loss == "sse" else 0.05
    run_case(tmp_path, seed, dtype, loss, {"optimizer": "sgd", "lr": lr},
             lambda params: torch.optim.SGD(params, lr=lr))


OPTIMIZERS = {
    "sgd-momentum": ({"optimizer": "sgd", "lr": 0.05, "momentum": 0.9},
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "sgd-nesterov-wd": ({"optimizer": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True,
                         "weight_decay": 0.01},
                        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True,
                                                  weight_decay=0.01)),
    "adam": ({"optimizer": "adam", "lr": 0.01},
             lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam-wd-betas": ({"optimizer": "adam", "lr": 0.005, "weight_decay": 0.1, "beta1": 0.8,
                       "beta2": 0.99, "eps": 1e-6},
                      lambda p: torch.optim.Adam(p, lr=0.005, weight_decay=0.1,
                                                 betas=(0.8, 0.99), eps=1e-6)),
    "adamw": ({"optimizer": "adamw", "lr": 0.01, "weight_decay": 0.05},
              lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.05)),
    "rmsprop": ({"optimizer": "rmsprop", "lr": 0.005},
                lambda p: torch.optim.RMSprop(p, lr=0.005)),
    "rmsprop-momentum-wd": ({"optimizer": "rmsprop", "lr": 0.002, "momentum": 0.5,
                             "weight_decay": 0.01, "alpha": 0.9},
                            lambda p: torch.optim.RMSprop(p, lr=0.002, momentum=0.5,
                                                          weight_decay=0.01, alpha=0.9)),
    "sgd-clip": ({"optimizer": "sgd", "lr": 0.05, "clip": 0.1},
                 lambda p: torch.optim.SGD(p, lr=0.05)),
}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizers_match_torch_optim(tmp_path, name, dtype):
    meta, make = OPTIMIZERS[name]
    run_case(tmp_path, 3, dtype, "mse", meta, make, clip=meta.get("clip", 0.0))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("seed", range(3))
def test_relu_matches_pytorch(tmp_path, seed, dtype):
    run_case(tmp_path, seed, dtype, "mse", {"optimizer": "sgd", "lr": 0.02},
             lambda params: torch.optim.SGD(params, lr=0.02), nonlinearity="relu")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("loss", ["sse", "mse"])
def test_many_to_one_matches_pytorch(tmp_path, loss, dtype):
    """Only each sequence's last step in the loss (sequence regression)."""
    run_case(tmp_path, 4, dtype, loss, {"optimizer": "sgd", "lr": 0.05, "target": "last"},
             lambda params: torch.optim.SGD(params, lr=0.05), last=True)


def recur_names(model):
    """recur's tensor name for each trained PyTorch parameter. Elman and LSTM keep one summed
    bias (bias_ih, with bias_hh held at zero and frozen); GRU keeps both."""
    names = {}
    for name, p in model.named_parameters():
        if name.startswith("rnn.bias_hh") and not isinstance(model.rnn, torch.nn.GRU):
            with torch.no_grad():
                p.zero_()
            p.requires_grad_(False)
        elif name.startswith("rnn.bias_ih") and not isinstance(model.rnn, torch.nn.GRU):
            names["rnn.bias_" + name[len("rnn.bias_ih_"):]] = p
        else:
            names[name] = p
    return names


def run_case(tmp_path, seed, dtype, loss, optimizer_meta, make_optimizer, clip=0.0,
             nonlinearity="tanh", last=False, cell="elman", layers=1, bidirectional=False,
             state0=False, classes=0):
    torch.manual_seed(100 + seed)
    T, B, I, H, O, lengths = random_case(seed)
    O = classes or O
    model = Model(I, H, O, nonlinearity, cell, layers, bidirectional).to(dtype)
    params = recur_names(model)
    x = torch.randn(T, B, I, dtype=dtype)
    target = torch.randn(T, B, O, dtype=dtype)
    if classes:  # one-hot targets
        target = torch.nn.functional.one_hot(torch.randint(0, O, (T, B)), O).to(dtype)
    for b, n in enumerate(lengths):  # padding holds garbage, which must not matter
        x[n:, b] = 1e3
        target[n:, b] = -1e3
    steps = 20

    case = dict(model.state_dict())
    case.update(x=x, target=target, lengths=torch.tensor(lengths, dtype=torch.float64))
    model.lengths = lengths
    if state0:
        parts = layers * (2 if bidirectional else 1)
        h0 = torch.randn(parts, B, H, dtype=dtype)
        c0 = torch.randn(parts, B, H, dtype=dtype)
        model.state0 = (h0, c0) if cell == "lstm" else h0
        case["state0"] = torch.cat([h0, c0]) if cell == "lstm" else h0
    save(tmp_path / "case.safetensors", case,
         dict(optimizer_meta, loss=loss, steps=steps, nonlinearity=nonlinearity))
    result = subprocess.run([os.environ["RECUR_PARITY_TOOL"], tmp_path / "case.safetensors",
                             tmp_path / "out.safetensors"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out, _ = load(tmp_path / "out.safetensors")
    tol = TOLERANCE[dtype]

    y, state = model.run(x)
    value = masked_loss(loss, y, target, lengths, last)
    value.backward()
    for b, n in enumerate(lengths):
        assert relative_error(out["y"][:n, b], y[:n, b].detach()) <= tol
        assert torch.all(out["y"][n:, b] == 0)
    final = torch.cat(state) if cell == "lstm" else state
    assert relative_error(out["state"], final.detach()) <= tol
    assert relative_error(out["loss"], value.detach().reshape(1)) <= tol
    for name, p in params.items():
        assert relative_error(out["grad." + name], p.grad) <= tol, name

    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(trained)
    for _ in range(steps):
        optimizer.zero_grad()
        masked_loss(loss, model(x), target, lengths, last).backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(trained, clip)
        optimizer.step()
    for name, p in params.items():
        assert relative_error(out["after." + name], p.detach()) <= tol, name


VARIANTS = [(cell, layers, bidirectional) for cell in ("elman", "lstm", "gru")
            for layers in (1, 2) for bidirectional in (False, True)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("cell,layers,bidirectional", VARIANTS,
                         ids=lambda v: str(v) if not isinstance(v, bool) else
                         ("bidirectional" if v else "forward"))
def test_every_cell_matches_pytorch(tmp_path, cell, layers, bidirectional, dtype):
    """Outputs, final states from a given initial state, gradients and 20 SGD steps with
    momentum (Adam's parity is tested above: the optimizers do not see the cell, and Adam's
    normalisation turns float32 rounding in near-zero gradients into whole steps)."""
    run_case(tmp_path, 2 + layers, dtype, "mse", {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9},
             lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9), cell=cell,
             layers=layers,
             bidirectional=bidirectional, state0=True)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("last", [False, True], ids=["every", "last"])
def test_cross_entropy_matches_pytorch(tmp_path, last, dtype):
    """Softmax cross-entropy over one-hot classes, as torch.nn.CrossEntropyLoss's mean."""
    run_case(tmp_path, 5, dtype, "cross-entropy",
             {"optimizer": "sgd", "lr": 0.1, **({"target": "last"} if last else {})},
             lambda params: torch.optim.SGD(params, lr=0.1), cell="lstm", layers=2,
             classes=7, last=last)


def test_pytorch_written_file_loads_with_biases_summed(tmp_path, run):
    """A model saved from PyTorch, with both biases non-zero, predicts the same in recur."""
    torch.manual_seed(7)
    model = Model(2, 5, 3).double()
    x = torch.randn(6, 1, 2, dtype=torch.float64)
    target = torch.zeros(6, 1, 3, dtype=torch.float64)
    case = dict(model.state_dict())
    case.update(x=x, target=target, lengths=torch.tensor([6.0], dtype=torch.float64))
    save(tmp_path / "case.safetensors", case, {"loss": "sse", "lr": 0.1, "steps": 1})
    subprocess.run([os.environ["RECUR_PARITY_TOOL"], tmp_path / "case.safetensors",
                    tmp_path / "out.safetensors"], check=True)
    out, _ = load(tmp_path / "out.safetensors")
    assert relative_error(out["y"], model(x).detach()) <= 1e-12
