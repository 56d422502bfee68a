#!/usr/bin/env python3
"""Table-driven test of btvm's command line against bad kernel images and bad arguments.

usage: run_cli_tests.py BTVM [--known-bugs] [-k SUBSTRING] [-v]

Each row of CASES runs btvm once with its arguments and checks:
  * the exit status (emu/exit_status.h: 2 for usage and image errors, nothing run);
  * stderr: exactly one line naming the problem, matching the row's regex (case-insensitive),
    plus, for command-line errors (kind USAGE), the line "(try 'btvm --help')";
  * stdout: empty for errors (nothing ran); for --help, the usage text.
Rows of kind RUN are positive controls (good images made by the same generator run and end with
the documented status) and may print more (a triple fault dumps registers).

Images are built in a temporary directory by elfgen.py; "@NAME" anywhere in an argument is the
path of image NAME, "@dir" is a directory, "@missing" a path that does not exist.

KNOWN_BUGS holds rows that fail today because of btvm bugs (see each row's note). They do not run
by default; `--known-bugs` runs only them. When a bug is fixed, move its row into CASES.
"""
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elfgen as E  # noqa: E402

USAGE, IMAGE, RUN, HELP = "usage", "image", "run", "help"
HINT = "(try 'btvm --help')"
TIMEOUT_S = 20 * float(os.environ.get("BTVM_TIMEOUT_SCALE", "1"))  # dev.sh scales it for sanitizer builds


def rnd(seed, n):
    return random.Random(seed).randbytes(n)


