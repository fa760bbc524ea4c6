"""Models to and from PyTorch: recur keeps PyTorch's tensor names and orientation, so moving
weights is renaming biases (recur's Elman and LSTM layers hold the sum of PyTorch's two)."""
import numpy as np
import torch

_MODULES = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


class RecurrentModel(torch.nn.Module):
    """The PyTorch twin of a recur model: y(t) = readout(rnn(x)(t)), time-major."""

    def __init__(self, cell, input_size, hidden_size, output_size, layers=1,
                 bidirectional=False, dropout=0.0, nonlinearity="tanh"):
        super().__init__()
        extra = {"nonlinearity": nonlinearity} if cell == "elman" else {}
        self.rnn = _MODULES[cell](input_size, hidden_size, layers, dropout=dropout,
                                  bidirectional=bidirectional, **extra)
        directions = 2 if bidirectional else 1
        self.readout = torch.nn.Linear(directions * hidden_size, output_size)

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.readout(out), state


def to_torch(model):
    c = model.config
    module = RecurrentModel(c["cell"], c["input_size"], c["hidden_size"], c["output_size"],
                            c["layers"], c["bidirectional"], c["dropout"], c["nonlinearity"])
    module = module.to(torch.float64 if c["dtype"] == "float64" else torch.float32)
    params = model.parameters()
    state = {}
    for name, tensor in module.state_dict().items():
        if name in params:
            value = params[name]
        elif name.startswith("rnn.bias_ih_"):  # recur's one bias is PyTorch's two, summed
            value = params["rnn.bias_" + name[len("rnn.bias_ih_"):]]
        elif name.startswith("rnn.bias_hh_"):
            value = np.zeros(tensor.shape)
        else:
            raise KeyError(name)
        state[name] = torch.tensor(np.array(value), dtype=tensor.dtype)
    module.load_state_dict(state)
    return module


def from_torch(cls, module):
    rnn, readout = getattr(module, "rnn", None), getattr(module, "readout", None)
    cells = {torch.nn.RNN: "elman", torch.nn.LSTM: "lstm", torch.nn.GRU: "gru"}
    if type(rnn) not in cells or not isinstance(readout, torch.nn.Linear):
        raise ValueError("from_torch: expected a module with .rnn (nn.RNN, nn.LSTM or nn.GRU) "
                         "and .readout (nn.Linear)")
    cell = cells[type(rnn)]
    if getattr(rnn, "proj_size", 0):
        raise ValueError("from_torch: LSTM projections (proj_size) are not supported")
    if rnn.batch_first:
        raise ValueError("from_torch: expected a time-major rnn (batch_first=False)")
    directions = 2 if rnn.bidirectional else 1
    if readout.in_features != directions * rnn.hidden_size:
        raise ValueError(f"from_torch: readout takes {readout.in_features} features, the rnn "
                         f"gives {directions * rnn.hidden_size}")
    weights = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    dtype = weights["readout.weight"].dtype
    model = cls(cell=cell, input_size=rnn.input_size, hidden_size=rnn.hidden_size,
                output_size=readout.out_features, layers=rnn.num_layers,
                bidirectional=rnn.bidirectional, dropout=rnn.dropout,
                nonlinearity=getattr(rnn, "nonlinearity", "tanh"),
                dtype="float64" if dtype == np.float64 else "float32")
    for name, view in model.parameters().items():
        if name in weights:
            view[...] = weights[name]
        elif name.startswith("rnn.bias_l"):
            suffix = name[len("rnn.bias_"):]
            view[...] = (weights.get("rnn.bias_ih_" + suffix, 0.0)
                         + weights.get("rnn.bias_hh_" + suffix, 0.0))
        elif name.startswith("rnn.bias_"):  # a GRU without biases
            view[...] = 0.0
        else:
            raise ValueError(f"from_torch: the module has no {name}")
    return model
