#!/usr/bin/env python3
"""Seed corpora for btvm's libFuzzer targets, generated (nothing binary is committed).

usage:
  make_seeds.py translate DIR [--guests BUILD/guests]  code snippets for fuzz-translate
  make_seeds.py loader DIR [--guests BUILD/guests]     kernel images for fuzz-loader
  make_seeds.py --run EXE translate|loader [...]       generate into a temporary directory and run
                                                       `EXE -runs=0 DIR` (libFuzzer: run the corpus
                                                       once; the plain build's driver: run each file)
  --known-bugs                                         instead: only the inputs of open btvm bugs

Translate seeds are short instruction sequences covering the translator's paths (ALU, loops, string
ops, calls, exceptions, control registers, paging, segments, self-modifying code, a ring change)
and a few random pages. Loader seeds are the good and broken images of tests/cli (elfgen.py), and,
with --guests, the project's own guest kernels.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))

TRANSLATE_SEEDS = {
    "alu": "b8 01 00 00 00 01 c3 29 d9 31 c0 f7 d0 0f af c3 f4",
    "loop": "b9 10 00 00 00 40 e2 fd f4",
    "rep-stosb": "fc b9 00 01 00 00 bf 00 00 01 00 f3 aa f4",
    "rep-movsd-down": "fd b9 40 00 00 00 be 00 80 01 00 bf 00 90 01 00 f3 a5 fc f4",
    "repne-scasb": "fc b9 00 10 00 00 bf 00 00 01 00 b0 00 f2 ae f4",
    "call-ret": "e8 01 00 00 00 f4 c3",
    "push-pop": "50 53 60 61 5b 58 6a ff 8f c1 f4",
    "enter-leave": "c8 10 00 02 c9 f4",
    "int-0x30": "cd 30",
    "int3": "cc",
    "div-zero": "31 c9 f7 f1",
    "ud2": "0f 0b",
    "paging-off-on": "0f 20 c0 25 ff ff ff 7f 0f 22 c0 0d 00 00 00 80 0f 22 c0 f4",
    "cr3-reload": "0f 20 d8 0f 22 d8 0f 01 38 f4",
    "smc": "e8 00 00 00 00 5b c6 43 08 f4 90 90 90 90 90 90 eb fe",
    "debug-exit": "b0 10 e6 f4",
    "single-step": "9c 58 0d 00 01 00 00 50 9d 90 f4",
    "call-gate": "9a 00 00 00 00 60 00",
    "far-jmp-16bit": "ea 00 00 10 00 28 00",
    "small-limit-ds": "66 b8 38 00 8e d8 a1 00 20 00 00 f4",
    "null-ds": "31 c0 8e d8 8b 03 f4",
    "gdt-idt": "0f 01 05 00 00 01 00 0f 01 15 00 00 01 00 0f 01 0d 08 00 01 00 f4",
    "ltr-lar-lsl": "0f 00 c8 66 b8 1b 00 0f 02 c0 0f 03 c8 0f 00 e0 0f 00 e8 f4",
    "iret-to-ring3": "6a 23 54 9c 6a 1b e8 00 00 00 00 83 04 24 05 cf cd 30 f4",
    "x87-sse": "d9 e8 0f 28 c1 f4",
    "cpuid-rdtsc": "0f a2 0f 31 f4",
    "16bit-forms": "66 67 8b 07 66 05 34 12 67 8d 40 10 f4",
    "bcd": "b0 99 04 01 27 2f 37 3f d4 0a d5 0a f4",
    "unmapped-read": "a1 00 00 00 c0 f4",
    "ram-end-write": "c7 05 fc ff 3f 00 11 22 33 44 c7 05 fe ff 3f 00 11 22 33 44 f4",
    "beyond-ram": "a1 00 00 00 10 c7 05 00 00 00 10 01 00 00 00 f4",
    "jmp-beyond-ram": "b8 00 00 00 10 ff e0",
    "lock-cmpxchg8b": "f0 0f c7 0b f0 0f b1 0b f0 01 03 f4",
    "bt-shld": "0f a3 c3 0f ab 03 0f a4 c3 05 0f bc c3 f4",
    "mov-dr-cr4": "0f 21 c0 0f 23 f8 0f 20 e0 0f 22 e0 f4",
    "io": "ba f8 03 00 00 b0 41 ee ec e4 21 e6 80 f4",
    "iopl-cli": "fa fb f4",
}


# Inputs that show open btvm bugs (only under LeakSanitizer, i.e. an ASan build). Not in the
# default corpus, so the seed tests pass; `make_seeds.py --known-bugs translate DIR` writes them,
# and when a bug is fixed its input moves into TRANSLATE_SEEDS.
KNOWN_BUG_TRANSLATE_SEEDS = {
    # mov al,0x10; call rel32 (its last bytes from the hlt and zeros after the input): the call target's
    # block runs into an absent page; decodeBlock longjmps out of Dbt::Impl::translate (#PF on the
    # fetch) and leaks the Block from make_unique<Block>() (translator.cpp:169): 112 bytes per fault.
    "leak-block-on-fetch-fault": "b0 10 e8 f4",
}


def translate_seeds():
    seeds = {name: bytes.fromhex(hexs) for name, hexs in TRANSLATE_SEEDS.items()}
    rng = random.Random(1)
    for n in (16, 64, 256, 4096):
        seeds[f"random-{n}"] = rng.randbytes(n)
    seeds["empty"] = b""
    return seeds


def loader_seeds():
    import run_cli_tests  # the image table of the CLI test (builds images at import)
    return {name: data for name, data in run_cli_tests.IMAGES.items() if data}


def write(kind, out, guests=None, known_bugs=False):
    os.makedirs(out, exist_ok=True)
    if known_bugs:
        table = KNOWN_BUG_TRANSLATE_SEEDS if kind == "translate" else {}
        seeds = {name: bytes.fromhex(h) for name, h in table.items()}
    else:
        seeds = translate_seeds() if kind == "translate" else loader_seeds()
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    if guests and kind == "loader":
        for fn in sorted(os.listdir(guests)):
            if fn.endswith(".elf"):
                shutil.copy(os.path.join(guests, fn), os.path.join(out, "guest-" + fn))
    return len(os.listdir(out))


def main(argv):
    guests = None
    known_bugs = "--known-bugs" in argv
    if known_bugs:
        argv.remove("--known-bugs")
    if "--guests" in argv:
        i = argv.index("--guests")
        guests = argv[i + 1]
        del argv[i:i + 2]
    if len(argv) == 3 and argv[0] == "--run":
        exe, kind = argv[1], argv[2]
        tmp = tempfile.mkdtemp(prefix=f"btvm-seeds-{kind}-")
        try:
            n = write(kind, tmp, guests, known_bugs)
            print(f"{n} {kind} seeds in {tmp}", flush=True)
            return subprocess.run([exe, "-runs=0", tmp]).returncode
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if len(argv) == 2 and argv[0] in ("translate", "loader"):
        n = write(argv[0], argv[1], guests, known_bugs)
        print(f"{n} {argv[0]} seeds in {argv[1]}")
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