# Images: name -> bytes (built into the temporary directory before the cases run).
GOOD = E.build()
IMAGES = {
    "good": GOOD,
    "hlt": E.build(E.CODE_HLT),
    "loop": E.build(E.CODE_LOOP),
    "triple": E.build(E.CODE_TRIPLE),
    "realmode": E.build(E.CODE_REALMODE),
    "at16m": E.build(load_addr=16 << 20),
    "empty": b"",
    "tiny": b"\x7fEL",
    "trunc-ehdr": GOOD[:40],
    # Multiboot header right after the ELF header, program header table cut in its first entry.
    "trunc-phdr": E.build(mb_offset=0x34, phoff=0x40, truncate=0x40 + 16),
    "trunc-phoff": E.build(mb_offset=0x34, phoff=0xFFFFFFF0),
    # Segment data cut: the segment's bytes extend beyond the end of the file.
    "trunc-seg": E.build(mb_offset=0x100, code=E.CODE_EXIT33 + bytes(64), truncate=E.DATA_OFF + 8),
    "seg-offset-huge": E.build(mb_offset=0x100, segments=[E.segment(data=bytes(16), offset=0xFFFFFFF0)]),
    "elf64": E.build(ei_class=2),
    "machine-x86-64": E.build(machine=E.EM_X86_64),
    "machine-arm": E.build(machine=E.EM_ARM),
    "big-endian": E.build(ei_data=2),
    "et-dyn": E.build(etype=E.ET_DYN),
    "et-rel": E.build(etype=1),
    "no-multiboot": E.build(mb=False),
    "multiboot-past-8k": E.build(mb_offset=0x2400),
    "bad-checksum": E.build(mb_checksum_ok=False),
    "mb-video": E.build(mb_flags=0x4),
    "mb-unknown-flag": E.build(mb_flags=0x8),
    "no-phdrs": E.build(phnum=0),
    "bad-phentsize": E.build(phentsize=40),
    "no-pt-load": E.build(segments=[E.segment(data=E.multiboot_header() + E.CODE_EXIT33, ptype=E.PT_NOTE)]),
    "huge-memsz": E.build(segments=[E.segment(data=E.multiboot_header() + E.CODE_EXIT33, memsz=0xFFFFFFFF)],
                          entry=E.LOAD_ADDR + 12),
    "wrapping-seg": E.build(segments=[E.segment(paddr=0xFFFFF000, data=E.multiboot_header(), memsz=0x2000)]),
    "filesz-gt-memsz": E.build(segments=[E.segment(data=E.multiboot_header() + E.CODE_EXIT33, memsz=4)],
                               entry=E.LOAD_ADDR + 12),
    "overlap": E.build(extra_segments=[E.segment(paddr=E.LOAD_ADDR + 8, data=bytes(32))]),
    "overlap-same": E.build(extra_segments=[E.segment(paddr=E.LOAD_ADDR, data=bytes(4))]),
    "low-memory": E.build(load_addr=0x8000),
    "entry-outside": E.build(entry=0x200000),
    "entry-zero": E.build(entry=0),
    "entry-at-end": E.build(entry=E.LOAD_ADDR + 12 + len(E.CODE_EXIT33)),
    "jmp-outside-ram": E.build(bytes.fromhex("b800f0ffff" "ffe0")),     # mov eax,0xfffff000; jmp eax
    "rep-lodsb-4g": E.build(bytes.fromhex("b9ffffffff" "be00001000" "f3ac" "f4")),  # ecx=-1; esi=1M; rep lodsb
    "movzx-r16-m16": E.build(bytes.fromhex("31c0" "660fb700") + E.CODE_EXIT33),  # xor eax,eax; movzx ax,[eax]
    "movsx-r16-r16": E.build(bytes.fromhex("660fbfc1") + E.CODE_EXIT33),          # movsx ax,cx
    # Multiboot loader: an entry point given as a virtual address (kernel linked at 3 GiB + 1 MiB,
    # loaded at 1 MiB); the a.out kludge on a raw binary; broken kludge address fields.
    "entry-virtual": E.build(segments=[E.segment(data=E.multiboot_header() + E.CODE_EXIT33, vaddr=0xC0100000)],
                             entry=0xC0100000 + E.MB_HDR_SIZE),
    "kludge": E.kludge(),
    "kludge-offset": E.kludge(lead=bytes(64), load_addr=0x200000),
    "kludge-load-end": E.kludge(E.CODE_EXIT33 + bytes(100), load_end=E.LOAD_ADDR + 32 + len(E.CODE_EXIT33)),
    "kludge-header-before-file": E.kludge(header_addr=E.LOAD_ADDR + 0x100),
    "kludge-entry-outside": E.kludge(entry=0x300000),
    "kludge-load-end-past-file": E.kludge(load_end=E.LOAD_ADDR + 0x10000),
    "kludge-bss-below-end": E.kludge(bss_end=E.LOAD_ADDR + 4),
    "kludge-low": E.kludge(load_addr=0x8000),
    "poweroff": E.build(bytes.fromhex("66b80020" "66ba0406" "66ef") + E.CODE_HLT),  # out 0x604, SLP_EN|S5
    "reset-8042": E.build(bytes.fromhex("b0fe" "e664") + E.CODE_HLT),           # out 0x64, 0xfe: pulse reset
    "reset-8042-outport": E.build(bytes.fromhex("b0d1" "e664" "b000" "e660") + E.CODE_HLT),  # 0xd1, then 0x00
    "reset-cf9": E.build(bytes.fromhex("b006" "baf90c0000" "ee") + E.CODE_HLT),  # out 0xcf9, 6
    "reset-port92": E.build(bytes.fromhex("b001" "e692") + E.CODE_HLT),        # out 0x92, 1
    "module-a": b"first module\n",
    "module-b": bytes(range(256)) * 64,
    "random": rnd(1, 4096),
    "random-big": rnd(2, 65536),
    "random-after-magic": b"\x7fELF" + rnd(3, 8192),
    # -bios images: 64 KiB of HLT with "mov al,0x10; out 0xf4,al" at the reset vector (F000:FFF0,
    # real mode), 128 KiB of the same, and sizes QEMU refuses as well.
    "rom": bytes([0xF4] * 0xFFF0) + E.CODE_EXIT33 + bytes([0xF4] * 11),
    "rom-128k": bytes([0xF4] * 0x1FFF0) + E.CODE_EXIT33 + bytes([0xF4] * 11),
    "rom-odd": bytes([0xF4] * 1000),
    "rom-32m": bytes(32 << 20),
}


