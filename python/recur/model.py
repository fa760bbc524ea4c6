"""recur.Model: any recur network (Elman, LSTM or GRU cells, stacked, one or two directions,
a linear readout at every step) with numpy arrays in and out.

Arrays are time-major like PyTorch's recurrent modules: a batch of sequences is [T, B, F] and
one sequence may be given as [T, F]. float32 and float64 are both accepted and converted to
the model's dtype; a C-contiguous array of the model's dtype is used without a copy.
"""
import numpy as np

from . import _recur

_CELLS = ("elman", "lstm", "gru")
_DTYPES = {np.dtype(np.float32): _recur.Model32, np.dtype(np.float64): _recur.Model64}


def _model_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError as e:
        raise ValueError(f"dtype: expected float32 or float64, got {dtype!r}") from e
    if dtype not in _DTYPES:
        raise ValueError(f"dtype: expected float32 or float64, got {dtype}")
    return dtype


class Model:
    """A recurrent network and its readout.

    Model(cell="elman", input_size=1, hidden_size=32, output_size=1, layers=1,
          bidirectional=False, dropout=0.0, nonlinearity="tanh", dtype="float32",
          init="pytorch", seed=0)

    cell: "elman", "lstm" or "gru" (PyTorch's nn.RNN, nn.LSTM, nn.GRU). dropout applies
    between stacked layers while fitting. init: "pytorch" (the default of PyTorch's modules),
    "xavier", "orthogonal" or "numpy" (the seed notebook's randn * 0.01), drawn from `seed`.
    """

    def __init__(self, cell="elman", input_size=1, hidden_size=32, output_size=1, layers=1,
                 bidirectional=False, dropout=0.0, nonlinearity="tanh", dtype="float32",
                 init="pytorch", seed=0):
        if cell not in _CELLS:
            raise ValueError(f"cell: expected one of {', '.join(_CELLS)}, got {cell!r}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("output_size", output_size), ("layers", layers)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity: expected tanh or relu, got {nonlinearity!r}")
        if cell != "elman" and nonlinearity != "tanh":
            raise ValueError(f"nonlinearity: applies to the elman cell; {cell} has its own gates")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a fraction in [0, 1), got {dropout!r}")
        net = _DTYPES[_model_dtype(dtype)](dict(
            cell=cell, input_size=int(input_size), hidden_size=int(hidden_size),
            output_size=int(output_size), layers=int(layers), bidirectional=bool(bidirectional),
            dropout=float(dropout), nonlinearity=nonlinearity))
        net.initialize(init, int(seed))
        self._attach(net, {})

    def _attach(self, net, metadata):
        self._net = net
        self._views_out = False  # parameters() handed out: step() must not trust its cache
        self.metadata = dict(metadata)

    @classmethod
    def _from_net(cls, net, metadata):
        model = cls.__new__(cls)
        model._attach(net, metadata)
        return model

    # The configuration.
    @property
    def config(self):
        """cell, sizes, layers, bidirectional, dropout and nonlinearity, as a dict."""
        return dict(self._net.config, dtype=self.dtype.name)

    @property
    def dtype(self):
        return np.dtype(np.float32 if isinstance(self._net, _recur.Model32) else np.float64)

    def __repr__(self):
        c = self._net.config
        return (f"recur.Model(cell={c['cell']!r}, input_size={c['input_size']}, "
                f"hidden_size={c['hidden_size']}, output_size={c['output_size']}, "
                f"layers={c['layers']}, bidirectional={c['bidirectional']}, "
                f"dtype={self.dtype.name!r})")

    # Parameters and gradients.
    def _named(self, flat):
        return {name: flat[offset:offset + size].reshape(shape)
                for name, shape, offset, size in self._net.tensors()}

    def parameters(self):
        """{name: array}: views of the model's parameters (no copies), PyTorch's names with
        one summed bias (rnn.bias_l{k}) for Elman and LSTM layers. Writing into them changes
        the model."""
        self._views_out = True
        return self._named(self._net.parameter_buffer())

    def gradients(self):
        """{name: array}: views of the gradients of the last fit step, as parameters()."""
        return self._named(self._net.gradient_buffer())

    # Running.
    def _state_in(self, state):
        if state is None:
            return None
        if self._net.config["cell"] == "lstm":
            if not isinstance(state, tuple) or len(state) != 2:
                raise ValueError("state: an LSTM's state is a tuple (h, c), as PyTorch's")
            return np.concatenate([np.asarray(state[0]), np.asarray(state[1])])
        return state

    def _state_out(self, state):
        if self._net.config["cell"] == "lstm":
            half = state.shape[0] // 2
            return state[:half], state[half:]
        return state

    def predict(self, x, state=None, lengths=None):
        """x [T, B, input_size] (or [T, input_size]) -> (y, state).

        y is [T, B, output_size] (or [T, output_size]). state, in and out, is PyTorch's h_n:
        [layers * directions, B, hidden_size] ([.., hidden_size] for one sequence), and for an
        LSTM the tuple (h_n, c_n). lengths: each sequence's length in a padded batch; its
        outputs past that are 0 and its state is the one after its last step."""
        y, state, _ = self._net.forward(x, lengths, self._state_in(state), False)
        return y, self._state_out(state)

    def step(self, x_t, state=None):
        """One time step for streaming: x_t [B, input_size] (or [input_size]) and the state
        after the previous step (None: zeros) -> (y_t, state after this step)."""
        y, state = self._net.step(x_t, self._state_in(state), self._views_out)
        return y, self._state_out(state)

    # Training.
    def fit(self, x, y, epochs=10, batch_size=32, optimizer="sgd", lr=0.01, clip=0.0, bptt=0,
            lengths=None, validation=None, callback=None, loss="mse", momentum=0.0,
            nesterov=False, weight_decay=None, target="every", seed=0, progress=False):
        """Trains on the sequences of x [T, B, input_size] and y [T, B, output_size] (or one
        sequence [T, F]), as `recur train` does; returns the history, a dict of per-epoch
        lists: loss, grad_norm (mean global norm before clipping) and val_loss.

        optimizer: sgd, adam, adamw or rmsprop (torch.optim's). loss: mse, sse or
        cross-entropy (y then holds one-hot classes or probabilities). clip: global norm
        (0: off). bptt: truncated BPTT in chunks of this many steps (0: full). lengths: each
        sequence's length. target: "every" step counts in the loss, or only the "last" of
        each sequence. validation: a fraction of the sequences held out from the end, or
        (x, y) or (x, y, lengths). callback(epoch, logs) runs after each epoch; returning
        False stops. progress: show a tqdm progress bar. Ctrl-C raises KeyboardInterrupt
        between steps and leaves the model as the last finished step left it."""
        if target not in ("every", "last"):
            raise ValueError(f"target: expected every or last, got {target!r}")
        if weight_decay is None:
            weight_decay = 1e-2 if optimizer == "adamw" else 0.0
        options = dict(optimizer=optimizer, lr=float(lr), momentum=float(momentum),
                       nesterov=bool(nesterov), weight_decay=float(weight_decay),
                       clip=float(clip), bptt=int(bptt), loss=loss,
                       last_step_only=target == "last", batch_size=int(batch_size),
                       seed=int(seed))
        val_x = val_y = val_lengths = None
        if isinstance(validation, float):
            x, y, lengths, (val_x, val_y, val_lengths) = _hold_out(x, y, lengths, validation)
        elif validation is not None:
            if not isinstance(validation, (tuple, list)) or len(validation) not in (2, 3):
                raise ValueError("validation: expected a fraction, or (x, y) or (x, y, lengths)")
            val_x, val_y = validation[0], validation[1]
            val_lengths = validation[2] if len(validation) == 3 else None
        bar = None
        on_step = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(unit="step")

            def on_step(step, steps, running, norm):
                if bar.total is None:
                    bar.total = steps * epochs
                bar.update(1)
                bar.set_postfix(loss=f"{running:.4g}", refresh=False)
        # What `recur predict` needs to know of the training; CSV column names, if the
        # program is to read the model's data, come from save(metadata=...).
        self.metadata.update(loss=loss, target=target)
        try:
            return self._net.fit(x, y, lengths, val_x, val_y, val_lengths, int(epochs), options,
                                 on_step, callback)
        finally:
            if bar is not None:
                bar.close()

    # Files.
    def save(self, path, metadata=None):
        """Writes the model as safetensors in PyTorch's names, the files `recur predict`,
        `recur info` and PyTorch read; atomically, so an existing file is never half
        replaced. metadata: extra {str: str} to store, added to the model's own metadata
        (that of the file it was loaded from, and the loss of its last fit). For `recur
        predict` to read a CSV with the model, give the program's keys: data="csv",
        input_columns and target_columns (JSON lists), sequence_column, forecast
        ("true"/"false") and normalize ("none", or "zscore" with normalization)."""
        extra = dict(self.metadata)
        extra.update(metadata or {})
        self._net.save(str(path), {str(k): str(v) for k, v in extra.items()})

    # PyTorch.
    def to_torch(self):
        """A torch.nn.Module with the same weights: .rnn (nn.RNN, nn.LSTM or nn.GRU) and
        .readout (nn.Linear); forward(x, state) -> (y, state)."""
        from .torch_bridge import to_torch
        return to_torch(self)

    @classmethod
    def from_torch(cls, module):
        """A Model with the weights of a module that has .rnn (nn.RNN, nn.LSTM or nn.GRU,
        time-major) and .readout (nn.Linear), such as to_torch() makes."""
        from .torch_bridge import from_torch
        return from_torch(cls, module)


def _hold_out(x, y, lengths, fraction):
    """The last round(fraction * B) sequences (at least one) as validation, as the CLI's
    --validation holds them out."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation: expected a fraction in (0, 1), got {fraction}")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 3 or y.ndim != 3:
        raise ValueError("validation: a fraction needs batches of sequences, x [T, B, F]")
    batch = x.shape[1]
    held = max(1, int(np.floor(fraction * batch + 0.5)))
    if held >= batch:
        raise ValueError(f"validation: {batch} sequence(s), too few to hold out {held}")
    keep = batch - held
    lengths = None if lengths is None else np.asarray(lengths)
    split = (lambda a: (a[:, :keep], a[:, keep:]))
    (x_train, x_val), (y_train, y_val) = split(x), split(y)
    l_train = l_val = None
    if lengths is not None:
        l_train, l_val = lengths[:keep], lengths[keep:]
    return x_train, y_train, l_train, (x_val, y_val, l_val)


def load(path):
    """The model in a safetensors file written by recur (the program or Model.save) or by
    PyTorch in the same names; Model.metadata holds the file's metadata."""
    net, metadata = _recur.load(str(path))
    return Model._from_net(net, metadata)
