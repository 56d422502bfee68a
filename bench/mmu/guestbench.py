"""Timing harness for guest-loop benchmarks: bench/mmu/run_mmu.py and bench/modes/run_modes.py.

A benchmark guest (guests/bench_mmu, guests/bench_modes) runs one loop per process, named with
its iteration count on the multiboot command line ("LOOP n=N"), prints
    RESULT LOOP n=N ...
checks what the loop computed, and ends through finish(): "PASS: GUEST" and status 33. A run is
timed by wall clock around the whole process; the cost of one event is

    (median time of LOOP n=N  -  median time of `empty` n=N) / N

in the same configuration, so boot, exit and the loop's own instructions cancel out.

Runs are interleaved: every round runs every (configuration, loop) once; the configurations of
one loop run back to back, the first one rotating from round to round, so that this noisy
2-core machine's load falls on all of them alike.

`btvm --stats` changes what is translated (it counts inline soft-TLB hits), so counters come from
one separate, untimed --stats run of each btvm configuration and loop.
"""
import datetime
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUEST_PASS_STATUS = 33  # finish(): debug-exit 0x10 -> (0x10 << 1) | 1


class BenchError(Exception):
    pass


def rel(path):
    """Path relative to the repository root when inside it (commands read better)."""
    p = os.path.relpath(path, ROOT)
    return path if p.startswith("..") else p