def exception_storm():
    """lidt to an IDT whose #UD gate points at the ud2 that raises it: every delivery faults again at
    once, so no instruction ever retires (the stack just wraps); only --max-insns can stop it."""
    import struct
    e = E.LOAD_ADDR + E.MB_HDR_SIZE
    ud = e + 7
    code = b"\x0f\x01\x1d" + struct.pack("<I", e + 16) + b"\x0f\x0b"
    code += bytes(16 - len(code)) + struct.pack("<HI", 7 * 8 - 1, e + 24) + bytes(2)
    code += bytes(6 * 8) + struct.pack("<HHHH", ud & 0xFFFF, 0x08, 0x8E00, ud >> 16)
    return E.build(code)


IMAGES["exception-storm"] = exception_storm()

# COM1 output without a newline, then an end of each kind: the partial line must still reach
# stdout (the console buffers up to a newline). And the debug console on port 0xe9 (or 0x402),
# between COM1 bytes on the same stdout: the order must be kept.
SERIAL_AB = bytes.fromhex("66baf803" "b061ee" "b062ee")  # mov dx,0x3f8; mov al,'a'; out; mov al,'b'; out
IMAGES.update({
    "ab-exit": E.build(SERIAL_AB + E.CODE_EXIT33),
    "ab-hlt": E.build(SERIAL_AB + E.CODE_HLT),
    "ab-loop": E.build(SERIAL_AB + E.CODE_LOOP),
    "ab-triple": E.build(SERIAL_AB + E.CODE_UD),
    "ab-reset": E.build(SERIAL_AB + bytes.fromhex("66baf90c" "b006ee") + E.CODE_HLT),  # out 0xcf9, 6
    "ab-poweroff": E.build(SERIAL_AB + bytes.fromhex("66b80020" "66ba0406" "66ef") + E.CODE_HLT),
    # mov eax,[0xe0000000] (nothing there); mov dword [0xe0000000],1; exit 33 if eax read all-ones.
    "unassigned-mem": E.build(bytes.fromhex("a1000000e0" "c705000000e001000000" "83f8ff" "7504") + E.CODE_EXIT33[:4] + E.CODE_HLT),
    # 'a' on COM1, 'X' and 'Y' on the debug console at 0xe9 and 0x402, 'c' on COM1; exit 33 when
    # port 0xe9 reads back 0xe9 (a debug console there), else 35.
    "debugcon": E.build(bytes.fromhex("66baf803" "b061ee" "b058e6e9" "66ba0204" "b059ee" "66baf803" "b063ee")
                        + bytes.fromhex("e4e9" "3ce9" "b010" "7402" "b011" "e6f4" "f4")),
})


def C(name, args, status, regex=None, kind=None, note="", memlimit=False, timeout=TIMEOUT_S, stdout=None):
    if kind is None:
        kind = IMAGE if status == 2 else RUN
    return {"name": name, "args": args, "status": status, "regex": regex, "kind": kind, "note": note,
            "memlimit": memlimit, "timeout": timeout, "stdout": stdout}


