#!/usr/bin/env python3
"""PyTorch's side of bench/compare: one float32 training step of a workload (nn.RNN with tanh,
nn.LSTM or nn.GRU, then nn.Linear at every step, MSE loss, backward, SGD step), or with
--stream 1 the module called on one time step without gradients, timed as
bench/step_timing.hpp times recur's. Prints one JSON line. Threads: --threads sets
torch.set_num_threads; OpenBLAS's come from OPENBLAS_NUM_THREADS, set by the caller."""
import argparse
import json
import resource
import statistics
import time

import torch


def main():
    parser = argparse.ArgumentParser()
    for name in ("T", "B", "I", "H", "O", "repeats", "warmup", "threads", "stream"):
        parser.add_argument("--" + name, type=int, default=1)
    parser.add_argument("--cell", default="elman")
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    module = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[a.cell]
    rnn, readout = module(a.I, a.H), torch.nn.Linear(a.H, a.O)
    params = list(rnn.parameters()) + list(readout.parameters())
    optimizer = torch.optim.SGD(params, lr=1e-3)
    x, target = torch.randn(a.T, a.B, a.I), torch.randn(a.T, a.B, a.O)

    if a.stream:  # one step of streaming inference: the module called on one time step
        x_t, state = torch.randn(1, a.B, a.I), None

        def step():
            nonlocal state
            with torch.no_grad():
                out, state = rnn(x_t, state)
                readout(out)
    else:
        def step():
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(readout(rnn(x)[0]), target)
            loss.backward()
            optimizer.step()

    for _ in range(a.warmup):
        step()
    ms = []
    for _ in range(max(a.repeats, 1)):
        start = time.perf_counter()
        step()
        ms.append((time.perf_counter() - start) * 1e3)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"median_ms": statistics.median(ms), "min_ms": min(ms), "peak_mb": peak_mb}))


if __name__ == "__main__":
    main()
