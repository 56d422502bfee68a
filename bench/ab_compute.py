#!/usr/bin/env python3
"""Before/after timing of btvm binaries on the compute kernels, interleaved, for a change's notes
(bench/run_compute.py is the harness for the results table). Medians of each process's CPU time
(user + system): steadier than wall time on a shared machine.

usage: bench/ab_compute.py RUNS KERNEL[,KERNEL...] COMPUTE_ELF NAME=BTVM [NAME=BTVM ...] [-- BTVM_ARGS]
e.g.   bench/ab_compute.py 11 calls,interp build-release/guests/compute.elf old=/tmp/btvm-old new=build-release/btvm
"""
import resource
import statistics
import subprocess
import sys


def cpu_ms(cmd):
    """Runs cmd (output discarded); returns its CPU time (user + system) in ms and its exit status."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000, p.returncode


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    runs, kernels, elf = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
    rest, extra = sys.argv[4:], []
    if "--" in rest:
        i = rest.index("--")
        rest, extra = rest[:i], rest[i + 1:]
    bins = [a.split("=", 1) for a in rest]
    res = {(k, n): [] for k in kernels for n, _ in bins}
    for r in range(runs):
        for k in kernels:
            for n, b in (bins if r % 2 == 0 else list(reversed(bins))):  # alternate the order
                ms, status = cpu_ms([b, "-m", "64M", "-append", k] + extra + [elf])
                if status != 33:
                    print(f"FAIL {n} {k}: exit status {status}", flush=True)
                res[(k, n)].append(ms)
    names = [n for n, _ in bins]
    print("| kernel | " + " | ".join(f"{n} ms" for n in names) + " | " +
          " | ".join(f"{n}/{names[0]}" for n in names[1:]) + " |")
    print("|---" * (2 * len(names)) + "|")
    for k in kernels:
        med = [statistics.median(res[(k, n)]) for n in names]
        print(f"| {k} | " + " | ".join(f"{m:.0f}" for m in med) + " | " +
              " | ".join(f"{m / med[0]:.2f}" for m in med[1:]) + " |")
    for k in kernels:
        print(k, {n: [round(x) for x in res[(k, n)]] for n in names})


if __name__ == "__main__":
    main()
