#!/usr/bin/env python3
"""Disassembles btvm's ACPI tables with iasl (ACPICA) and requires that it accepts each one:
no errors, the checksum it computes matches, the DSDT defines \\_S5 as Package {0, 0, ...}, and
its disassembly compiles back to the same AML.
(iasl does not disassemble a lone 20-byte ACPI 1.0 RSDP; tests/unit/acpi_test.cpp checks it.)
Usage: check_iasl.py FW_DUMP. Skipped (exit 77) when iasl is not installed."""
import os, re, shutil, subprocess, sys, tempfile

def main():
    iasl = shutil.which("iasl")
    if not iasl:
        print("iasl not installed (apt-get install acpica-tools): skipped")
        return 77
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.argv[1], d], check=True)
        failures = 0
        for name in ("RSDT", "FACP", "FACS", "DSDT", "APIC", "HPET"):
            r = subprocess.run([iasl, "-d", f"{name}.dat"], cwd=d, capture_output=True, text=True)
            out = r.stdout + r.stderr
            dsl = os.path.join(d, f"{name}.dsl")
            text = open(dsl).read() if os.path.exists(dsl) else ""
            bad = []
            if r.returncode != 0 or not text:
                bad.append(f"iasl exit {r.returncode}")
            if re.search(r"\bError\b", out) or "Invalid" in text or "Incorrect checksum" in text:
                bad.append("iasl reports an error or a bad checksum")
            if name == "DSDT" and not re.search(r"Name \(\\?_S5, Package \(0x04\)[^{]*\{\s*Zero,\s*Zero,", text):
                bad.append("no \\_S5 = Package {0, 0, ...}")
            if name == "DSDT" and text:
                # Round trip: the ASL iasl read back compiles (no optimizations) to the same AML.
                r2 = subprocess.run([iasl, "-oa", "-p", "DSDT-again", "DSDT.dsl"], cwd=d, capture_output=True, text=True)
                again = os.path.join(d, "DSDT-again.aml")
                mine = open(os.path.join(d, "DSDT.dat"), "rb").read()
                if r2.returncode != 0 or not os.path.exists(again) or open(again, "rb").read()[36:] != mine[36:]:
                    bad.append("recompiling the disassembly gives different AML")
                    out += r2.stdout + r2.stderr
            print(f"{name}: {'ok' if not bad else 'FAIL: ' + '; '.join(bad)}")
            if bad:
                failures += 1
                print(out)
                print(text)
        return 1 if failures else 0

sys.exit(main())
