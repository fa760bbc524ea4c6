"""The seed notebook's RNN class, running on recur's C++ library.

Same constructor, methods, attribute names and shapes as the notebook's class, and the same
numbers: the weights are drawn from numpy's global random state in the notebook's order, so
a notebook that calls np.random.seed(42) first gets the notebook's losses and predictions.
"""
import numpy as np

from . import _recur


class RNN:
    """A vanilla RNN (tanh hidden state, linear readout at every step), the notebook's.

    W_xh [input, hidden], W_hh [hidden, hidden], W_hy [hidden, output], b_h [hidden] and
    b_y [output] are numpy views of the model's own parameters (no copies): writing into
    them changes the model, and training changes them.
    """

    def __init__(self, input_size, hidden_size, output_size, lr=0.01):
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.lr = lr
        self._net = _recur.Model64(dict(
            cell="elman", input_size=input_size, hidden_size=hidden_size,
            output_size=output_size, layers=1, bidirectional=False, dropout=0.0,
            nonlinearity="tanh"))
        flat = self._net.parameter_buffer()
        views = {name: flat[offset:offset + size].reshape(shape)
                 for name, shape, offset, size in self._net.tensors()}
        # The notebook's orientation is the transpose of PyTorch's, which recur keeps.
        self._views = {
            "W_xh": views["rnn.weight_ih_l0"].T,
            "W_hh": views["rnn.weight_hh_l0"].T,
            "W_hy": views["readout.weight"].T,
            "b_h": views["rnn.bias_l0"],
            "b_y": views["readout.bias"],
        }
        self.W_xh = np.random.randn(input_size, hidden_size) * 0.01
        self.W_hh = np.random.randn(hidden_size, hidden_size) * 0.01
        self.W_hy = np.random.randn(hidden_size, output_size) * 0.01
        self.b_h = np.zeros((hidden_size,))
        self.b_y = np.zeros((output_size,))

    def forward(self, x_seq):
        """x_seq [T, input_size] -> (h_seq [T, hidden_size], y_seq [T, output_size])."""
        y_seq, _, h_seq = self._net.forward(x_seq, None, None, True)
        return h_seq, y_seq

    def compute_loss(self, y_pred, y_true):
        """0.5 * sum((y_pred - y_true)^2), the notebook's loss."""
        return 0.5 * np.sum((y_pred - y_true) ** 2)

    def backward(self, x_seq, h_seq, y_seq, y_true):
        """BPTT and one SGD step with lr, as the notebook's backward.

        h_seq and y_seq are forward(x_seq)'s; dLoss/dy is y_seq - y_true as in the notebook,
        and the hidden states are the model's own (recomputed from x_seq).
        """
        del h_seq  # recomputed in C++; equal to forward(x_seq)'s
        self._net.seed_step(x_seq, y_seq, y_true, float(self.lr))

    def train_step(self, x_seq, y_true):
        """Forward, loss, backward and update in one call; returns the loss before the update."""
        return self._net.seed_step(x_seq, None, y_true, float(self.lr))


def _view_property(name):
    def get(self):
        return self._views[name]

    def set(self, value):
        view = self._views[name]
        value = np.asarray(value)
        if value.shape != view.shape:
            raise ValueError(f"{name}: expected shape {list(view.shape)}, got {list(value.shape)}")
        view[...] = value

    return property(get, set, doc=f"the notebook's {name}, a view of the model's parameters")


for _name in ("W_xh", "W_hh", "W_hy", "b_h", "b_y"):
    setattr(RNN, _name, _view_property(_name))
