#!/usr/bin/env python3
"""The hostile guest (guests/hostile) under btvm, judged from the host side too.

usage: run_hostile.py BTVM ELF

For each configuration: exit status 33 and a PASS line (the guest's own checks), the process
ended normally (no signal; --stats printed, which happens only on btvm's orderly exit path), and
stderr holds no AddressSanitizer/UBSan report (the suite also runs in build-asan, where any
host access outside btvm's own allocations, e.g. past guest RAM, aborts with such a report).
"""
import re
import subprocess
import sys

PASS_STATUS = 33
SANITIZER = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

btvm, elf = sys.argv[1], sys.argv[2]
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    if not ok:
        failures.append(name)


def run(*args):
    cmd = [btvm, "--stats", *args, elf]
    label = " ".join(args)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        check(f"{label}: finishes", False, "timeout after 120 s: " + " ".join(cmd))
        return ""
    out = p.stdout.replace("\r", "")
    detail = f"status {p.returncode}: {' '.join(cmd)}\n{out[-1500:]}\n--- stderr ---\n{p.stderr[-1500:]}"
    check(f"{label}: no signal", p.returncode >= 0, detail)
    check(f"{label}: status 33 and PASS", p.returncode == PASS_STATUS and
          any(line.startswith("PASS:") for line in out.splitlines()), detail)
    check(f"{label}: orderly exit (--stats printed)", "btvm statistics" in p.stderr, detail)
    check(f"{label}: no sanitizer report", not any(s in p.stderr for s in SANITIZER), detail)
    return p.stderr


def stat(text, label):
    m = re.search(re.escape(label) + r"\s+(\d+)", text)
    return int(m.group(1)) if m else None


s = run("-m", "16M")
smc = stat(s, "write to translated code")
check("code rewritten through the alias was caught", smc is not None and smc > 0, str(smc))
check("no unimplemented instruction", re.search(r"unimplemented[^\n]*\n\s+none", s) is not None)
# The same with a tiny resident cap: pages past RAM must never be backed or swapped.
s = run("-m", "16M", "--host-mem", "1M")
backed = stat(s, "pages backed / evicted / brought back")
check("--host-mem 1M: pages backed stay within 16M of RAM", backed is not None and backed <= 4096,
      str(backed))

# The host MMU (--mmu host): the guest's accesses go straight to a 4 GiB reservation; the same
# verdicts, and the host path really ran (its faults went to the slow path).
s = run("-m", "16M", "--mmu", "host")
faults = stat(s, "host faults to the slow path")
check("--mmu host: host faults were taken and resolved", faults is not None and faults > 0, str(faults))
smc = stat(s, "write to translated code")
check("--mmu host: code rewritten through the alias was caught", smc is not None and smc > 0, str(smc))
s = run("-m", "16M", "--mmu", "host", "--host-mem", "1M")
backed = stat(s, "pages backed / evicted / brought back")
check("--mmu host --host-mem 1M: pages backed stay within 16M of RAM", backed is not None and backed <= 4096,
      str(backed))

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
