#!/usr/bin/env python3
"""Debian's Linux deprivileged by a pure trap-and-emulate VMM (--mode trap) against the patching
VMM (--mode patch): under trap the kernel never reaches userspace (a POPF that should restore
the interrupt flag silently does not), and `btvm trace-diff` of the two traces names the first
sensitive instruction that went wrong.   run_linux_trap.py BTVM MAKE_GUEST
Exit status 77 (skip) when the guest cannot be built here, with the reason."""
import os, re, subprocess, sys, tempfile

btvm, make_guest = sys.argv[1], sys.argv[2]
guest = subprocess.run([sys.executable, make_guest, "--print-env"], capture_output=True, text=True)
if guest.returncode == 77:
    print(guest.stderr.strip())
    sys.exit(77)
env = dict(line.split("=", 1) for line in guest.stdout.split())
boot = ["-m", "256M", "-kernel", env["KERNEL_686"], "-initrd", env["INITRD"], "-append", "console=ttyS0"]
LIMIT = "20000000"  # the decompressor and the kernel's first steps: the divergence comes early

failures = 0
def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += not ok

with tempfile.TemporaryDirectory() as tmp:
    full = subprocess.run([btvm, "--mode", "trap"] + boot, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=600)
    out = full.stdout.decode(errors="replace")
    check("btvm-guest: userspace up" not in out, "trap: the deprivileged kernel never reaches userspace")
    check(full.returncode == 6, f"trap: the kernel ends halted with nothing to wake it (status {full.returncode})")
    check(b"no unmasked device will interrupt it" in full.stderr, "trap: btvm says why the guest cannot go on")

    traces = {}
    for mode in ("trap", "patch"):
        traces[mode] = os.path.join(tmp, f"{mode}.jsonl")
        r = subprocess.run([btvm, "--mode", mode, "--max-insns", LIMIT, "--trace", traces[mode]] + boot,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
        check(r.returncode == 8, f"{mode}: {LIMIT} instructions run and traced (status {r.returncode})")
    d = subprocess.run([btvm, "trace-diff", traces["trap"], traces["patch"]], capture_output=True, text=True)
    check(d.returncode == 1, f"trace-diff trap patch: the traces differ (status {d.returncode})")
    first = [l for l in d.stdout.splitlines() if l.startswith(">> A")]
    check(bool(first) and "popfd" in first[0] and "missed" in first[0],
          f"trace-diff names the first divergence: a POPF the trap VMM missed ({first[0] if first else 'none'})")
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)",
                                                            d.stdout, re.M)}
    check("pushfd" in rows and int(rows["pushfd"][4]) > 0 and int(rows["pushfd"][5]) == 0,
          "trace-diff: PUSHF missed under trap, caught under patch")
    if failures:
        print(d.stdout[-4000:])
sys.exit(1 if failures else 0)
