#!/usr/bin/env python3
"""Where recur's training step spends its time, per workload: perf's samples of
`recur bench` (the same steps bench/compare.py times), grouped by what the code does.

    python3 bench/profile.py --build build [--workloads small,medium] [--cells lstm]

Needs perf (linux-perf) and a kernel that lets this user sample (perf_event_paranoid <= 2).
Each run repeats the step until about --seconds of steps have run, so the first step's
workspace (zeroing, page faults) weighs little; what is left is the steady state.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import STREAMING, WORKLOADS, recur_command, run_json  # noqa: E402

# First match wins: (category, pattern over perf's symbol names).
CATEGORIES = [
    ("products", r"panel_kernel|multiply_panels|gemm|accumulate_columns|PackedMatrix|rows_kernel|elman_rows|"
                 r"for_row_groups"),
    # the cells' steps, inlined into the layers' time loops (before the waits: a loop split
    # by rows of the batch runs inside a part of parallel_for_parts)
    ("cell steps", r"layer_forward|layer_backward|forward_loop|backward_loop|lstm_|gru_|"
                   r"elman_|cell_|tanh|sigmoid|relu"),
    # the pool's workers spinning for work, and a caller waiting for their parts
    ("thread waits", r"parallel_for_parts|parallel_run|Pool|sched_yield|futex|lll_lock|"
                     r"pthread"),
    ("copies, zeroing", r"memset|memcpy|memmove|alloc"),
    ("kernel", r"^\[k\]"),
    ("loss, bias sums, update", r"loss|add_column_sums|Optimizer|global_norm|clip"),
]


def categorize(symbol):
    for name, pattern in CATEGORIES:
        if re.search(pattern, symbol):
            return name
    return "other"


def profile(recur, cell, shape, stream, seconds):
    probe = run_json(recur_command(recur, cell, shape, 3, 1, stream), {})
    samples = max(3, int(seconds * 1000 / max(probe["median_ms"] * probe["group"], 1e-3)))
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "perf.data")
        subprocess.run(["perf", "record", "-F", "4000", "-o", data, "--",
                        *recur_command(recur, cell, shape, samples, 1, stream)],
                       check=True, capture_output=True)
        report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort",
                                 "sym", "--stdio"], check=True, capture_output=True,
                                text=True).stdout
    shares = collections.Counter()
    for line in report.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+(\[[.k]\])\s+(.*)", line)
        if match:
            share, kind, symbol = float(match[1]), match[2], match[3]
            shares[categorize(symbol if kind == "[.]" else "[k] " + symbol)] += share
    return probe["median_ms"], shares


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    parser.add_argument("--workloads", default="small,medium,charrnn,large,stream")
    parser.add_argument("--cells", default="elman,lstm,gru")
    parser.add_argument("--seconds", type=float, default=1.5)
    args = parser.parse_args()
    recur = os.path.join(args.build, "cli", "recur")
    columns = [name for name, _ in CATEGORIES] + ["other"]
    short = ["products", "cells", "waits", "copies", "kernel", "loss/upd", "other"]
    print(f"{'workload':9} {'cell':6} {'ms':>8}  " + " ".join(f"{c:>9}" for c in short))
    for workload in args.workloads.split(","):
        for cell in args.cells.split(","):
            ms, shares = profile(recur, cell, WORKLOADS[workload],
                                 workload in STREAMING, args.seconds)
            total = sum(shares.values()) or 1.0
            print(f"{workload:9} {cell:6} {ms:8.3f}  " +
                  " ".join(f"{100 * shares[c] / total:8.0f}%" for c in columns), flush=True)


if __name__ == "__main__":
    main()