CASES = [
    # Positive controls: the generator makes kernels btvm runs.
    C("good kernel", ["@good"], 33),
    C("good kernel via -kernel", ["-kernel", "@good"], 33),
    C("good kernel, -m 2M", ["-m", "2M", "@good"], 33),
    C("good kernel, -m 3G", ["-m", "3G", "@good"], 33),
    C("good kernel, long -append", ["-append", "x" * 10000, "@good"], 33),
    C("good kernel, -d in_asm,int", ["-d", "in_asm,int", "@good"], 33, regex=r".", kind=RUN),
    C("good kernel, QEMU's console options", ["-nographic", "-display", "none", "-monitor", "none",
      "-no-reboot", "-serial", "mon:stdio", "@good"], 33),
    C("good kernel, -serial null, --clock host", ["-serial", "null", "--clock", "host", "@good"], 33),
    C("good kernel, -rtc clock=vm, --clock=virtual", ["-rtc", "clock=vm", "--clock=virtual", "@good"], 33),
    C("cli; hlt", ["@hlt"], 6, r"halted"),
    C("jmp $ with --max-insns", ["--max-insns", "1000", "@loop"], 8, r"instruction limit"),
    C("int3, empty IDT: triple fault", ["-no-reboot", "@triple"], 4, r"triple fault"),
    C("leaves protected mode, runs on in real mode", ["@realmode"], 33),
    C("-bios: the reset vector", ["-bios", "@rom"], 33),
    C("-bios: a 128 KiB ROM, --mode patch", ["--mode", "patch", "-bios", "@rom-128k"], 33),
    C("kernel at 16 MiB, -m 32M", ["-m", "32M", "@at16m"], 33),
    C("--mode trap", ["--mode", "trap", "@good"], 33),
    C("--mode patch", ["--mode", "patch", "@good"], 33),
    C("--host-mem 256K", ["--host-mem", "256K", "@good"], 33),
    C("--shadow-cache=0", ["--shadow-cache=0", "@good"], 33),

    # Once known bugs (see git history of KNOWN_BUGS), fixed in f2de1d1 and 1a556c5.
    C("code at a physical address beyond RAM", ["-no-reboot", "@jmp-outside-ram"], 4, r"triple fault"),
    C("rep lodsb with ECX=0xffffffff, --max-insns 100", ["--max-insns", "100", "@rep-lodsb-4g"], 8,
      r"instruction limit", timeout=10),
    C("movzx ax,word [eax] (66 0f b7 00)", ["@movzx-r16-m16"], 33),
    C("movsx ax,cx (66 0f bf c1)", ["@movsx-r16-r16"], 33),
    C("#UD handler is the ud2 itself, --max-insns 1000", ["--max-insns", "1000", "@exception-storm"], 8,
      r"instruction limit", timeout=10),

    # Multiboot loader completeness (the multiboot guest checks every field it receives).
    C("ACPI power-off (PM1a_CNT = SLP_EN | SLP_TYP 0) exits 0", ["@poweroff"], 0, r"guest powered off", kind=RUN),
    C("i8042 command 0xfe resets: status 14", ["-no-reboot", "@reset-8042"], 14, r"reset.*keyboard controller", kind=RUN),
    C("i8042 output port bit 0 clear resets", ["-no-reboot", "@reset-8042-outport"], 14, r"reset.*output port", kind=RUN),
    C("port 0xcf9 reset", ["-no-reboot", "@reset-cf9"], 14, r"reset.*0xcf9", kind=RUN),
    C("port 0x92 bit 0 reset", ["-no-reboot", "@reset-port92"], 14, r"reset.*0x92", kind=RUN),
    C("ELF entry as a virtual address, translated", ["@entry-virtual"], 33),
    C("a.out kludge, raw binary", ["@kludge"], 33),
    C("a.out kludge, header 64 bytes into the file, loaded at 2 MiB", ["@kludge-offset"], 33),
    C("a.out kludge with load_end_addr", ["@kludge-load-end"], 33),
    C("-initrd: two Multiboot modules with arguments", ["-initrd", "@module-a one two,@module-b", "@good"], 33),
    C("-initrd: ',,' is a comma in a module's arguments", ["-initrd", "@module-a a,,b", "@good"], 33),
    C("-initrd: modules need -m room", ["-m", "2M", "-initrd", "@random-big,@random-big,@random-big,@random-big,"
      "@random-big,@random-big,@random-big,@random-big,@random-big,@random-big,@random-big,@random-big,@random-big,"
      "@random-big,@random-big,@random-big", "@good"], 2, r"does not fit in guest RAM"),
    C("-initrd: a missing module", ["-initrd", "@missing", "@good"], 2, r"cannot open.*No such file"),
    C("-initrd: an empty module name", ["-initrd", "@module-a,", "@good"], 2, r"module without a file name"),
    C("a.out kludge: header_addr before the file", ["@kludge-header-before-file"], 2, r"before the file"),
    C("a.out kludge: entry outside the image", ["@kludge-entry-outside"], 2, r"entry point.*not inside"),
    C("a.out kludge: load_end_addr beyond the file", ["@kludge-load-end-past-file"], 2, r"truncated"),
    C("a.out kludge: bss_end_addr below the image's end", ["@kludge-bss-below-end"], 2, r"bss_end_addr"),
    C("a.out kludge: loaded in low memory", ["@kludge-low"], 2, r"low memory"),

    # Bad images.
    C("empty file", ["@empty"], 2, r"empty"),
    C("3 bytes", ["@tiny"], 2, r"not an ELF"),
    C("truncated ELF header", ["@trunc-ehdr"], 2, r"truncated.*ELF header"),
    C("program headers cut", ["@trunc-phdr"], 2, r"truncated.*program header"),
    C("e_phoff beyond the file", ["@trunc-phoff"], 2, r"truncated.*program header"),
    C("segment data cut", ["@trunc-seg"], 2, r"truncated.*segment"),
    C("p_offset beyond the file", ["@seg-offset-huge"], 2, r"truncated.*segment"),
    C("ELF64 header", ["@elf64"], 2, r"32-bit"),
    C("x86-64 host binary /bin/true", ["/bin/true"], 2, r"32-bit"),
    C("ELF32 for x86-64", ["@machine-x86-64"], 2, r"machine.*not i386"),
    C("ELF32 for ARM", ["@machine-arm"], 2, r"machine.*not i386"),
    C("big-endian", ["@big-endian"], 2, r"little-endian"),
    C("ET_DYN", ["@et-dyn"], 2, r"not an executable"),
    C("ET_REL", ["@et-rel"], 2, r"not an executable"),
    C("no Multiboot header", ["@no-multiboot"], 2, r"no Multiboot header"),
    C("Multiboot header beyond 8 KiB", ["@multiboot-past-8k"], 2, r"no Multiboot header"),
    C("bad Multiboot checksum", ["@bad-checksum"], 2, r"checksum"),
    C("Multiboot video mode", ["@mb-video"], 2, r"video"),
    C("Multiboot unknown required flag", ["@mb-unknown-flag"], 2, r"unsupported features"),
    C("no program headers", ["@no-phdrs"], 2, r"program headers"),
    C("wrong e_phentsize", ["@bad-phentsize"], 2, r"program headers"),
    C("no PT_LOAD segment", ["@no-pt-load"], 2, r"no loadable segments"),
    C("segment outside RAM (-m 2M, linked at 16 MiB)", ["-m", "2M", "@at16m"], 2, r"outside guest RAM"),
    C("huge p_memsz", ["@huge-memsz"], 2, r"outside guest RAM"),
    C("segment wrapping at 4 GiB", ["@wrapping-seg"], 2, r"outside guest RAM"),
    C("p_filesz > p_memsz", ["@filesz-gt-memsz"], 2, r"filesz > memsz"),
    C("overlapping segments", ["@overlap"], 2, r"overlaps another segment"),
    C("two segments at one address", ["@overlap-same"], 2, r"overlaps another segment"),
    C("segment in low memory", ["@low-memory"], 2, r"low memory"),
    C("entry outside segments", ["@entry-outside"], 2, r"entry point.*not inside"),
    C("entry 0", ["@entry-zero"], 2, r"entry point.*not inside"),
    C("entry one past the segment", ["@entry-at-end"], 2, r"entry point.*not inside"),
    C("a directory", ["@dir"], 2, r"is a directory"),
    C("a missing file", ["@missing"], 2, r"cannot open.*No such file"),
    C("4 KiB of random bytes", ["@random"], 2, r"not an ELF"),
    C("64 KiB of random bytes", ["@random-big"], 2, r"not an ELF"),
    C("ELF magic then random bytes", ["@random-after-magic"], 2, r"ELF|truncated|Multiboot"),
    C("/dev/null", ["/dev/null"], 2, r"not a regular file"),

    # Bad arguments.
    C("no arguments", [], 2, r"no kernel \(or -bios ROM\) given", USAGE),
    C("-m 0", ["-m", "0", "@good"], 2, r"-m 0.*between", USAGE),
    C("-m -1", ["-m", "-1", "@good"], 2, r"bad -m value '-1'", USAGE),
    C("-m abc", ["-m", "abc", "@good"], 2, r"bad -m value 'abc'", USAGE),
    C("-m empty", ["-m", "", "@good"], 2, r"bad -m value", USAGE),
    C("-m 1.5G", ["-m", "1.5G", "@good"], 2, r"bad -m value", USAGE),
    C("-m 99999G", ["-m", "99999G", "@good"], 2, r"-m 99999G.*between", USAGE),
    C("-m 1M (too small)", ["-m", "1M", "@good"], 2, r"-m 1M.*between", USAGE),
    C("-m 4G (too big)", ["-m", "4G", "@good"], 2, r"-m 4G.*between", USAGE),
    C("-m 13 digits", ["-m", "1234567890123", "@good"], 2, r"-m 1234567890123: guest RAM must be", USAGE),
    C("-m missing value", ["@good", "-m"], 2, r"option -m needs a value", USAGE),
    C("-append missing value", ["@good", "-append"], 2, r"option -append needs a value", USAGE),
    C("-kernel missing value", ["-kernel"], 2, r"option -kernel needs a value", USAGE),
    C("-bios missing value", ["-bios"], 2, r"option -bios needs a value", USAGE),
    C("-bios and a kernel", ["-bios", "@rom", "@good"], 2, r"-bios runs the ROM alone", USAGE),
    C("-bios and -append", ["-append", "x", "-bios", "@rom"], 2, r"-bios runs the ROM alone", USAGE),
    C("-bios: size not a multiple of 64 KiB", ["-bios", "@rom-odd"], 2, r"multiple of 64 KiB"),
    C("-bios: 32 MiB", ["-bios", "@rom-32m"], 2, r"at most 16 MiB"),
    C("-bios: empty file", ["-bios", "@empty"], 2, r"empty file"),
    C("-bios: missing file", ["-bios", "@missing"], 2, r"cannot open"),
    C("-bios: a directory", ["-bios", "@dir"], 2, r"is a directory, not a BIOS image"),
    C("-d missing value", ["@good", "-d"], 2, r"option -d needs a value", USAGE),
    C("--max-insns missing value", ["@good", "--max-insns"], 2, r"option --max-insns needs a value", USAGE),
    C("--mode missing value", ["@good", "--mode"], 2, r"option --mode needs a value", USAGE),
    C("-gdb missing value", ["@good", "-gdb"], 2, r"option -gdb needs a value", USAGE),
    C("-gdb port too big", ["-gdb", "tcp::99999", "@good"], 2, r"bad -gdb 'tcp::99999'", USAGE),
    C("-gdb not tcp", ["-gdb", "udp::1234", "@good"], 2, r"bad -gdb 'udp::1234'", USAGE),
    C("-gdb no port", ["-gdb", "tcp:localhost:", "@good"], 2, r"bad -gdb", USAGE),
    C("unknown long option", ["--frobnicate", "@good"], 2, r"unknown option '--frobnicate'", USAGE),
    C("unknown short option", ["-x", "@good"], 2, r"unknown option '-x'", USAGE),
    C("lone dash", ["-", "@good"], 2, r"unknown option '-'", USAGE),
    C("two kernels", ["@good", "@hlt"], 2, r"more than one kernel", USAGE),
    C("-kernel and a positional kernel", ["-kernel", "@good", "@hlt"], 2, r"more than one kernel", USAGE),
    C("--max-insns 0", ["--max-insns", "0", "@good"], 2, r"bad --max-insns value '0'", USAGE),
    C("--max-insns abc", ["--max-insns", "abc", "@good"], 2, r"bad --max-insns value 'abc'", USAGE),
    C("--max-insns -5", ["--max-insns", "-5", "@good"], 2, r"bad --max-insns value '-5'", USAGE),
    C("--max-insns 20 digits", ["--max-insns", "99999999999999999999", "@good"], 2,
      r"bad --max-insns value", USAGE),
    C("-d bogus", ["-d", "bogus", "@good"], 2, r"unknown -d item 'bogus'", USAGE),
    C("-d in_asm,bogus", ["-d", "in_asm,bogus", "@good"], 2, r"unknown -d item 'bogus'", USAGE),
    C("-d empty item", ["-d", "in_asm,,int", "@good"], 2, r"unknown -d item ''", USAGE),
    C("--mode bogus", ["--mode", "bogus", "@good"], 2, r"unknown --mode 'bogus'", USAGE),
    C("-serial tcp:...", ["-serial", "tcp::4444", "@good"], 2, r"unsupported -serial 'tcp::4444'", USAGE),
    C("-serial file: without a path", ["-serial", "file:", "@good"], 2, r"unsupported -serial 'file:'", USAGE),
    C("-serial to an unwritable file", ["-serial", "file:/nonexistent-dir/s.txt", "@good"], 2,
      r"cannot open serial output '/nonexistent-dir/s.txt'", IMAGE),
    C("--clock bogus", ["--clock", "bogus", "@good"], 2, r"unknown --clock 'bogus'", USAGE),
    C("-rtc base=utc", ["-rtc", "base=utc", "@good"], 2, r"unsupported -rtc 'base=utc'", USAGE),
    C("-display gtk", ["-display", "gtk", "@good"], 2, r"unsupported -display 'gtk'", USAGE),
    C("--trace to an unwritable path", ["--trace", "/nonexistent-dir/t.jsonl", "@good"], 2,
      r"cannot write trace file /nonexistent-dir/t.jsonl", IMAGE),
    C("bad option before a bad image", ["--frobnicate", "@empty"], 2, r"unknown option", USAGE),

    # Help and version.
    C("--help", ["--help"], 0, r"^usage: btvm", HELP),
    C("-h", ["-h"], 0, r"^usage: btvm", HELP),
    C("--help with other arguments", ["--help", "@empty", "--frobnicate"], 0, r"^usage: btvm", HELP),
    C("--version", ["--version"], 0, r"^btvm \d+\.\d+", HELP),
    # Once known bugs, fixed: size and count overflow, non-regular files as kernels.
    C("-m 17179869185G (2^34+1 GiB would wrap to 1 GiB)", ["-m", "17179869185G", "@good"], 2, r"-m", USAGE),
    C("--host-mem 17179869185G (would wrap to 1 GiB)", ["--host-mem", "17179869185G", "@good"], 2, r"--host-mem",
      USAGE),
    C("-m 99999999999999999999 (> UINT64_MAX)", ["-m", "99999999999999999999", "@good"], 2, r"-m", USAGE),
    C("--max-insns 9999999999999999999 (> INT64_MAX: no limit in practice)",
      ["--max-insns", "9999999999999999999", "@good"], 33),
    C("/dev/zero", ["/dev/zero"], 2, r"not a regular file"),
    C("a FIFO", ["@fifo"], 2, r"not a regular file"),

    # A partial serial line is written whatever ends the run.
    C("partial line, debug exit", ["@ab-exit"], 33, stdout="ab"),
    C("partial line, halted", ["@ab-hlt"], 6, r"halted", stdout="ab"),
    C("partial line, instruction limit", ["--max-insns", "1000", "@ab-loop"], 8, r"instruction limit", stdout="ab"),
    C("partial line, triple fault", ["-no-reboot", "@ab-triple"], 4, r"triple fault", stdout="ab"),
    C("partial line, reset", ["-no-reboot", "@ab-reset"], 14, r"reset", stdout="ab"),
    C("partial line, power-off", ["@ab-poweroff"], 0, r"powered off", stdout="ab"),
    # Without -no-reboot a reset or triple fault boots the kernel again, as QEMU: each boot prints
    # "ab" again until the instruction limit ends the run.
    C("reset reboots", ["--max-insns", "2000", "@ab-reset"], 8, r"(?s)rebooting.*rebooting.*instruction limit",
      kind=RUN),
    C("triple fault reboots", ["--max-insns", "2000", "@ab-triple"], 8, r"(?s)triple fault.*rebooting", kind=RUN),
    # Unassigned memory reads all-ones, drops writes, is counted by region and logged by -d unimp.
    C("unassigned memory, --stats, -d unimp", ["--stats", "-d", "unimp", "@unassigned-mem"], 33,
      r"(?s)unassigned memory read of 4 bytes at 0xe0000000.*unassigned memory write of 4 bytes at 0xe0000000"
      r".*0xe0000000-0xe000ffff +1 reads, 1 writes", kind=RUN),
    # isa-debugcon.
    C("-debugcon stdio, moved port too", ["-debugcon", "stdio", "@debugcon"], 33, stdout="aXc"),
    C("-debugcon stdio, -global isa-debugcon.iobase=0x402", ["-debugcon", "stdio", "-global",
      "isa-debugcon.iobase=0x402", "@debugcon"], 35, stdout="aYc"),
    C("no -debugcon: port 0xe9 unassigned", ["@debugcon"], 35, stdout="ac"),
    C("-debugcon tcp:...", ["-debugcon", "tcp::1234", "@good"], 2, r"unsupported -debugcon 'tcp::1234'", USAGE),
    C("-global other.prop=1", ["-global", "other.prop=1", "@good"], 2, r"unsupported -global", USAGE),
    C("-global isa-debugcon.iobase=0x10000", ["-global", "isa-debugcon.iobase=0x10000", "@good"], 2,
      r"bad -global", USAGE),
]

