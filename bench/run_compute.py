#!/usr/bin/env python3
"""Compute benchmark: the kernels of bench/compute/ natively, under btvm and under QEMU TCG.

For each kernel, N runs (default 5) of three systems, interleaved so that the noise of this
shared machine hits all three alike:

  native  build/bench/compute-native KERNEL                  (the same C, built for x86-64)
  btvm    build/btvm -m 64M -append KERNEL build/guests/compute.elf  (--mmu as --mmu says: soft)
  btvm-host  the same with --mmu host (the host MMU as the shadow page table)
  qemu    qemu-system-i386 -kernel build/guests/compute.elf -append KERNEL ... -m 64

Each run is timed by wall clock around the whole process. The `empty` kernel (boot, print,
exit) is run the same way; its median is subtracted from the emulators' medians so that their
figures are the kernel alone. Every run must print the kernel's recorded checksum with PASS and
end with the expected status (0 native, 33 guest): anything else is a correctness bug, and the
benchmark stops with the command, its status and its output.

Writes bench/results/compute.md (or --out) and prints the same table; beside it, every run as
one JSON line (compute.jsonl) and the tables as SVG bar charts (compute-ms.svg, compute-ratio.svg).
`--shard I/N` runs only every N-th kernel starting at the I-th (1-based), with `empty` in every
shard, and writes compute-shard-I-of-N.{md,jsonl,svg}; `--from-jsonl A.jsonl B.jsonl ...` draws
one report from the runs of several shards (or machines) without running anything.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time

import svg_chart

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNELS = ["sieve", "crc32", "matmul", "quicksort", "sha256", "calls", "recursion", "interp", "divide",
           "mandel", "fpconv"]
SYSTEMS = ["native", "btvm", "btvm-host", "qemu"]
GUEST_PASS_STATUS = 33  # finish(): debug-exit 0x10 -> (0x10 << 1) | 1
CHECKSUM_RE = re.compile(r"^(\w+) checksum=0x([0-9a-f]{8}) (PASS|FAIL|UNCHECKED)\s*$", re.M)


class BenchError(Exception):
    pass


def rel(path):
    """Path relative to the repository root when inside it (commands read better)."""
    p = os.path.relpath(path, ROOT)
    return path if p.startswith("..") else p


def commands(args, kernel):
    elf = rel(os.path.join(args.build, "guests", "compute.elf"))
    return {
        "native": [rel(os.path.join(args.build, "bench", "compute-native")), kernel],
        "btvm": [rel(args.btvm), "--mmu", args.mmu, "-m", "64M", "-append", kernel, elf],
        "btvm-host": [rel(args.btvm), "--mmu", "host", "-m", "64M", "-append", kernel, elf],
        "qemu": [args.qemu, "-kernel", elf, "-append", kernel, "-display", "none", "-no-reboot",
                 "-serial", "stdio", "-monitor", "none",
                 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-m", "64"],
    }


def run_once(system, cmd, kernel, timeout):
    """Runs one command; returns (seconds, checksum). Raises BenchError on any misbehaviour."""
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        raise BenchError(f"{system}: timed out after {timeout} s: {shlex.join(cmd)}\n"
                         f"--- output ---\n{out[-4000:]}")
    except OSError as e:
        raise BenchError(f"{system}: cannot run {shlex.join(cmd)}: {e}")
    secs = time.perf_counter() - start
    out = p.stdout.decode(errors="replace").replace("\r", "")
    want_status = 0 if system == "native" else GUEST_PASS_STATUS
    lines = [m for m in CHECKSUM_RE.finditer(out) if m.group(1) == kernel]

    def fail(why):
        return BenchError(f"{system}: {why}\n  command: {shlex.join(cmd)}\n"
                          f"  exit status: {p.returncode} (want {want_status})\n"
                          f"--- output ---\n{out[-4000:]}")

    if not lines:
        raise fail(f"no checksum line for kernel '{kernel}'")
    if lines[0].group(3) != "PASS":
        raise fail(f"WRONG CHECKSUM for '{kernel}' (a correctness bug, not a speed): "
                   f"got 0x{lines[0].group(2)}")
    if p.returncode != want_status:
        raise fail("unexpected exit status")
    return secs, lines[0].group(2)


def median_ms(xs):
    return statistics.median(xs) * 1000.0


def machine_info(args):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def first_line(cmd):
        try:
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, timeout=30).stdout
            return out.decode(errors="replace").splitlines()[0].strip()
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": f"{platform.system()} {platform.release()}",
        "qemu": first_line([args.qemu, "--version"]),
        "gcc": first_line(["gcc", "--version"]),
    }


def fmt_ms(x):
    return "-" if x is None else f"{x:.0f}"


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}"


def build_report(args, systems, kernels, times, sums, info, started):
    """times[system][kernel] = [seconds...]; 'empty' included."""
    boot = {s: median_ms(times[s]["empty"]) for s in systems}

    def net(s, k):
        if s not in systems:
            return None
        m = median_ms(times[s][k])
        return m if s == "native" else m - boot[s]

    rows, r_native, r_qemu, r_host = [], [], [], []
    for k in kernels:
        n, b, h, q = net("native", k), net("btvm", k), net("btvm-host", k), net("qemu", k)
        bn = b / n if b is not None and n else None
        bq = b / q if b is not None and q else None
        hb = h / b if h is not None and b else None
        if bn is not None:
            r_native.append(bn)
        if bq is not None:
            r_qemu.append(bq)
        if hb is not None:
            r_host.append(hb)
        rows.append(f"| {k} | {fmt_ms(n)} | {fmt_ms(b)} | {fmt_ms(h)} | {fmt_ms(q)} | {fmt_ratio(bn)} | "
                    f"{fmt_ratio(bq)} | {fmt_ratio(hb)} |")

    def geomean(xs):
        return statistics.geometric_mean(xs) if xs and all(x > 0 for x in xs) else None

    table = [f"| kernel | native ms | btvm ({args.mmu}) ms | btvm --mmu host ms | qemu ms | btvm/native | "
             "btvm/qemu | host/btvm |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"] + rows
    table.append(f"| geomean | | | | | {fmt_ratio(geomean(r_native))} | "
                 f"{fmt_ratio(geomean(r_qemu))} | {fmt_ratio(geomean(r_host))} |")

    lines = ["# Compute benchmark", ""]
    lines.append(f"- date: {started.strftime('%Y-%m-%d %H:%M:%S %Z').strip()}")
    lines.append(f"- machine: {info['nproc']} cores, {info['cpu']}, {info['kernel']}")
    lines.append(f"- tools: {info['qemu']}; {info['gcc']}")
    lines.append(f"- command: `{args.command_line}`")
    lines.append(f"- {args.runs} runs of each kernel on each system, interleaved; medians of wall "
                 "time per process.")
    lines.append("- btvm and qemu figures are net of boot: the median of the `empty` kernel "
                 "(boot, print, exit) is subtracted. native is the whole process.")
    lines.append("- aim: btvm/native <= 3 and btvm/qemu < 1.")
    lines.append("")
    lines += table
    lines.append("")
    lines.append("Boot and exit (`empty` kernel, raw median ms): " + ", ".join(
        f"{s} {boot[s]:.0f}" for s in systems))
    lines.append("")
    lines.append("Checksums (identical on every system and run): " + ", ".join(
        f"{k} 0x{sums[k]}" for k in kernels))
    lines.append("")
    lines.append("All runs, wall ms (in run order):")
    lines.append("")
    lines.append("| kernel | " + " | ".join(systems) + " |")
    lines.append("|---|" + "---|" * len(systems))
    for k in kernels + ["empty"]:
        cells = [" ".join(f"{t * 1000:.0f}" for t in times[s][k]) for s in systems]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n", "\n".join(table) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per kernel and system (default 5)")
    ap.add_argument("--kernels", default=",".join(KERNELS),
                    help="comma-separated kernels (default: %(default)s)")
    ap.add_argument("--btvm", default=os.path.join(ROOT, "build", "btvm"),
                    help="btvm executable (default build/btvm)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="meson build directory with guests/compute.elf and bench/compute-native")
    ap.add_argument("--qemu", default="qemu-system-i386", help="QEMU system emulator")
    ap.add_argument("--mmu", default="soft", choices=["soft", "host"],
                    help="btvm --mmu for the 'btvm' system (default soft; 'btvm-host' is always host)")
    ap.add_argument("--systems", default=",".join(SYSTEMS),
                    help="subset of native,btvm,qemu to measure (default: all three)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "compute.md"),
                    help="markdown report (default bench/results/compute.md)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    ap.add_argument("--shard", default="1/1", help="I/N: run only kernels I, I+N, ... (1-based)")
    ap.add_argument("--from-jsonl", nargs="+", metavar="JSONL",
                    help="draw the report from these JSON-lines files instead of running")
    args = ap.parse_args()
    args.command_line = shlex.join(["python3", rel(os.path.abspath(sys.argv[0]))] + sys.argv[1:])
    args.build = os.path.abspath(args.build)
    args.btvm = os.path.abspath(args.btvm)

    kernels = [k for k in args.kernels.split(",") if k]
    systems = [s for s in args.systems.split(",") if s]
    bad = [k for k in kernels if k not in KERNELS] + [s for s in systems if s not in SYSTEMS]
    if bad or not kernels or not systems or args.runs < 1:
        ap.error(f"bad --kernels/--systems/--runs: {', '.join(bad) or 'empty'}")
    m = re.fullmatch(r"(\d+)/(\d+)", args.shard)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        ap.error(f"bad --shard {args.shard}: want I/N with 1 <= I <= N")
    shard, nshards = int(m.group(1)), int(m.group(2))
    kernels = kernels[shard - 1::nshards]
    if nshards > 1 and args.out == ap.get_default("out"):
        args.out = os.path.join(os.path.dirname(args.out), f"compute-shard-{shard}-of-{nshards}.md")
    if args.from_jsonl:
        report_from_jsonl(args, systems, kernels)
        return
    if not kernels:
        sys.exit("run_compute: this shard has no kernels")

    need = {"guest image": os.path.join(args.build, "guests", "compute.elf")}
    if "native" in systems:
        need["native build"] = os.path.join(args.build, "bench", "compute-native")
    if "btvm" in systems or "btvm-host" in systems:
        need["btvm"] = args.btvm
    for what, path in need.items():
        if not (os.path.isfile(path) and (what == "guest image" or os.access(path, os.X_OK))):
            sys.exit(f"run_compute: {what} not found: {path}\n"
                     f"  build it first: meson setup build && ninja -C build"
                     + ("\n  (or pass --btvm PATH)" if what == "btvm" else ""))

    started = datetime.datetime.now().astimezone()
    info = machine_info(args)
    times = {s: {k: [] for k in kernels + ["empty"]} for s in systems}
    sums = {}
    order = kernels + ["empty"]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    jsonl = open(base_path(args.out) + ".jsonl", "w")
    try:
        for r in range(args.runs):
            for k in order:
                cmds = commands(args, k)
                # Rotate which system goes first, so none always runs right after another.
                rot = (r + order.index(k)) % len(systems)
                for s in systems[rot:] + systems[:rot]:
                    secs, csum = run_once(s, cmds[s], k, args.timeout)
                    if sums.setdefault(k, csum) != csum:  # PASS already means it matches
                        raise BenchError(f"{s}: checksum of {k} 0x{csum} differs from "
                                         f"0x{sums[k]} seen before")
                    times[s][k].append(secs)
                    jsonl.write(json.dumps({"date": started.isoformat(timespec="seconds"),
                                            "command": args.command_line, "info": info,
                                            "run": r + 1, "kernel": k, "system": s,
                                            "ms": round(secs * 1000, 3), "checksum": csum}) + "\n")
                    jsonl.flush()
                    print(f"run {r + 1}/{args.runs} {k:9} {s:9} {secs * 1000:8.0f} ms",
                          file=sys.stderr, flush=True)
    except BenchError as e:
        sys.exit(f"run_compute: FAILED\n{e}")
    jsonl.close()
    write_report(args, systems, kernels, times, sums, info, started)


def base_path(out):
    return out[:-3] if out.endswith(".md") else out


def write_report(args, systems, kernels, times, sums, info, started):
    report, table = build_report(args, systems, kernels, times, sums, info, started)
    with open(args.out, "w") as f:
        f.write(report)
    draw_charts(base_path(args.out), systems, kernels, times)
    print(table, end="")
    print(f"written: {rel(os.path.abspath(args.out))} (+ .jsonl, -ms.svg, -ratio.svg)")


def draw_charts(base, systems, kernels, times):
    """Net medians per kernel and system, and btvm's ratios, as SVG bar charts."""
    boot = {s: median_ms(times[s]["empty"]) for s in systems}
    net = {s: {k: median_ms(times[s][k]) - (0 if s == "native" else boot[s]) for k in kernels
               if times[s][k]} for s in systems}
    svg_chart.bar_chart(base + "-ms.svg", "Compute kernels: wall ms (emulators net of boot)",
                        kernels, systems, net, "ms")
    ratios = {}
    for other in ("native", "qemu"):
        if "btvm" in systems and other in systems:
            ratios[f"btvm/{other}"] = {k: net["btvm"][k] / net[other][k] for k in kernels
                                       if k in net["btvm"] and net[other].get(k)}
    if ratios:
        svg_chart.bar_chart(base + "-ratio.svg", "btvm relative to native and QEMU (lower is faster)",
                            kernels, list(ratios), ratios, "ratio", ref=1.0)


def report_from_jsonl(args, systems, kernels):
    """One report from the runs recorded in JSON lines (several shards or machines)."""
    times = {s: {k: [] for k in kernels + ["empty"]} for s in systems}
    sums, info, started = {}, None, None
    for path in args.from_jsonl:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if r["system"] in times and r["kernel"] in times[r["system"]]:
                    times[r["system"]][r["kernel"]].append(r["ms"] / 1000.0)
                    sums.setdefault(r["kernel"], r["checksum"])
                    info = info or r["info"]
                    started = started or datetime.datetime.fromisoformat(r["date"])
    kernels = [k for k in kernels if all(times[s][k] for s in systems)]
    if not kernels or not all(times[s]["empty"] for s in systems):
        sys.exit("run_compute: the JSON lines hold no complete kernel (with `empty`) for these systems")
    args.runs = max(len(times[s][k]) for s in systems for k in kernels)
    write_report(args, systems, kernels, times, sums, info, started)


if __name__ == "__main__":
    main()
