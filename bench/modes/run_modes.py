#!/usr/bin/env python3
"""Mode benchmark: what one sensitive or privileged instruction costs in each of btvm's
virtualization modes (--mode translate, patch, trap), and how much a whole guest slows down.

The guest build/guests/bench_modes.elf runs one loop per process (guests/bench_modes/):

  pushf   PUSHFD / POPFD pairs              sensitive, not privileged
  cli     CLI / STI pairs                   privileged (IOPL-sensitive): interrupt-flag-heavy
  int80   INT 0x80, the handler IRETs       a system call without the work: syscall-heavy
  sgdt    SGDT to memory                    sensitive, not privileged
  in      IN AL, DX from an unassigned port privileged (IOPL-sensitive)
  empty   the loop alone (dec ecx / jnz)

For each mode, N runs (default 5) of every loop, interleaved (the three modes of one loop back
to back, the first rotating), each timed by wall clock around the process. ns per event =
(median(loop n) - median(empty n)) / n in the same mode; an event is one iteration (one pair
for pushf and cli: INT + IRET for int80). Slowdowns are ratios of those per-event costs, and
of the whole-process medians (the "whole guest": boot, the loop and exit). Every run must pass
the guest's checks (the INT 0x80 count); the guest also reports whether the instruction gave
what a CPU gives the kernel at CPL 0, which trap mode is expected not to. One more untimed run
of each with --stats gives counters per event (traps, exits, how each instance was handled).

Writes bench/results/modes.md (or --out) and prints the two tables.
"""
import argparse
import datetime
import os
import re
import shlex
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "mmu"))
import guestbench as gb  # noqa: E402

GUEST = "bench_modes"
LOOPS = ["pushf", "cli", "int80", "sgdt", "in", "irq"]
DEFAULT_N = {"pushf": 2000000, "cli": 2000000, "int80": 1000000, "sgdt": 4000000,
             "in": 4000000, "irq": 200000}
MODES = ["translate", "patch", "trap"]
EVENTS = {
    "pushf": ("PUSHFD + POPFD", "sensitive"),
    "cli": ("CLI + STI", "privileged"),
    "int80": ("INT 0x80 + IRET (system call)", "sensitive"),
    "sgdt": ("SGDT m", "sensitive"),
    "in": ("IN AL, DX (unassigned port)", "privileged"),
    "irq": ("timer IRQ0 taken in STI; HLT; CLI, EOI, IRET", "privileged"),
}
HEAVY = {"int80": "syscall-heavy", "cli": "interrupt-flag-heavy", "irq": "interrupt-heavy"}


def command(args, mode, loop, n, stats=False):
    elf = gb.rel(os.path.join(args.build, "guests", "bench_modes.elf"))
    cmd = [gb.rel(args.btvm), "--mode", mode]
    if stats:
        cmd.append("--stats")
    return cmd + ["-append", f"{loop} n={n}", elf]


def plan(args, loops, modes):
    groups = [(l, args.n[l], {m: command(args, m, l, args.n[l]) for m in modes}) for l in loops]
    for n in sorted({args.n[l] for l in loops}):
        groups.append(("empty", n, {m: command(args, m, "empty", n) for m in modes}))
    return groups


HANDLING = [  # (column, --stats label)
    ("priv. translated", "privileged translated"),
    ("sens. translated", "sensitive translated"),
    ("priv. trapped", "privileged trapped"),
    ("sens. patched", "sensitive patched"),
    ("sens. missed", "sensitive missed"),
    ("traps taken", "traps taken"),
]


def semantics(lines):
    """'ok', 'WRONG (...)' or a mix, from the RESULT lines of one (mode, loop)."""
    seen = set()
    for line in lines:
        m = re.search(r"semantics=(\S+) (\(.*\))", line)
        seen.add(m.group(1) if m and m.group(1) == "ok" else (f"{m.group(1)} {m.group(2)}"
                                                                if m else "?"))
    return " / ".join(sorted(seen))


def fmt_ns(x):
    return "-" if x is None else (f"{x:.0f}" if abs(x) >= 10 else f"{x:.1f}")


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}"


def ratio(a, b):
    return a / b if a is not None and b is not None and b > 0 else None


