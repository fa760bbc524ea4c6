#!/usr/bin/env python3
"""The seed workload side by side: the notebook's numpy code against `recur bench`.

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


if __name__ == "__main__":
    main()
