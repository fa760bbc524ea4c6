"""recur: recurrent networks (Elman, LSTM, GRU) trained by backpropagation through time, in C++.

    import recur
    model = recur.Model(cell="lstm", input_size=3, hidden_size=64, output_size=1)
    history = model.fit(x, y, epochs=20, optimizer="adam", lr=1e-3)   # x [T, B, 3], y [T, B, 1]
    y_pred, state = model.predict(x)
    model.save("model.safetensors")          # the same files as the recur program's
    model = recur.load("model.safetensors")

The seed notebook's class is here too, with the notebook's interface and numbers:

    from recur import RNN
    rnn = RNN(input_size, hidden_size, output_size, lr=0.01)
    loss = rnn.train_step(x_data, y_data)
"""
from ._recur import Error, limits, set_limits, set_threads, threads
from .model import Model, load
from .seed import RNN

__all__ = ["Error", "Model", "RNN", "limits", "load", "set_limits", "set_threads", "threads"]
__version__ = "0.1.0"
