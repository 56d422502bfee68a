#!/usr/bin/env python3
"""Guests under memory pressure and what --stats says about the MMU and the code cache.

usage: run_mmu_checks.py BTVM GUEST_DIR
"""
import os
import re
import subprocess
import sys

btvm, guests = sys.argv[1], sys.argv[2]
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    if not ok:
        failures.append(name)


def run(guest, *args, env=None):
    p = subprocess.run([btvm, "--stats", *args, f"{guests}/{guest}.elf"], capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    ok = p.returncode == 33 and "PASS:" in p.stdout
    check(f"{guest} {' '.join(args)} {env or ''}: PASS, status 33", ok, f"status {p.returncode}\n{p.stdout[-500:]}{p.stderr[-500:]}")
    return p.stderr


def stat(text, label):
    m = re.search(re.escape(label) + r"\s+(\d+)(?:\s*/\s*(\d+)\s*/\s*(\d+))?", text)
    if not m:
        return None
    return [int(g) for g in m.groups() if g is not None]


# --mmu host: the hostile guest runs one instruction whose address wraps past 4 GiB 4096 times;
# the access path must wrap it as the guest does, not take a host fault each time. Both access
# paths: gs:[guest address] where the host has FSGSBASE, and the LEA into R10D without it.
for env in ({}, {"BTVM_NO_FSGSBASE": "1"}):
    s = run("hostile", env=env)
    faults = stat(s, "host faults to the slow path")
    check(f"hostile {env}: a wrapping address costs no host fault each time", faults and faults[0] < 2048,
          f"faults {faults}")
for g in ("alu", "exceptions", "paging", "usermode", "smc"):
    run(g, env={"BTVM_NO_FSGSBASE": "1"})

# Every paging guest with little host memory: real pages go to the swap file and come back.
for g in ("paging", "usermode", "ctxswitch", "ptupdate", "pae"):
    run(g, "--host-mem", "1M")
s = run("overcommit", "-m", "64M", "--host-mem", "4M")
pages = stat(s, "pages backed / evicted / brought back")
check("overcommit: pages evicted and brought back", pages and pages[1] > 0 and pages[2] > 0, str(pages))

# Shadow page tables are kept across CR3 switches, and turning the cache off rebuilds them.
s = run("ctxswitch")
ctx = stat(s, "contexts created / reused / evicted")
check("ctxswitch: contexts reused rather than rebuilt", ctx and ctx[1] > 100 * ctx[0], str(ctx))
# 3,000 CR0.WP/PG and CR4.PGE toggles leave the address spaces as they were: no new context.
check("ctxswitch: CR0.WP/PG and CR4.PGE toggles build no shadow context", ctx and ctx[0] <= 8, str(ctx))
s0 = run("ctxswitch", "--shadow-cache", "0")
ctx0 = stat(s0, "contexts created / reused / evicted")
check("ctxswitch --shadow-cache 0: contexts rebuilt", ctx0 and ctx0[1] == 0 and ctx0[0] > 1000, str(ctx0))
walks, walks0 = stat(s, "page walks"), stat(s0, "page walks")
check("ctxswitch: the cache saves page walks", walks and walks0 and walks0[0] > 2 * walks[0], f"{walks} vs {walks0}")

# PAE: contexts keyed by CR3 bits 31:5 (two PDPTs in one page) are reused across switches; with
# no cache the guest still passes.
s = run("pae")
ctx = stat(s, "contexts created / reused / evicted")
check("pae: address spaces reused across CR3 switches", ctx and ctx[1] > 0, str(ctx))
inv = stat(s, "shadow entries invalidated")
check("pae: shadow entries invalidated by 64-bit entry writes", inv and inv[0] > 0, str(inv))
run("pae", "--shadow-cache", "0")

s = run("ptupdate")
tw = stat(s, "page-table writes trapped")
check("ptupdate: page-table writes trapped", tw and tw[0] > 0, str(tw))
inv = stat(s, "shadow entries invalidated")
check("ptupdate: shadow entries invalidated", inv and inv[0] > 0, str(inv))
hidden, true_ = stat(s, "hidden faults (VMM resolved)"), stat(s, "true faults (guest #PF)")
check("ptupdate: hidden and true faults counted", hidden and true_ and hidden[0] > 0 and true_[0] > 0, f"{hidden} {true_}")

# A small code cache is flushed and refilled, and the guest still runs correctly.
s = run("alu", "--code-cache", "64K")
fl = stat(s, "code cache flushes")
check("alu --code-cache 64K: cache flushed and refilled", fl and fl[0] > 0, str(fl))
run("smc", "--code-cache", "64K")

print(f"{'FAILED' if failures else 'all passed'}: {len(failures)} failures")
sys.exit(1 if failures else 0)
