#!/usr/bin/env python3
"""The three virtualization modes on the `sensitive` guest, and their traces.

Checks: translate and patch run the guest correctly; trap runs it and the guest reports the
deprivileged answers of the problem instructions; translate and patch traces agree event for
event; trace-diff of trap against patch names the problem instructions as missed in trap and
none in patch; a trace is identical from run to run.
usage: run_modes.py BTVM SENSITIVE_ELF
"""
import json
import os
import subprocess
import sys
import tempfile

btvm, elf = sys.argv[1], sys.argv[2]
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    if not ok:
        failures.append(name)


def run(mode, trace):
    p = subprocess.run([btvm, "--mode", mode, "--trace", trace, elf], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout


def events(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


with tempfile.TemporaryDirectory() as d:
    t = {m: os.path.join(d, m + ".jsonl") for m in ("translate", "patch", "trap", "translate2")}
    out = {}
    for mode in ("translate", "patch", "trap"):
        status, out[mode] = run(mode, t[mode])
        want = 35 if mode == "trap" else 33
        check(f"{mode}: exit status {want}", status == want, f"got {status}\n{out[mode][-800:]}")
    check("translate: PASS line", "PASS: sensitive" in out["translate"])
    check("patch: PASS line", "PASS: sensitive" in out["patch"])
    # Under trap the guest itself reports the deprivileged values it got.
    for name in ("SGDT", "SIDT", "SLDT", "SMSW", "STR", "POPF", "LAR", "LSL", "VERR", "VERW", "PUSH CS", "MOV r,CS/SS"):
        line = next((l for l in out["trap"].splitlines() if l.split(":")[0].endswith(" " + name)), "")
        check(f"trap: guest reports {name} wrong", "WRONG" in line, line or "no line")
    check("trap: privileged instructions all emulated",
          "0 of 13 privileged instructions went wrong" in out["trap"])

    tr, pa, tp = events(t["translate"]), events(t["patch"]), events(t["trap"])
    check("patch: no event missed", all(e["handling"] != "missed" for e in pa))
    check("patch: problem instructions patched", any(e["handling"] == "patched" for e in pa))
    check("translate: every event translated", all(e["handling"] == "translated" for e in tr))
    same = len(tr) == len(pa) and all(
        a["eip"] == b["eip"] and a["mnemonic"] == b["mnemonic"] and a["state"] == b["state"] for a, b in zip(tr, pa))
    check("translate and patch traces agree event for event on the virtual state", same)
    missed = {e["mnemonic"] for e in tp if e["handling"] == "missed"}
    for m in ("sgdt", "sidt", "sldt", "smsw", "str", "popfd", "lar", "lsl", "verr", "verw"):
        check(f"trap: {m} missed", m in missed, f"missed: {sorted(missed)}")

    diff = subprocess.run([btvm, "trace-diff", t["patch"], t["translate"]], capture_output=True, text=True)
    check("trace-diff patch translate: equivalent (status 0)", diff.returncode == 0, diff.stdout[-400:])
    diff = subprocess.run([btvm, "trace-diff", t["trap"], t["patch"]], capture_output=True, text=True)
    check("trace-diff trap patch: differ (status 1)", diff.returncode == 1, diff.stdout[-400:])
    check("trace-diff names the first divergence", "first divergence" in diff.stdout)
    rows = {l.split()[0]: l.split() for l in diff.stdout.splitlines()[1:] if len(l.split()) == 8 and l.split()[1].isdigit()}
    check("trace-diff: sgdt missed in trap, not in patch",
          "sgdt" in rows and int(rows["sgdt"][5]) > 0 and int(rows["sgdt"][6]) == 0, str(rows.get("sgdt")))

    run("translate", t["translate2"])
    with open(t["translate"]) as a, open(t["translate2"]) as b:
        check("the same guest gives the same trace twice", a.read() == b.read())

print(f"{'FAILED' if failures else 'all passed'}: {len(failures)} failures")
sys.exit(1 if failures else 0)
