#!/usr/bin/env python3
"""Translation cost in host instructions (Ir) per guest instruction, under callgrind.

Wall-clock figures on this 2-core VM move by tens of percent between runs; callgrind's instruction
counts do not. This runs translate-bench once under callgrind, collecting only inside
btvm::Dbt::translate (--toggle-collect), and splits the Ir of Dbt::Impl::translate by callee:

  decode    Dbt::Impl::decodeBlock: of it, Capstone (cs_disasm_iter), findInsn, and the rest
            (byte fetch, copy of cs_insn + cs_detail, the form/LOCK rules inlined there)
  emit      BlockEmitter::* and AsmJit (Assembler/CodeHolder set-up and teardown, initAssembler)
  install   btvm::installCode (flatten, relocate, copy into the code cache)
  other     everything else under Impl::translate: Block allocation, registration in the lookup
            maps, clock reads, its own code

usage: bench/translate/callgrind.py [--bench build/bench/translate-bench] [--max-bytes N]
                                    [--file PATH] [--one-off] [--mmu host|soft] [--out FILE]
"""
import argparse
import re
import subprocess
import sys
import tempfile


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def parse_calling_tree(text, caller_pat):
    """Inclusive Ir of `caller_pat` and of each of its callees (as called from it)."""
    total, callees, inside = None, [], False
    line_re = re.compile(r"^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(\*|>)\s+(.*)$")
    for line in text.splitlines():
        m = line_re.match(line)
        if not m:
            if inside and not line.strip():
                break
            continue
        ir, kind, name = int(m.group(1).replace(",", "")), m.group(2), m.group(3)
        if kind == "*":
            if inside:
                break
            if re.search(caller_pat, name):
                inside, total = True, ir
        elif inside:
            callees.append((ir, name))
    if total is None:
        sys.exit(f"callgrind.py: {caller_pat} not found in the profile")
    return total, callees


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/bench/translate-bench")
    ap.add_argument("--file", default=None)
    ap.add_argument("--max-bytes", default=None)
    ap.add_argument("--one-off", action="store_true")
    ap.add_argument("--mmu", choices=["host", "soft"], default="host",
                    help="the access path translated (translate-bench's --mmu; default host, as btvm)")
    ap.add_argument("--out", default=None, help="keep the callgrind.out file here")
    a = ap.parse_args()

    out = a.out or tempfile.mktemp(prefix="callgrind.translate.")
    bench = [a.bench, "--repeat", "1", "--only", "dbt"]
    if a.file:
        bench += ["--file", a.file]
    if a.max_bytes:
        bench += ["--max-bytes", str(a.max_bytes)]
    if a.one_off:
        bench += ["--one-off"]
    bench += ["--mmu", a.mmu]
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
           "--toggle-collect=btvm::Dbt::translate*"] + bench
    print("$", " ".join(f"'{c}'" if "*" in c else c for c in cmd))
    r = run(cmd)
    m = re.search(r"guest code: (\d+) instructions .* in (\d+) bytes", r.stdout)
    if not m:
        sys.exit("callgrind.py: no guest instruction count in the bench output:\n" + r.stdout)
    n, nbytes = int(m.group(1)), int(m.group(2))
    tree = run(["callgrind_annotate", "--inclusive=yes", "--tree=calling", "--threshold=100", out]).stdout

    total, callees = parse_calling_tree(tree, r"btvm::Dbt::Impl::translate\(")
    dec_total, dec_callees = parse_calling_tree(tree, r"btvm::Dbt::Impl::decodeBlock\(")
    phase = {"decode": 0, "emit": 0, "install": 0}
    emit_insn = 0
    for ir, name in callees:
        if "Dbt::Impl::decodeBlock" in name:
            phase["decode"] += ir
        elif "btvm::installCode" in name:
            phase["install"] += ir
        elif re.search(r"BlockEmitter|asmjit::|initAssembler", name):
            phase["emit"] += ir
            if "BlockEmitter::emitInsn(" in name:
                emit_insn += ir
    phase["other"] = total - sum(phase.values())
    capstone = sum(ir for ir, nm in dec_callees if "cs_disasm_iter" in nm or "btvm::Decoder::decode" in nm)
    find = sum(ir for ir, nm in dec_callees if "btvm::findInsn" in nm)

    print(f"\n--mmu {a.mmu}; guest code: {n} instructions, {nbytes} bytes; Ir in Dbt::Impl::translate (inclusive): {total:,}\n")
    print("| phase | Ir / guest insn | share |")
    print("|---|---:|---:|")
    rows = [("decode + classify (decodeBlock)", phase["decode"]),
            ("· of it Capstone (Decoder::decode: cs_disasm_iter)", capstone),
            ("· of it findInsn", find),
            ("· of it fetch, cs_detail copy, form/LOCK rules", dec_total - capstone - find),
            ("emit (BlockEmitter, AsmJit)", phase["emit"]),
            ("· of it emitInsn (the instructions themselves)", emit_insn),
            ("· of it per block: entry, exits, deferred slow paths, CodeHolder set-up/teardown",
             phase["emit"] - emit_insn),
            ("install (installCode)", phase["install"]),
            ("other (Block, registration, clock)", phase["other"]),
            ("**total**", total)]
    for name, ir in rows:
        print(f"| {name} | {ir / n:,.0f} | {100 * ir / total:.1f}% |")
    print(f"\ncallgrind output: {out} (callgrind_annotate --inclusive=yes --tree=calling {out})")


if __name__ == "__main__":
    main()
