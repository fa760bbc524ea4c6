"""recur.RNN, the seed notebook's class on recur's library, against the notebook's own numpy
class (seed_notebook.py) run with the same settings: same numbers to a relative 1e-10."""
import numpy as np
import pytest

import recur
import seed_notebook

SETTINGS = [
    # seed, T, input, hidden, output, lr, epochs, scale
    (42, 10, 1, 8, 1, 0.01, 200, 2.0),  # the notebook's own
    (7, 13, 3, 5, 2, 0.02, 60, -1.5),
    (123, 4, 2, 16, 3, 0.005, 40, 0.5),
    (2024, 25, 1, 3, 1, 0.01, 80, 1.0),
]


def pair(seed, T, I, H, O, lr):
    """The notebook's data and both classes, each drawing from numpy's global state exactly
    as the notebook does."""
    np.random.seed(seed)
    x = np.random.randn(T, I)
    y = x[:, :1].repeat(O, axis=1) * np.linspace(1.0, 2.0, O)
    state = np.random.get_state()
    ours = recur.RNN(I, H, O, lr=lr)
    np.random.set_state(state)
    reference = seed_notebook.RNN(I, H, O, lr=lr)
    return x, y, ours, reference


def assert_close(actual, expected, rtol=1e-10):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = np.maximum(np.abs(expected), 1e-12)
    assert np.all(np.abs(actual - expected) <= rtol * scale), np.max(np.abs(actual - expected) / scale)


@pytest.mark.parametrize("seed,T,I,H,O,lr,epochs,scale", SETTINGS)
def test_train_step_matches_the_notebook(seed, T, I, H, O, lr, epochs, scale):
    x, y, ours, reference = pair(seed, T, I, H, O, lr)
    y = y * scale
    for _ in range(epochs):
        assert_close(ours.train_step(x, y), reference.train_step(x, y))
    for name in ("W_xh", "W_hh", "W_hy", "b_h", "b_y"):
        assert_close(getattr(ours, name), getattr(reference, name))
    for a, b in zip(ours.forward(x), reference.forward(x)):
        assert_close(a, b)


def test_the_notebooks_printed_numbers():
    np.random.seed(42)
    x = np.random.randn(10, 1)
    y = 2 * x
    rnn = recur.RNN(1, 8, 1, lr=0.01)
    printed = []
    for epoch in range(200):
        loss = rnn.train_step(x, y)
        if (epoch + 1) % 20 == 0:
            printed.append(f"{loss:.4f}")
    assert printed == ["9.2975", "5.6213", "0.3721", "0.0429", "0.0329", "0.0289", "0.0255",
                       "0.0227", "0.0204", "0.0184"]
    _, y_pred = rnn.forward(x)
    expected = [1.04348767, -0.32104181, 1.36640077, 2.98100245, -0.51198748, -0.5150128,
                3.06108598, 1.61297415, -0.94754366, 1.14039697]
    assert np.round(y_pred.ravel(), 8).tolist() == expected


def test_forward_loss_backward_as_the_notebook_calls_them():
    x, y, ours, reference = pair(5, 8, 2, 6, 1, 0.03)
    for _ in range(5):
        h_ours, y_ours = ours.forward(x)
        h_ref, y_ref = reference.forward(x)
        assert_close(h_ours, h_ref)
        assert_close(y_ours, y_ref)
        assert_close(ours.compute_loss(y_ours, y), reference.compute_loss(y_ref, y))
        ours.backward(x, h_ours, y_ours, y)
        reference.backward(x, h_ref, y_ref, y)
    for name in ("W_xh", "W_hh", "W_hy", "b_h", "b_y"):
        assert_close(getattr(ours, name), getattr(reference, name))


def test_attributes_have_the_notebooks_shapes_and_are_the_models_own():
    x, y, ours, reference = pair(3, 6, 2, 4, 3, 0.01)
    shapes = {"W_xh": (2, 4), "W_hh": (4, 4), "W_hy": (4, 3), "b_h": (4,), "b_y": (3,)}
    for name, shape in shapes.items():
        assert getattr(ours, name).shape == shape
    # Writing into an attribute changes the model: the same edit on both classes.
    ours.W_hh[1, 2] += 0.5
    reference.W_hh[1, 2] += 0.5
    ours.b_y[...] = [0.1, -0.2, 0.3]
    reference.b_y = np.array([0.1, -0.2, 0.3])
    assert_close(ours.forward(x)[1], reference.forward(x)[1])
    # Assignment copies into the model; a wrong shape is refused.
    ours.W_xh = np.ones((2, 4))
    assert np.all(ours.W_xh == 1.0)
    with pytest.raises(ValueError, match=r"W_xh: expected shape \[2, 4\], got \[4, 2\]"):
        ours.W_xh = np.ones((4, 2))


def test_lr_is_read_at_every_step_as_in_the_notebook():
    x, y, ours, reference = pair(9, 5, 1, 4, 1, 0.01)
    ours.lr = reference.lr = 0.1
    for _ in range(3):
        assert_close(ours.train_step(x, y), reference.train_step(x, y))
    assert_close(ours.W_hh, reference.W_hh)


@pytest.mark.parametrize("x,message", [
    (np.zeros((10, 2)), r"x_seq: expected shape \[T, B, 1\] or \[T, 1\], got \[10, 2\]"),
    (np.zeros(10), r"x_seq: expected shape \[T, B, 1\] or \[T, 1\], got \[10\]"),
    (np.zeros((10, 1), dtype=np.int64), r"x_seq: expected float32 or float64 values, got int64"),
    ("text", r"x_seq: expected float32 or float64 values"),
])
def test_bad_arrays_raise_value_error(x, message):
    rnn = recur.RNN(1, 4, 1)
    with pytest.raises(ValueError, match=message):
        rnn.train_step(x, np.zeros((10, 1)))


def test_bad_target_shape_raises_value_error():
    rnn = recur.RNN(1, 4, 1)
    with pytest.raises(ValueError, match=r"y_true: expected shape \[10, 1, 1\] or \[10, 1\], got \[9, 1\]"):
        rnn.train_step(np.zeros((10, 1)), np.zeros((9, 1)))