def qemu_cmd(qemu, elf, append, mem_mib):
    return [qemu, "-kernel", elf, "-append", append, "-display", "none", "-no-reboot",
            "-serial", "stdio", "-monitor", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-m", str(mem_mib)]


def _run(cmd, timeout, label):
    try:
        return subprocess.run(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        raise BenchError(f"{label}: timed out after {timeout} s: {shlex.join(cmd)}\n"
                         f"--- output ---\n{out[-4000:]}")
    except OSError as e:
        raise BenchError(f"{label}: cannot run {shlex.join(cmd)}: {e}")


def check_output(label, cmd, p, guest, loop, n):
    """Raises BenchError unless the run passed and printed the RESULT line of `loop n=N`.
    Returns the RESULT line."""
    out = p.stdout.decode(errors="replace").replace("\r", "")
    err = p.stderr.decode(errors="replace")

    def fail(why):
        return BenchError(f"{label}: {why}\n  command: {shlex.join(cmd)}\n"
                          f"  exit status: {p.returncode} (want {GUEST_PASS_STATUS})\n"
                          f"--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-2000:]}")

    m = re.search(rf"^RESULT {re.escape(loop)} n={n}\b.*$", out, re.M)
    if not m:
        raise fail(f"no 'RESULT {loop} n={n}' line")
    if not re.search(rf"^PASS: {re.escape(guest)}\b", out, re.M):
        raise fail("the guest's self-check failed (a correctness bug, not a speed)")
    if p.returncode != GUEST_PASS_STATUS:
        raise fail("unexpected exit status")
    return m.group(0)


def run_timed(label, cmd, guest, loop, n, timeout):
    """One timed run; returns (seconds, RESULT line)."""
    start = time.perf_counter()
    p = _run(cmd, timeout, label)
    secs = time.perf_counter() - start
    return secs, check_output(label, cmd, p, guest, loop, n)


STATS_LINE = re.compile(r"^\s+(\S.*?)\s+(-?\d[\d.]*)(.*)$")  # label, first number, rest
VECTOR_LINE = re.compile(r"^\s+vector\s+(\d+)\b.*\s(\d+)\s*$")  # vector N NAME count


def run_stats(label, cmd, guest, loop, n, timeout):
    """One untimed run with --stats (cmd must contain it); returns {label: [numbers...]}, e.g.
    'page walks': [1004.0], 'contexts created / reused / evicted': [2, 0, 0]. Exceptions
    delivered appear as 'vector N': [count]."""
    p = _run(cmd, timeout, label)
    check_output(label, cmd, p, guest, loop, n)
    stats = {}
    for line in p.stderr.decode(errors="replace").splitlines():
        v = VECTOR_LINE.match(line)
        if v:
            stats[f"vector {int(v.group(1))}"] = [float(v.group(2))]
            continue
        m = STATS_LINE.match(line)
        if m:
            rest = m.group(2) + m.group(3)
            stats[" ".join(m.group(1).split())] = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", rest)]
    return stats


def stat(stats, key, index=0):
    v = stats.get(key)
    return v[index] if v and len(v) > index else 0.0


def per_event(count, count_empty, n):
    """(count - count_empty) / n as text, without '-0.00'."""
    v = (count - count_empty) / n
    return f"{0.0 if abs(v) < 0.005 else v:.2f}"


def exits(stats):
    """Dispatcher exits of every kind."""
    return sum(stat(stats, k) for k in ("direct branch (not chained)",
                                        "indirect miss / helper / budget", "exception",
                                        "write to translated code"))


def measure(groups, runs, timeout, guest):
    """groups: list of (loop, n, {config: cmd}); the configurations of one group run back to
    back, first one rotating from round to round (as in bench/run_compute.py).
    Returns ({(config, loop, n): [seconds...]}, {(config, loop, n): {RESULT lines seen}})."""
    times = {(c, l, n): [] for l, n, cmds in groups for c in cmds}
    results = {k: set() for k in times}
    for r in range(runs):
        for gi, (l, n, cmds) in enumerate(groups):
            configs = list(cmds)
            rot = (r + gi) % len(configs)
            for c in configs[rot:] + configs[:rot]:
                secs, line = run_timed(f"{c} {l} n={n}", cmds[c], guest, l, n, timeout)
                times[(c, l, n)].append(secs)
                results[(c, l, n)].add(line)
                print(f"run {r + 1}/{runs} {l:8} n={n:<9} {c:14} {secs * 1000:8.1f} ms",
                      file=sys.stderr, flush=True)
    return times, results


def median(xs):
    return statistics.median(xs)


def ns_per_event(times, config, loop, n):
    """(median(loop n) - median(empty n)) / n, in ns."""
    return (median(times[(config, loop, n)]) - median(times[(config, "empty", n)])) * 1e9 / n


def machine_info(qemu=None):
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

    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "unknown"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": f"{platform.system()} {platform.release()}",
        "qemu": first_line([qemu, "--version"]) if qemu else None,
        "load": load,
    }


def btvm_info(btvm):
    """Which btvm: its path, build time and the source tree it was built from (git describe of
    the working tree: '-dirty' means uncommitted changes, which may not be those it was built
    with)."""
    try:
        built = datetime.datetime.fromtimestamp(os.path.getmtime(btvm)).astimezone()
        built = built.strftime("%Y-%m-%d %H:%M:%S %Z")
    except OSError:
        built = "unknown"
    try:
        desc = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=30).stdout.decode().strip()
    except (OSError, subprocess.TimeoutExpired):
        desc = ""
    return f"`{rel(btvm)}` built {built}; source tree {desc or 'unknown'}"


def parse_n(spec, defaults):
    """'loop=N,loop=N' over a copy of defaults."""
    out = dict(defaults)
    for part in filter(None, spec.split(",")):
        loop, _, n = part.partition("=")
        if loop not in out or not n.isdigit() or int(n) < 1:
            raise ValueError(f"bad --n item '{part}' (loops: {', '.join(out)})")
        out[loop] = int(n)
    return out


def check_files(paths):
    for what, path in paths.items():
        if not os.path.isfile(path) or (what == "btvm" and not os.access(path, os.X_OK)):
            sys.exit(f"{what} not found: {path}\n  build it first: meson setup build && "
                     "ninja -C build" + ("\n  (or pass --btvm PATH)" if what == "btvm" else ""))


def write_report(out, report):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(report)


def runs_table(times, configs, loops_n):
    """Every run, in run order: one row per (loop, n), one column per configuration."""
    lines = ["| loop | n | " + " | ".join(configs) + " |",
             "|---|---:|" + "---|" * len(configs)]
    for loop, n in loops_n:
        cells = [" ".join(f"{t * 1000:.0f}" for t in times.get((c, loop, n), [])) or "-"
                 for c in configs]
        lines.append(f"| {loop} | {n} | " + " | ".join(cells) + " |")
    return lines
