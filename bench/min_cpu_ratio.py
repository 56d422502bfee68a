#!/usr/bin/env python3
"""btvm / native on the compute kernels from the *minimum* CPU time (user + system) of
interleaved runs: on this shared 2-core machine the native medians alone move by up to 2x within
an hour, and the minimum is the run the neighbours disturbed least. btvm's boot (the `empty`
kernel's minimum) is subtracted; native is the whole process. The floating-point kernels also
run as compute-native-x87 (the same C on the host's x87, as the guest computes them; natively
SSE2 does them in half the time), whose ratio shows btvm's own share. bench/run_compute.py stays
the harness of record (medians, QEMU, JSON lines, plots); this is the ratio its notes quote.

usage: bench/min_cpu_ratio.py [--runs N] [--build DIR] [--btvm BTVM] [--kernels K,K...] [-- BTVM_ARGS]
e.g.   bench/min_cpu_ratio.py --runs 7 --build build-release --btvm build-release/btvm
"""
import argparse
import math
import sys

from ab_compute import cpu_ms

KERNELS = "sieve,crc32,matmul,quicksort,sha256,calls,recursion,interp,divide,mandel,fpconv"
FP_KERNELS = {"mandel", "fpconv"}


def main():
    argv, extra = sys.argv[1:], []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--build", default="build-release", help="meson build dir with guests/compute.elf and bench/compute-native")
    ap.add_argument("--btvm", default="build-release/btvm")
    ap.add_argument("--kernels", default=KERNELS)
    a = ap.parse_args(argv)
    elf, native = f"{a.build}/guests/compute.elf", f"{a.build}/bench/compute-native"
    native_x87 = f"{a.build}/bench/compute-native-x87"
    kernels = a.kernels.split(",")
    best = {}
    for k in ["empty"] + kernels:
        for _ in range(a.runs):
            runs = [("btvm", [a.btvm, "-m", "64M", "-append", k] + extra + [elf], 33)]
            if k != "empty":
                runs.append(("native", [native, k], 0))
            if k in FP_KERNELS:
                runs.append(("native-x87", [native_x87, k], 0))
            for name, cmd, want in runs:
                ms, status = cpu_ms(cmd)
                if status != want:
                    sys.exit(f"{name} {k}: exit status {status}")
                best[(k, name)] = min(best.get((k, name), ms), ms)
    boot = best[("empty", "btvm")]
    print(f"btvm boot (empty kernel) min {boot:.0f} ms; {a.runs} interleaved runs per kernel and side")
    print("| kernel | native ms (min) | btvm ms (min, net of boot) | btvm/native | native x87 ms (min) | btvm/native-x87 |")
    print("|---|---:|---:|---:|---:|---:|")
    logs = []
    for k in kernels:
        n, b = best[(k, "native")], best[(k, "btvm")] - boot
        logs.append(math.log(b / n))
        x87 = best.get((k, "native-x87"))
        tail = f"{x87:.0f} | {b / x87:.2f}" if x87 else " | "
        print(f"| {k} | {n:.0f} | {b:.0f} | {b / n:.2f} | {tail} |")
    print(f"| geomean | | | {math.exp(sum(logs) / len(logs)):.2f} | | |")

if __name__ == "__main__":
    main()
