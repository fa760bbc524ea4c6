#!/usr/bin/env python3
"""bench/compare: recur against PyTorch and oneDNN on the same training workloads.

One float32 training step (forward over the sequence, linear readout at every step, MSE
loss, BPTT, SGD update) per workload and cell, each implementation in its own processes
(three by default, for every implementation and setting alike, taken in rounds so that a
slow spell of the machine falls on all of them), with warm-up and the median of repeats in
each; the median of the processes' medians is the one reported. PyTorch (Debian's python3-torch, over OpenBLAS) runs at
intra-op threads 1 and 2 with OpenBLAS threads 2, and at 1 and 1; oneDNN (Debian's
libdnnl) at OMP_NUM_THREADS 1 and 2; each peer's best setting is the one compared, and the
table says which it was. recur's times are `recur bench`'s, the program's own. GFLOP/s count
the same products for everyone (step_timing.hpp, as `recur bench` counts them);
the last column is each process's peak resident memory (the interpreter and libraries
included for PyTorch, at its fastest setting);
the GEMM bound is that count at the rate oneDNN's sgemm reaches on this machine, measured by
bench/gemm_bound on the recurrent steps' shapes and 2048^3 with all cores in each row's own
rounds, a process a round beside the others, the median of its processes' rates kept (480
GFLOP/s, issue 5's figure for the Zen 5 host, when oneDNN is not there: this VM has also run
on Zen 4 hosts, at about 200). Run it through `make bench`, which unsets OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE so that OpenBLAS picks its own kernels.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ISSUE_GEMM_BOUND_GFLOPS = 480.0  # issue 5, dnnl_sgemm on the Zen 5 host with 2 threads

WORKLOADS = {  # name: (T, B, I, H, O)
    "small": (50, 16, 16, 64, 16),
    "medium": (100, 64, 64, 256, 64),
    "charrnn": (100, 32, 65, 512, 65),
    "large": (100, 64, 256, 1024, 256),
    "tiny": (5, 2, 3, 7, 2),  # CI: keeps this program from rotting, says nothing of speed
    # Streaming inference: one time step of one sequence, no gradients (Network::step against
    # the module called on a single step); oneDNN's training primitives do not apply.
    "stream": (1, 1, 64, 256, 64),
}
STREAMING = {"stream"}
# Workloads of a millisecond or less a step: warm-up steps and repeats, for every
# implementation alike (others: 1 and --repeats). A training run takes thousands of steps,
# and recur's loop tuners (src/loop_tuner.hpp) spend a time loop's first ten runs on warm-up
# and on four of each candidate, and a small pass's first eighteen (a warm-up of ten).
SHORT = {"small": (20, 100), "stream": (20, 200)}


def gates(cell):
    return {"elman": 1, "lstm": 4, "gru": 3}[cell]


def step_gflop(cell, T, B, I, H, O, stream=False):
    """The same count as bench/step_timing.hpp's step_flops, in GFLOP (forward only when
    streaming)."""
    G, rows = gates(cell) * H, T * B
    if stream:
        return 2 * rows * (I * G + H * G + H * O) / 1e9
    forward = rows * (I * G + H * G + H * O)
    backward = rows * (I * G + H * G + H * O) + rows * (H * O + G * H)
    return 2 * (forward + backward) / 1e9


def run_json(command, env_extra):
    """The last line of the command's output as JSON; `recur bench`'s, as the peers' programs
    print theirs: {"median_ms", "min_ms", "peak_mb"}."""
    env = dict(os.environ, **env_extra)
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if "results" in result:
        (run,) = result["results"]
        return {"median_ms": run["median_s"] * 1e3, "min_ms": run["min_s"] * 1e3,
                "gflops": run["gflops"], "group": run["group"],
                "peak_mb": result["peak_rss_mb"]}
    return result


def run_rounds(settings, processes):
    """Each setting's run (command, extra environment) in `processes` separate processes,
    taken in rounds (every setting once a round, the order rotated from round to round): for
    each setting, its runs in round order."""
    runs = [[] for _ in settings]
    for round_ in range(processes):
        shift = round_ % len(settings)
        for i in list(range(shift, len(settings))) + list(range(shift)):
            runs[i].append(run_json(*settings[i]))
    return runs


def median_run(runs, key="median_ms"):
    """The run whose `key` is the median of the runs'. This VM's step times shift by up to
    40% from one process to the next (one of its two vCPUs is often slower) and for tens of
    seconds at a time (the small steps took 0.55-0.61 ms for a minute, 0.33-0.35 before and
    after): one process per setting would favour whoever gets more settings, and all of one
    implementation's processes in a row would hand a slow minute to it alone (run_rounds)."""
    return sorted(runs, key=lambda run: run[key])[len(runs) // 2]


def recur_command(recur, cell, shape, repeats, warmup, stream):
    """`recur bench` timing one training step (or one streaming step) of the workload: the
    program's own command, the one README tells users to run."""
    T, B, I, H, O = shape
    return [recur, "bench", "--workload", "stream" if stream else "train", "--cell", cell,
            "--steps", str(T), "--batch", str(B), "--input-size", str(I), "--hidden", str(H),
            "--output-size", str(O), "--repeats", str(repeats), "--warmup", str(warmup),
            "--json"]


def shape_flags(cell, shape, repeats, warmup, stream):
    """The peers' programs' flags (compare_torch.py, compare_onednn)."""
    T, B, I, H, O = shape
    return ["--cell", cell, "--T", str(T), "--B", str(B), "--I", str(I), "--H", str(H),
            "--O", str(O), "--repeats", str(repeats), "--warmup", str(warmup),
            "--stream", "1" if stream else "0"]


def best(runs):
    """The tuple (median ms, setting, ...) of the fastest setting."""
    return min(runs, key=lambda r: r[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"),
                        help="recur's build folder")
    parser.add_argument("--workloads", default="small,medium,charrnn,large,stream")
    parser.add_argument("--cells", default="elman,lstm,gru")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--processes", type=int, default=3,
                        help="processes per implementation and setting; the median is kept")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    recur_bin = os.path.join(args.build, "cli", "recur")
    onednn_bin = os.path.join(args.build, "bench", "compare_onednn")
    have_onednn = os.path.exists(onednn_bin)
    bound_bin = os.path.join(args.build, "bench", "gemm_bound")
    have_bound = os.path.exists(bound_bin)
    if have_bound:
        # The bound in each row's rounds: a slow spell of the host slows dnnl_sgemm as it
        # slows the steps, and a bound taken once at the start had put the same large LSTM
        # at 77% of it in one run and 86% in the next (session 23, bounds of 395 and 354).
        quick = ["--quick"] if args.workloads == "tiny" else []
        bound_setting = ([bound_bin] + quick, {"OMP_NUM_THREADS": str(os.cpu_count() or 1)})
        print(f"GEMM bound (bound GF/s): dnnl_sgemm's best rate on {os.cpu_count()} threads "
              f"(bench/gemm_bound), measured in each row's rounds")
    else:
        print(f"GEMM bound (bound GF/s): {ISSUE_GEMM_BOUND_GFLOPS:.0f} GFLOP/s, issue 5's "
              f"figure (no bench/gemm_bound)")

    header = (f"{'workload':9} {'cell':5} {'recur ms':>9} {'GFLOP/s':>7} {'torch ms':>9} "
              f"{'(threads)':>10} {'oneDNN ms':>9} {'(thr)':>5} {'bound GF/s':>10} "
              f"{'vs torch':>8} {'vs oneDNN':>9} {'of bound':>8} {'MB recur/torch':>14}")
    print(header)
    print("-" * len(header))
    for name in args.workloads.split(","):
        shape = WORKLOADS[name]
        stream = name in STREAMING
        warmup, repeats = SHORT.get(name, (0 if name == "tiny" else 1, args.repeats))
        for cell in args.cells.split(","):
            flags = shape_flags(cell, shape, repeats, warmup, stream)
            gflop = step_gflop(cell, *shape, stream=stream)
            n = 1 if name == "tiny" else args.processes
            torch_threads = ((1, 2), (2, 2), (1, 1))
            onednn_threads = (1, 2) if have_onednn and not stream else ()
            settings = [(recur_command(recur_bin, cell, shape, repeats, warmup, stream), {})]
            settings += [([args.python, os.path.join(HERE, "compare_torch.py"), *flags,
                           "--threads", str(intra)], {"OPENBLAS_NUM_THREADS": str(blas)})
                         for intra, blas in torch_threads]
            settings += [([onednn_bin] + flags, {"OMP_NUM_THREADS": str(t)})
                         for t in onednn_threads]
            if have_bound:
                settings.append(bound_setting)
            all_runs = run_rounds(settings, n)
            bound_gflops = ISSUE_GEMM_BOUND_GFLOPS
            if have_bound:
                bound_gflops = median_run(all_runs.pop(), "gflops")["gflops"]
            runs = [median_run(r) for r in all_runs]
            recur_run = runs[0]
            recur_ms = recur_run["median_ms"]
            torch_runs = [(r["median_ms"], f"{intra}/{blas}", r["peak_mb"])
                          for r, (intra, blas) in zip(runs[1:], torch_threads)]
            torch_ms, torch_setting, torch_mb = best(torch_runs)
            onednn_ms, onednn_setting = float("nan"), "-"
            if onednn_threads:
                onednn_runs = [(r["median_ms"], str(t))
                               for r, t in zip(runs[1 + len(torch_threads):], onednn_threads)]
                onednn_ms, onednn_setting = best(onednn_runs)[:2]
            bound_ms = gflop / bound_gflops * 1e3
            print(f"{name:9} {cell:5} {recur_ms:9.3f} {gflop / recur_ms * 1e3:7.1f} "
                  f"{torch_ms:9.3f} {torch_setting:>10} {onednn_ms:9.3f} {onednn_setting:>5} "
                  f"{bound_gflops:10.0f} {torch_ms / recur_ms:7.2f}x {onednn_ms / recur_ms:8.2f}x "
                  f"{bound_ms / recur_ms:7.0%} {recur_run['peak_mb']:7.0f}/{torch_mb:<6.0f}",
                  flush=True)
    print("\nthreads: torch intra-op/OpenBLAS, oneDNN OMP_NUM_THREADS; recur: its default, the "
          "machine's cores. "
          "Ratios above 1 mean recur is faster.")


if __name__ == "__main__":
    main()
