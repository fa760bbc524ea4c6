#!/usr/bin/env python3
"""The seed workload side by side: the notebook's numpy code and PyTorch against `recur bench`.

Both run the notebook's whole job (seed, draw the data, initialise, 200 epochs of full-BPTT
SGD, predict) in their own process on the same machine, one after the other; each reports
the median of its repeats. Run it through `make bench`, which unsets OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE for this command so that numpy's BLAS picks its own kernels.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
from seed_notebook import run_notebook  # noqa: E402


def time_numpy(repeats):
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        losses, *_ = run_notebook()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), float(losses[-1])


def time_torch(repeats):
    """The notebook's job in PyTorch (float64, nn.RNN and nn.Linear, SGD), started from the
    notebook's own data and initial weights; (median seconds, final loss), or None without
    torch. nn.RNN's second bias (b_hh) is held at zero, since the notebook has one bias."""
    try:
        import torch
    except ImportError:
        return None
    import numpy as np
    from seed_notebook import RNN

    torch.set_num_threads(1)  # its fastest setting for an 8-unit network
    seconds, loss = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        np.random.seed(42)
        x_data = np.random.randn(10, 1)
        init = RNN(1, 8, 1)  # the notebook's initial weights, drawn as it draws them
        rnn = torch.nn.RNN(1, 8, nonlinearity="tanh", dtype=torch.float64)
        out = torch.nn.Linear(8, 1, dtype=torch.float64)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(torch.from_numpy(init.W_xh.T))
            rnn.weight_hh_l0.copy_(torch.from_numpy(init.W_hh.T))
            rnn.bias_ih_l0.copy_(torch.from_numpy(init.b_h))
            rnn.bias_hh_l0.zero_()
            out.weight.copy_(torch.from_numpy(init.W_hy.T))
            out.bias.copy_(torch.from_numpy(init.b_y))
        rnn.bias_hh_l0.requires_grad_(False)
        params = [p for p in [*rnn.parameters(), *out.parameters()] if p.requires_grad]
        opt = torch.optim.SGD(params, lr=0.01)
        x = torch.from_numpy(x_data).unsqueeze(1)  # (T, B = 1, I)
        y = 2.0 * x
        for _ in range(200):
            opt.zero_grad()
            h, _ = rnn(x)
            step_loss = 0.5 * ((out(h) - y) ** 2).sum()
            step_loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
        loss = float(step_loss)
    return statistics.median(seconds), loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recur", required=True, help="path to the recur program")
    parser.add_argument("--repeats", type=int, default=20, help="numpy runs (recur does 10x)")
    args = parser.parse_args()

    numpy_s, numpy_loss = time_numpy(args.repeats)
    out = subprocess.run([args.recur, "bench", "--json", "--repeats", str(10 * args.repeats)],
                         check=True, capture_output=True, text=True).stdout
    recur = json.loads(out)
    recur_s = recur["median_s"]
    if abs(recur["final_loss"] - numpy_loss) > 1e-10 * abs(numpy_loss):
        sys.exit(f"final losses differ: recur {recur['final_loss']!r}, numpy {numpy_loss!r}")

    print("seed workload: T=10, I=1, H=8, 200 epochs of full-BPTT SGD (median of repeats)")
    print(f"  numpy notebook  {numpy_s * 1e3:10.3f} ms")
    print(f"  recur           {recur_s * 1e3:10.3f} ms   ({recur_s * 1e6:.1f} us)")
    print(f"  ratio           {numpy_s / recur_s:10.1f}x faster than numpy")
    torch_result = time_torch(max(1, args.repeats // 2))
    if torch_result is not None:
        torch_s, torch_loss = torch_result
        # The last epoch's loss, before its update, as the notebook's: the same job.
        if abs(torch_loss - numpy_loss) > 1e-9 * abs(numpy_loss):
            sys.exit(f"final losses differ: PyTorch {torch_loss!r}, numpy {numpy_loss!r}")
        print(f"  PyTorch         {torch_s * 1e3:10.3f} ms   (intra-op threads 1)")
        print(f"  ratio           {torch_s / recur_s:10.1f}x faster than PyTorch")


if __name__ == "__main__":
    main()
