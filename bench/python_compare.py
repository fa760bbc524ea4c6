#!/usr/bin/env python3
"""What Python costs on top of recur's C++: `import recur` against the library and the program.

1. One seed-size train_step (T=10, I=1, H=8, float64): recur.RNN.train_step called from
   Python, against the same update timed inside C++ (Model64.bench_seed_step).
2. The seed notebook's whole run (seed, data, RNN, 200 epochs, predict) with `from recur
   import RNN`, against the notebook's own numpy class.
3. A fit over many epochs: recur.Model.fit against `recur train` on the same data as CSV
   (the program's wall time, start and CSV reading included), same settings, same result.

Run through `make bench` (PYTHONPATH at the build's package), which unsets OPENBLAS_CORETYPE
and OPENBLAS_L2_SIZE for numpy. Medians of repeats; the machine is shared and noisy.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import recur

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
import seed_notebook  # noqa: E402


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def seed_step(calls, repeats):
    np.random.seed(42)
    x = np.random.randn(10, 1)
    y = 2 * x
    rnn = recur.RNN(1, 8, 1, lr=0.001)
    step = rnn.train_step
    python = median_time(lambda: [step(x, y) for _ in range(calls)], repeats) / calls
    cpp = rnn._net.bench_seed_step(x, y, 0.001, calls * repeats)
    return python, cpp


def notebook_run(rnn_class):
    np.random.seed(42)
    x = np.random.randn(10, 1)
    y = 2 * x
    rnn = rnn_class(1, 8, 1, lr=0.01)
    for _ in range(200):
        loss = rnn.train_step(x, y)
    rnn.forward(x)
    return loss


def fit_against_cli(recur_bin, repeats, epochs, cell):
    rng = np.random.default_rng(0)
    T, B, I, H, O = 50, 64, 4, 32, 1
    x = rng.standard_normal((T, B, I))
    y = np.cumsum(x[:, :, :1], axis=0) * 0.1
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "data.csv")
        with open(csv, "w") as f:
            f.write("id,a,b,c,d,target\n")
            for b in range(B):
                for t in range(T):
                    f.write(f"s{b}," + ",".join(repr(v) for v in x[t, b]) + f",{y[t, b, 0]!r}\n")
        settings = ["--cell", cell, "--hidden", str(H), "--epochs", str(epochs), "--batch-size",
                    "16", "--optimizer", "adam", "--lr", "0.01", "--seed", "1"]
        command = [recur_bin, "train", "--data", csv, "--input-columns", "a,b,c,d",
                   "--target-columns", "target", "--sequence-column", "id", "--normalize",
                   "none", "--save", os.path.join(tmp, "m.safetensors"), *settings]
        cli = median_time(lambda: subprocess.run(command, check=True, capture_output=True),
                          repeats)
        cli_model = recur.load(os.path.join(tmp, "m.safetensors"))

    def fit():
        model = recur.Model(cell=cell, input_size=I, hidden_size=H, output_size=O, seed=1)
        model.fit(x, y, epochs=epochs, batch_size=16, optimizer="adam", lr=0.01, seed=1)
        return model

    python = median_time(fit, repeats)
    model = fit()
    same = all(np.allclose(v, cli_model.parameters()[k], rtol=1e-5, atol=1e-6)
               for k, v in model.parameters().items())
    return python, cli, same


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recur", required=True, help="path to the recur program")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the fit comparison")
    args = parser.parse_args()

    python, cpp = seed_step(2000, args.repeats)
    print("Python module overhead (median of repeats)")
    print(f"  seed train_step   Python {python * 1e6:8.2f} us   C++ {cpp * 1e6:8.2f} us   "
          f"ratio {python / cpp:5.2f}x (target <= 3x)")
    ours = median_time(lambda: notebook_run(recur.RNN), args.repeats * 3)
    numpy = median_time(lambda: notebook_run(seed_notebook.RNN), args.repeats)
    assert abs(notebook_run(recur.RNN) - notebook_run(seed_notebook.RNN)) < 1e-10
    print(f"  seed notebook run (200 epochs)   from recur import RNN {ours * 1e3:8.3f} ms   "
          f"numpy class {numpy * 1e3:8.3f} ms   {numpy / ours:6.1f}x faster")
    for cell in ("elman", "lstm"):
        python, cli, same = fit_against_cli(args.recur, max(3, args.repeats // 2), args.epochs,
                                            cell)
        print(f"  fit {cell:5s} T=50 B=64 I=4 H=32, {args.epochs} epochs   Model.fit "
              f"{python * 1e3:8.1f} ms   recur train {cli * 1e3:8.1f} ms   "
              f"ratio {python / cli:5.2f} (target <= 1.10)   same model: {same}")
        if not same:
            sys.exit("Model.fit and recur train trained different models")


if __name__ == "__main__":
    main()
