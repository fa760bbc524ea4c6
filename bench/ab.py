#!/usr/bin/env python3
"""bench/ab: two or more builds of recur (`recur bench`) timed on one workload, their processes
interleaved, to judge one change on this noisy VM.

    python3 bench/ab.py --bins OLD/cli/recur,build/cli/recur \\
        --workload medium --cell lstm [--rounds 7] [--threads 1]

Each round runs every binary once as its own process, the order rotated from round to round
(bench/compare.py's rounds), so that a slow spell of the machine (they last tens of seconds here) falls on all of
them alike. It prints, for each binary, the median of its processes' medians, that median's
ratio to the first binary's (above 1: faster than the first), the rounds in which it beat the
first, and every process's median. Warm-up and repeats as bench/compare.py uses them, unless
given.
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import SHORT, STREAMING, WORKLOADS, recur_command, run_rounds  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", required=True,
                        help="comma-separated recur programs (from builds with `recur bench "
                             "--workload`); the first is the baseline")
    parser.add_argument("--workload", default="medium", choices=sorted(WORKLOADS))
    parser.add_argument("--cell", default="lstm", choices=("elman", "lstm", "gru"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--threads", type=int,
                        help="recur's threads (default: its own, the machine's cores); at 1 the "
                             "cores' unequal speeds and the split's waits stay out of the times")
    args = parser.parse_args()
    bins = args.bins.split(",")
    for b in bins:
        if not os.access(b, os.X_OK):
            parser.error(f"--bins: {b} is not an executable file")
    if args.rounds < 1:
        parser.error("--rounds: expected at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads: expected at least 1")
    warmup, repeats = SHORT.get(args.workload, (1, 5))
    warmup = warmup if args.warmup is None else args.warmup
    repeats = repeats if args.repeats is None else args.repeats
    threads = [] if args.threads is None else ["--threads", str(args.threads)]
    commands = [recur_command(b, args.cell, WORKLOADS[args.workload], repeats, warmup,
                              args.workload in STREAMING) + threads for b in bins]
    runs = run_rounds([(command, {}) for command in commands], args.rounds)
    times = [[run["median_ms"] for run in r] for r in runs]
    base = statistics.median(times[0])
    threads = "" if args.threads is None else f", {args.threads} threads"
    print(f"{args.workload} {args.cell}{threads}, {args.rounds} rounds, {repeats} repeats after "
          f"{warmup} warm-up steps a process")
    for b, t in zip(bins, times):
        median = statistics.median(t)
        wins = sum(x < y for x, y in zip(t, times[0]))
        print(f"{b}: {median:.4f} ms, {base / median:.3f}x the first, faster in {wins} of "
              f"{len(t)} rounds ({' '.join(f'{x:.4g}' for x in t)})")


if __name__ == "__main__":
    main()
