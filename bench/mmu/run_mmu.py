#!/usr/bin/env python3
"""MMU benchmark: what one MMU event costs under btvm (and under QEMU TCG for reference).

The guest build/guests/bench_mmu.elf runs one loop per process (guests/bench_mmu/bench_mmu.c):

  hidden   a load from each of P pages in turn (P = 1024): every load misses btvm's 256-entry
           soft TLB and is answered from the shadow table of the guest's page tables
  pf       a load from a not-present page: #PF, the handler steps over it, IRET
  pfmap    demand paging: #PF, the handler maps the page from CR2, the load runs again; the
           loop then unmaps it (PTE = 0, INVLPG)
  cr3      MOV to CR3 alternating between two address spaces, then one load from each of P
           pages (P = 4) in the new space
  ptw      rewrite a live PTE with its own value, then load through it
  ptwflip  point a live PTE at the other of two frames, INVLPG, then load through it
  empty    the loops' own cost: one load per iteration from one page (a soft-TLB hit)

Systems: btvm (default shadow cache; --mmu as --mmu says, soft by default), btvm --mmu host
(the host MMU as the shadow page table), btvm --shadow-cache 0 (cr3 only: every CR3 switch
rebuilds the shadow table), and qemu-system-i386. For each, N runs (default 5) of every loop,
interleaved, each timed by wall clock around the process; ns per event =
(median(loop n) - median(empty n)) / n, with `empty` run at the same n on the same system.
Every run must pass the guest's own check of what it loaded (a wrong translation stops the
benchmark). One more untimed run of each btvm loop with --stats gives counters per event.

Writes bench/results/mmu.md (or --out) and prints the main table.
"""
import argparse
import datetime
import os
import shlex
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestbench as gb  # noqa: E402

GUEST = "bench_mmu"
LOOPS = ["hidden", "pf", "pfmap", "cr3", "ptw", "ptwflip"]
# Iterations per run: about 0.2-1 s per run on the slower system.
DEFAULT_N = {"hidden": 4000000, "pf": 1000000, "pfmap": 300000, "cr3": 300000,
             "ptw": 4000000, "ptwflip": 300000}
SYSTEMS = ["btvm", "btvm-host", "btvm-nocache", "qemu"]
NOCACHE_LOOPS = {"cr3"}  # where --shadow-cache 0 differs from the default
MIN_RATIO_NS = 5         # btvm/qemu only where qemu's figure is above the noise
MEM_MIB = 32             # what guests/run-in-qemu.sh gives; bench_mmu needs 28

EVENTS = {
    "hidden": "hidden fault: soft-TLB miss answered from the guest's tables (shadow hit)",
    "pf": "true #PF round trip (handler skips the load, IRET)",
    "pfmap": "demand-paging #PF: handler maps the page, load re-runs; unmap + INVLPG",
    "cr3": "CR3 switch to the other address space + loads from its {pages} pages",
    "ptw": "page-table write: live PTE rewritten with its own value + a load through it",
    "ptwflip": "page-table write: PTE flipped to the other frame + INVLPG + a load",
}


def append(args, loop, n):
    extra = {"hidden": f" pages={args.hidden_pages}", "cr3": f" pages={args.cr3_pages}"}
    return f"{loop} n={n}" + extra.get(loop, "")


def command(args, system, loop, n, stats=False):
    elf = gb.rel(os.path.join(args.build, "guests", "bench_mmu.elf"))
    a = append(args, loop, n)
    if system == "qemu":
        return gb.qemu_cmd(args.qemu, elf, a, MEM_MIB)
    cmd = [gb.rel(args.btvm), "--mmu", "host" if system == "btvm-host" else args.mmu]
    if system == "btvm-nocache":
        cmd += ["--shadow-cache", "0"]
    if stats:
        cmd.append("--stats")
    return cmd + ["-m", f"{MEM_MIB}M", "-append", a, elf]


def systems_for(loop, systems):
    return [s for s in systems if s != "btvm-nocache" or loop in NOCACHE_LOOPS]


def plan(args, loops, systems):
    """Groups (loop, n, {system: cmd}), with `empty` at every n that some system needs."""
    groups, empty_need = [], {}
    for loop in loops:
        n = args.n[loop]
        sys_here = systems_for(loop, systems)
        if not sys_here:
            continue
        groups.append((loop, n, {s: command(args, s, loop, n) for s in sys_here}))
        empty_need.setdefault(n, [])
        empty_need[n] += [s for s in sys_here if s not in empty_need[n]]
    for n, sys_here in sorted(empty_need.items()):
        ordered = [s for s in systems if s in sys_here]
        groups.append(("empty", n, {s: command(args, s, "empty", n) for s in ordered}))
    return groups


