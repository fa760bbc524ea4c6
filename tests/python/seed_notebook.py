"""The seed notebook's code (../shared/seed/notebook.txt), with its constants as parameters.

Kept as the notebook wrote it, so that it is the reference recur is held to.
"""
import io

import numpy as np


class RNN:
    def __init__(self, input_size, hidden_size, output_size, lr=0.01, init_scale=0.01):
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.lr = lr
        self.W_xh = np.random.randn(input_size, hidden_size) * init_scale
        self.W_hh = np.random.randn(hidden_size, hidden_size) * init_scale
        self.W_hy = np.random.randn(hidden_size, output_size) * init_scale
        self.b_h = np.zeros((hidden_size,))
        self.b_y = np.zeros((output_size,))

    def forward(self, x_seq):
        h_seq = []
        y_seq = []
        h_t = np.zeros((self.hidden_size,))
        for x_t in x_seq:
            h_t = np.tanh(x_t @ self.W_xh + h_t @ self.W_hh + self.b_h)
            y_t = h_t @ self.W_hy + self.b_y
            h_seq.append(h_t)
            y_seq.append(y_t)
        return np.stack(h_seq, axis=0), np.stack(y_seq, axis=0)

    def compute_loss(self, y_pred, y_true):
        return 0.5 * np.sum((y_pred - y_true) ** 2)

    def backward(self, x_seq, h_seq, y_seq, y_true):
        T = len(x_seq)
        dW_xh = np.zeros_like(self.W_xh)
        dW_hh = np.zeros_like(self.W_hh)
        dW_hy = np.zeros_like(self.W_hy)
        db_h = np.zeros_like(self.b_h)
        db_y = np.zeros_like(self.b_y)
        dh_next = np.zeros((self.hidden_size,))
        for t in reversed(range(T)):
            dy = y_seq[t] - y_true[t]
            dW_hy += np.outer(h_seq[t], dy)
            db_y += dy
            dh = dy @ self.W_hy.T + dh_next
            dtanh = (1 - h_seq[t] ** 2) * dh
            dW_xh += np.outer(x_seq[t], dtanh)
            h_prev = np.zeros_like(h_seq[t]) if t == 0 else h_seq[t - 1]
            dW_hh += np.outer(h_prev, dtanh)
            db_h += dtanh
            dh_next = dtanh @ self.W_hh.T
        self.W_xh -= self.lr * dW_xh
        self.W_hh -= self.lr * dW_hh
        self.W_hy -= self.lr * dW_hy
        self.b_h -= self.lr * db_h
        self.b_y -= self.lr * db_y

    def train_step(self, x_seq, y_true):
        h_seq, y_seq = self.forward(x_seq)
        loss = self.compute_loss(y_seq, y_true)
        self.backward(x_seq, h_seq, y_seq, y_true)
        return loss


def run_notebook(seed=42, steps=10, input_size=1, hidden=8, lr=0.01, epochs=200, scale=2.0,
                 init_scale=0.01, log_every=20):
    """Runs the notebook; returns (losses, predictions, x, y, printed text in English)."""
    out = io.StringIO()
    np.random.seed(seed)
    x_data = np.random.randn(steps, input_size)
    y_data = scale * x_data
    print("Input sequence x_data:\n", x_data, file=out)
    print("Target output y_data:\n", y_data, file=out)
    rnn = RNN(input_size, hidden, input_size, lr=lr, init_scale=init_scale)
    losses = []
    for epoch in range(epochs):
        loss = rnn.train_step(x_data, y_data)
        losses.append(float(loss))
        if (epoch + 1) % log_every == 0:
            print(f"Epoch {epoch+1}/{epochs}, Loss = {loss:.4f}", file=out)
    _, y_pred = rnn.forward(x_data)
    print("Predictions y_pred:\n", y_pred, file=out)
    print("True values y_data:\n", y_data, file=out)
    return np.array(losses), y_pred, x_data, y_data, out.getvalue()