# Rows that fail today because of btvm bugs, each with a note on what happens now.
KNOWN_BUGS = []


def make_files(tmp):
    paths = {"dir": tmp, "missing": os.path.join(tmp, "no-such-kernel.elf")}
    for name, data in IMAGES.items():
        p = os.path.join(tmp, name + ".elf")
        with open(p, "wb") as f:
            f.write(data)
        paths[name] = p
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    paths["fifo"] = fifo
    return paths


def limit_memory():
    # Bounds a runaway read (the /dev/zero row) instead of letting it eat the host's memory.
    # Only for rows that ask: an address-space limit breaks ASan builds (huge shadow mappings).
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def check(btvm, case, paths):
    args = [re.sub(r"@([\w-]+)", lambda m: paths.get(m.group(1), m.group(0)), a) for a in case["args"]]
    cmd = [btvm, *args]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=case["timeout"], stdin=subprocess.DEVNULL,
                           preexec_fn=limit_memory if case["memlimit"] else None)
    except subprocess.TimeoutExpired:
        return f"timed out after {case['timeout']} s", cmd, None
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    problems = []
    if p.returncode != case["status"]:
        problems.append(f"exit status {p.returncode}, want {case['status']}")
    kind, rx = case["kind"], case["regex"]
    lines = err.splitlines()
    if kind in (USAGE, IMAGE):
        if out:
            problems.append("stdout not empty")
        if kind == USAGE:
            if not lines or lines[-1] != HINT:
                problems.append(f"last stderr line is not {HINT!r}")
            else:
                lines = lines[:-1]
        elif lines and lines[-1] == HINT:
            lines = lines[:-1]
        if len(lines) != 1:
            problems.append(f"stderr has {len(lines)} message lines, want exactly 1")
        elif not re.match(r"(btvm|trace-diff): ", lines[0]):
            problems.append("message does not start with 'btvm: '")
        if lines and rx and not re.search(rx, lines[0], re.I):
            problems.append(f"message does not match /{rx}/")
    elif kind == HELP:
        if err:
            problems.append("stderr not empty")
        if not re.search(rx, out, re.M):
            problems.append(f"stdout does not match /{rx}/")
    else:  # RUN
        if rx and not re.search(rx, err, re.I):
            problems.append(f"stderr does not match /{rx}/")
        if not rx and err:
            problems.append("stderr not empty")
    if case["stdout"] is not None and out != case["stdout"]:
        problems.append(f"stdout {out!r}, want {case['stdout']!r}")
    return "; ".join(problems), cmd, (p.returncode, out, err)