def build_report(args, loops, modes, groups, times, results, stats, info, started):
    def ns(mode, loop):
        if (mode, loop, args.n[loop]) not in times:
            return None
        return gb.ns_per_event(times, mode, loop, args.n[loop])

    def whole_ms(mode, loop):
        key = (mode, loop, args.n[loop])
        return gb.median(times[key]) * 1000 if key in times else None

    t1 = ["| event | class | n | translate ns | patch ns | trap ns | patch/translate | "
          "trap/translate | semantics in trap mode |",
          "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for loop in loops:
        ev, cls = EVENTS[loop]
        tr, pa, tp = ns("translate", loop), ns("patch", loop), ns("trap", loop)
        sem = semantics(results.get(("trap", loop, args.n[loop]), [])) or "-"
        t1.append(f"| {ev} (`{loop}`) | {cls} | {args.n[loop]} | {fmt_ns(tr)} | {fmt_ns(pa)} | "
                  f"{fmt_ns(tp)} | {fmt_ratio(ratio(pa, tr))} | {fmt_ratio(ratio(tp, tr))} | "
                  f"{sem} |")

    t2 = ["| guest loop | n | translate ms | patch ms | trap ms | patch/translate | "
          "trap/translate |",
          "|---|---:|---:|---:|---:|---:|---:|"]
    for loop in sorted(loops, key=lambda l: (l not in HEAVY, loops.index(l))):
        name = f"{HEAVY[loop]} (`{loop}`)" if loop in HEAVY else f"`{loop}`"
        tr, pa, tp = whole_ms("translate", loop), whole_ms("patch", loop), whole_ms("trap", loop)
        t2.append(f"| {name} | {args.n[loop]} | {fmt_ns(tr)} | {fmt_ns(pa)} | {fmt_ns(tp)} | "
                  f"{fmt_ratio(ratio(pa, tr))} | {fmt_ratio(ratio(tp, tr))} |")

    lines = ["# Virtualization-mode benchmark", ""]
    lines.append(f"- date: {started.strftime('%Y-%m-%d %H:%M:%S %Z').strip()}")
    lines.append(f"- machine: {info['nproc']} cores, {info['cpu']}, {info['kernel']}; "
                 f"load average at start {info['load']}")
    lines.append(f"- command: `{args.command_line}`")
    lines.append(f"- btvm: {gb.btvm_info(args.btvm)}")
    lines.append("- guest: `build/guests/bench_modes.elf` (guests/bench_modes/): a ring-0 kernel, "
                 "both PICs masked, one loop per run; `btvm --mode MODE -append 'LOOP n=N'`.")
    lines.append(f"- {args.runs} runs of every loop in every mode, interleaved; medians of wall "
                 "time per process. On this shared machine absolute figures move by up to 2x "
                 "from one run of the script to the next with the load; compare within one "
                 "report.")
    lines.append("- ns per event = (median(loop n) - median(empty n)) / n in the same mode; "
                 "`empty` is the same loop with nothing in it, so boot, exit and the loop's own "
                 "instructions cancel out. An event is one iteration: a pair for pushf and cli, "
                 "INT + IRET for int80.")
    lines.append("- trap mode runs the sensitive-but-unprivileged instructions as a deprivileged "
                 "kernel would on real hardware: no trap when they do not fault, wrong results "
                 "(last column: what the guest saw after its loop). A sensitive instruction "
                 "that faults there (IRET to ring 0 from real CPL 3) is caught and emulated, as "
                 "a trap-and-emulate VMM would.")
    lines.append("")
    lines.append("## Cost per event (ns, loop cost subtracted)")
    lines.append("")
    lines += t1
    lines.append("")
    lines.append("## Whole-guest slowdown (median wall time of the whole run, ms)")
    lines.append("")
    lines += t2
    lines.append("")
    if stats:
        lines.append("## btvm counters per event")
        lines.append("")
        lines.append("From one untimed `--stats` run of each: (count(loop n) - count(empty n)) / n. "
                     "\"VMM ns per trap\" is btvm's own `time emulating traps` figure for the "
                     "whole run, shown where the loop traps. It times only the traps that leave "
                     "translated code for the dispatcher, while `traps taken` also counts "
                     "trap-mode instructions caught faulting inside a helper (the IRET of "
                     "int80), so it reads 0 there; `sens. missed` also counts those IRETs.")
        lines.append("")
        lines.append("| loop | mode | " + " | ".join(c for c, _ in HANDLING)
                     + " | dispatcher exits | exceptions delivered | VMM ns per trap |")
        lines.append("|---|---|" + "---:|" * (len(HANDLING) + 3))
        for loop in loops:
            n = args.n[loop]
            for m in modes:
                st, e = stats.get((m, loop, n)), stats.get((m, "empty", n))
                if not st or not e:
                    continue
                cells = [gb.per_event(gb.stat(st, k), gb.stat(e, k), n) for _, k in HANDLING]
                cells.append(gb.per_event(gb.exits(st), gb.exits(e), n))
                exc = sum(v[0] for k, v in st.items() if k.startswith("vector "))
                exc0 = sum(v[0] for k, v in e.items() if k.startswith("vector "))
                cells.append(gb.per_event(exc, exc0, n))
                per_trap = gb.stat(st, "time emulating traps", 1)
                traps = (gb.stat(st, "traps taken") - gb.stat(e, "traps taken")) / n
                cells.append(f"{per_trap:.0f}" if traps >= 0.5 else "-")
                lines.append(f"| {loop} | {m} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("What each run's guest reported (RESULT lines, per mode):")
    lines.append("")
    lines.append("| loop | " + " | ".join(modes) + " |")
    lines.append("|---|" + "---|" * len(modes))
    for loop in loops:
        lines.append(f"| {loop} | " + " | ".join(
            semantics(results.get((m, loop, args.n[loop]), [])) for m in modes) + " |")
    lines.append("")
    lines.append("Loop-only medians (`empty`, whole process, ms): " + "; ".join(
        f"{m} n={n}: {gb.median(times[(m, 'empty', n)]) * 1000:.1f}"
        for l, n, cmds in groups if l == "empty" for m in cmds))
    lines.append("")
    lines.append("All runs, wall ms (in run order):")
    lines.append("")
    lines += gb.runs_table(times, modes, [(l, n) for l, n, _ in groups])
    tables = "\n".join(t1) + "\n\n" + "\n".join(t2) + "\n"
    return "\n".join(lines) + "\n", tables


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per loop and mode (default 5)")
    ap.add_argument("--loops", default=",".join(LOOPS),
                    help="comma-separated loops (default: %(default)s)")
    ap.add_argument("--n", default="", help="iterations, e.g. pushf=2000000,int80=1000000 "
                    "(defaults: " + ",".join(f"{k}={v}" for k, v in DEFAULT_N.items()) + ")")
    ap.add_argument("--modes", default=",".join(MODES),
                    help="subset of translate,patch,trap (default: all three)")
    ap.add_argument("--btvm", default=os.path.join(gb.ROOT, "build", "btvm"),
                    help="btvm executable (default build/btvm)")
    ap.add_argument("--build", default=os.path.join(gb.ROOT, "build"),
                    help="meson build directory with guests/bench_modes.elf")
    ap.add_argument("--no-stats", action="store_true", help="skip the --stats counter runs")
    ap.add_argument("--out", default=os.path.join(gb.ROOT, "bench", "results", "modes.md"),
                    help="markdown report (default bench/results/modes.md)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    args = ap.parse_args()
    args.command_line = shlex.join(["python3", gb.rel(os.path.abspath(sys.argv[0]))]
                                   + sys.argv[1:])
    args.build = os.path.abspath(args.build)
    args.btvm = os.path.abspath(args.btvm)
    try:
        args.n = gb.parse_n(args.n, DEFAULT_N)
    except ValueError as e:
        ap.error(str(e))
    loops = [x for x in args.loops.split(",") if x]
    modes = [x for x in args.modes.split(",") if x]
    bad = [x for x in loops if x not in LOOPS] + [x for x in modes if x not in MODES]
    if bad or not loops or not modes or args.runs < 1:
        ap.error(f"bad --loops/--modes/--runs: {', '.join(bad) or 'empty'}")
    gb.check_files({"guest image": os.path.join(args.build, "guests", "bench_modes.elf"),
                    "btvm": args.btvm})

    started = datetime.datetime.now().astimezone()
    info = gb.machine_info()
    groups = plan(args, loops, modes)
    try:
        times, results = gb.measure(groups, args.runs, args.timeout, GUEST)
        stats = {}
        if not args.no_stats:
            for l, n, cmds in groups:
                for m in cmds:
                    stats[(m, l, n)] = gb.run_stats(f"{m} {l} n={n} --stats",
                                                    command(args, m, l, n, stats=True),
                                                    GUEST, l, n, args.timeout)
                    print(f"stats {l:8} n={n:<9} {m}", file=sys.stderr, flush=True)
    except gb.BenchError as e:
        sys.exit(f"run_modes: FAILED\n{e}")

    report, tables = build_report(args, loops, modes, groups, times, results, stats, info,
                                  started)
    gb.write_report(args.out, report)
    print(tables, end="")
    print(f"written: {gb.rel(os.path.abspath(args.out))}")


if __name__ == "__main__":
    main()