COUNTERS = [  # (column, --stats label, index into its numbers)
    ("hidden faults", "hidden faults (VMM resolved)", 0),
    ("true faults", "true faults (guest #PF)", 0),
    ("page walks", "page walks", 0),
    ("shadow hits", "answered from shadow tables", 0),
    ("contexts created", "contexts created / reused / evicted", 0),
    ("contexts reused", "contexts created / reused / evicted", 1),
    ("PT writes trapped", "page-table writes trapped", 0),
    ("TLB flushes", "flushes", 0),
]


def collect_stats(args, groups):
    """{(system, loop, n): stats} for every btvm item of the plan."""
    out = {}
    for loop, n, cmds in groups:
        for s in cmds:
            if s.startswith("btvm"):
                cmd = command(args, s, loop, n, stats=True)
                out[(s, loop, n)] = gb.run_stats(f"{s} {loop} n={n} --stats", cmd, GUEST, loop,
                                                 n, args.timeout)
                print(f"stats {loop:8} n={n:<9} {s}", file=sys.stderr, flush=True)
    return out


def fmt_ns(x):
    return "-" if x is None else (f"{x:.0f}" if abs(x) >= 10 else f"{x:.1f}")


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}"


def build_report(args, loops, systems, groups, times, stats, info, started):
    def ns(system, loop):
        key = (system, loop, args.n[loop])
        return gb.ns_per_event(times, system, loop, args.n[loop]) if key in times else None

    head = [f"| event | loop | n | btvm ({args.mmu}) ns | btvm --mmu host ns | btvm, shadow cache 0, ns | "
            "qemu ns | btvm/qemu | host/btvm |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows = []
    for loop in loops:
        b, h, bn, q = ns("btvm", loop), ns("btvm-host", loop), ns("btvm-nocache", loop), ns("qemu", loop)
        ev = EVENTS[loop].format(pages=args.cr3_pages)
        label = append(args, loop, args.n[loop]).replace(f" n={args.n[loop]}", "")
        ratio = b / q if b is not None and q is not None and q >= MIN_RATIO_NS else None
        hb = h / b if h is not None and b is not None and b >= MIN_RATIO_NS else None
        rows.append(f"| {ev} | `{label}` | {args.n[loop]} | {fmt_ns(b)} | {fmt_ns(h)} | {fmt_ns(bn)} | "
                    f"{fmt_ns(q)} | {fmt_ratio(ratio)} | {fmt_ratio(hb)} |")
    table = head + rows

    lines = ["# MMU benchmark", ""]
    lines.append(f"- date: {started.strftime('%Y-%m-%d %H:%M:%S %Z').strip()}")
    lines.append(f"- machine: {info['nproc']} cores, {info['cpu']}, {info['kernel']}; "
                 f"load average at start {info['load']}")
    if info["qemu"]:
        lines.append(f"- tools: {info['qemu']}")
    lines.append(f"- btvm: {gb.btvm_info(args.btvm)}")
    lines.append(f"- command: `{args.command_line}`")
    lines.append(f"- guest: `build/guests/bench_mmu.elf` (guests/bench_mmu/), {MEM_MIB} MiB of "
                 "RAM on every system; btvm in its default --mode translate.")
    lines.append(f"- {args.runs} runs of every loop on every system, interleaved; medians of "
                 "wall time per process. ns per event = (median(loop n) - median(empty n)) / n "
                 "on the same system; `empty` is the same load loop over one page (always a "
                 "soft-TLB hit), so boot, exit and the loop's own instructions cancel out. On "
                 "this shared machine absolute figures move by up to 2x from one run of the "
                 "script to the next with the load; compare within one report.")
    lines.append("- `btvm, shadow cache 0` is `btvm --shadow-cache 0` (the shadow table is "
                 "dropped and rebuilt at every CR3 switch); it is run for the cr3 loop only, "
                 "where it differs.")
    lines.append(f"- btvm/qemu is left out where qemu's figure is below {MIN_RATIO_NS} ns "
                 "(a plain store in QEMU: zero within the noise).")
    lines.append("")
    lines += table
    lines.append("")
    if "cr3" in loops and ns("btvm", "cr3") is not None and ns("btvm-nocache", "cr3") is not None:
        on, off = ns("btvm", "cr3"), ns("btvm-nocache", "cr3")
        lines.append(f"CR3 switch (with {args.cr3_pages} page loads after it), shadow cache on "
                     f"vs off: {fmt_ns(on)} ns vs {fmt_ns(off)} ns; cache-on/cache-off = "
                     f"{fmt_ratio(on / off if off > 0 else None)}"
                     + (f" (the cache makes a switch {off / on:.2f}x faster)." if on > 0 else "."))
        lines.append("")
    if stats:
        lines.append("btvm counters per event, from one untimed `--stats` run of each loop: "
                     "(count(loop n) - count(empty n)) / n.")
        lines.append("")
        lines.append("| loop | system | " + " | ".join(c for c, _, _ in COUNTERS)
                     + " | dispatcher exits |")
        lines.append("|---|---|" + "---:|" * (len(COUNTERS) + 1))
        for loop in loops:
            n = args.n[loop]
            for s in systems_for(loop, [x for x in systems if x.startswith("btvm")]):
                st, e = stats.get((s, loop, n)), stats.get((s, "empty", n))
                if not st or not e:
                    continue
                cells = [gb.per_event(gb.stat(st, k, i), gb.stat(e, k, i), n)
                         for _, k, i in COUNTERS]
                cells.append(gb.per_event(gb.exits(st), gb.exits(e), n))
                lines.append(f"| {loop} | {s} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Loop-only medians (`empty`, whole process, ms): " + "; ".join(
        f"{s} n={n}: {gb.median(times[(s, 'empty', n)]) * 1000:.1f}"
        for l, n, cmds in groups if l == "empty" for s in cmds))
    lines.append("")
    lines.append("All runs, wall ms (in run order):")
    lines.append("")
    lines += gb.runs_table(times, systems, [(l, n) for l, n, _ in groups])
    return "\n".join(lines) + "\n", "\n".join(table) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per loop and system (default 5)")
    ap.add_argument("--loops", default=",".join(LOOPS),
                    help="comma-separated loops (default: %(default)s)")
    ap.add_argument("--n", default="", help="iterations, e.g. hidden=4000000,cr3=300000 "
                    "(defaults: " + ",".join(f"{k}={v}" for k, v in DEFAULT_N.items()) + ")")
    ap.add_argument("--hidden-pages", type=int, default=1024,
                    help="pages the hidden loop cycles over (default 1024, at most 4096)")
    ap.add_argument("--cr3-pages", type=int, default=4,
                    help="pages loaded after each CR3 switch (default 4, at most 64)")
    ap.add_argument("--systems", default=",".join(SYSTEMS),
                    help="subset of btvm,btvm-nocache,qemu (default: all three)")
    ap.add_argument("--btvm", default=os.path.join(gb.ROOT, "build", "btvm"),
                    help="btvm executable (default build/btvm)")
    ap.add_argument("--build", default=os.path.join(gb.ROOT, "build"),
                    help="meson build directory with guests/bench_mmu.elf")
    ap.add_argument("--qemu", default="qemu-system-i386", help="QEMU system emulator")
    ap.add_argument("--no-stats", action="store_true", help="skip the --stats counter runs")
    ap.add_argument("--mmu", default="soft", choices=["soft", "host"],
                    help="btvm --mmu for 'btvm' and 'btvm-nocache' (default soft; 'btvm-host' is host)")
    ap.add_argument("--out", default=os.path.join(gb.ROOT, "bench", "results", "mmu.md"),
                    help="markdown report (default bench/results/mmu.md)")
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
    systems = [x for x in args.systems.split(",") if x]
    bad = [x for x in loops if x not in LOOPS] + [x for x in systems if x not in SYSTEMS]
    if bad or not loops or not systems or args.runs < 1:
        ap.error(f"bad --loops/--systems/--runs: {', '.join(bad) or 'empty'}")
    if not 1 <= args.hidden_pages <= 4096 or not 1 <= args.cr3_pages <= 64:
        ap.error("--hidden-pages must be 1..4096 and --cr3-pages 1..64")

    need = {"guest image": os.path.join(args.build, "guests", "bench_mmu.elf")}
    if any(s.startswith("btvm") for s in systems):
        need["btvm"] = args.btvm
    gb.check_files(need)

    started = datetime.datetime.now().astimezone()
    info = gb.machine_info(args.qemu if "qemu" in systems else None)
    groups = plan(args, loops, systems)
    try:
        times, _ = gb.measure(groups, args.runs, args.timeout, GUEST)
        stats = {} if args.no_stats else collect_stats(args, groups)
    except gb.BenchError as e:
        sys.exit(f"run_mmu: FAILED\n{e}")

    report, table = build_report(args, loops, systems, groups, times, stats, info, started)
    gb.write_report(args.out, report)
    print(table, end="")
    print(f"written: {gb.rel(os.path.abspath(args.out))}")


if __name__ == "__main__":
    main()