def main():
    argv = sys.argv[1:]
    if not argv or argv[0].startswith("-"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    btvm = os.path.abspath(argv[0])
    known = "--known-bugs" in argv
    verbose = "-v" in argv
    only = argv[argv.index("-k") + 1] if "-k" in argv else None
    cases = KNOWN_BUGS if known else CASES
    if only:
        cases = [c for c in cases if only in c["name"]]
    tmp = tempfile.mkdtemp(prefix="btvm-cli-")
    failed = 0
    try:
        paths = make_files(tmp)
        for c in cases:
            problem, cmd, res = check(btvm, c, paths)
            shown = " ".join(repr(a) if (not a or " " in a) else a for a in cmd)
            if len(shown) > 200:
                shown = shown[:200] + "..."
            if problem:
                failed += 1
                print(f"FAIL {c['name']}: {problem}\n  command: {shown}")
                if c["note"]:
                    print(f"  known bug: {c['note']}")
                if res:
                    rc, out, err = res
                    print(f"  status {rc}\n  stderr: {err[:600]!r}\n  stdout: {out[:200]!r}")
            elif verbose:
                first = res[2].splitlines()[0] if res and res[2] else ""
                print(f"ok   {c['name']}: {res[0]} {first}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(cases) - failed} passed, {failed} failed ({'known-bug rows' if known else 'cli cases'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
