#!/usr/bin/env python3
"""Determinism: the same guest run twice gives the same trace, instruction count and final state.

btvm has no wall-clock inputs (RDTSC and the TSC MSR count retired instructions), so every run
of a guest is deterministic; this test holds it to that.
usage: run_twice.py BTVM ELF [btvm args...]
"""
import os
import re
import subprocess
import sys
import tempfile

btvm, elf, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
results = []
with tempfile.TemporaryDirectory() as d:
    for n in range(2):
        trace = os.path.join(d, f"t{n}.jsonl")
        p = subprocess.run([btvm, "--state-hash", "--trace", trace, *extra, elf], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=300)
        m = re.search(r"state hash ([0-9a-f]{16}) after (\d+) instructions", p.stderr)
        with open(trace) as f:
            results.append((p.returncode, p.stdout, m.groups() if m else None, f.read()))
a, b = results
ok = True
for what, i in (("exit status", 0), ("serial output", 1), ("state hash and instruction count", 2), ("trace", 3)):
    same = a[i] == b[i]
    ok &= same
    print(("ok   " if same else "FAIL ") + f"same {what} on both runs" + ("" if same else f": {str(a[i])[:200]} vs {str(b[i])[:200]}"))
ok &= a[2] is not None
print("hash:", a[2])
sys.exit(0 if ok else 1)
