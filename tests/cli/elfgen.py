"""Builds small Multiboot v1 ELF32 kernels, good and deliberately broken, for btvm's tests.

Every image is made here from a few parameters (python struct), so no binary is committed.
The default image is a valid kernel: one PT_LOAD segment at 1 MiB holding the Multiboot header
and CODE_EXIT33 (`mov al,0x10; out 0xf4,al; hlt`), so btvm runs it and exits with status 33.

Layout of the file: ELF header at 0, program headers at 0x34, segment data at 0x1000 (the
Multiboot header first, then the code), as `ld -T linker.ld` lays out the guests in guests/.
"""
import struct

EM_386, EM_X86_64, EM_ARM = 3, 62, 40
ET_EXEC, ET_DYN = 2, 3
PT_LOAD, PT_NOTE = 1, 4
MB_MAGIC = 0x1BADB002

LOAD_ADDR = 0x100000
DATA_OFF = 0x1000
MB_HDR_SIZE = 12

CODE_EXIT33 = bytes([0xB0, 0x10, 0xE6, 0xF4, 0xF4])             # mov al,0x10; out 0xf4,al; hlt
CODE_HLT = bytes([0xFA, 0xF4])                                  # cli; hlt
CODE_LOOP = bytes([0xEB, 0xFE])                                 # jmp $
CODE_TRIPLE = bytes([0xCC])                                     # int3 with an empty IDT
# mov eax,cr0; and al,~1; mov cr0,eax; then real mode, CS still a 32-bit segment: exit 33
CODE_REALMODE = bytes([0x0F, 0x20, 0xC0, 0x24, 0xFE, 0x0F, 0x22, 0xC0]) + CODE_EXIT33
CODE_UD = bytes([0x0F, 0x0B])                                   # ud2 with an empty IDT: triple fault


def multiboot_header(flags=0, checksum_ok=True):
    checksum = (-(MB_MAGIC + flags)) & 0xFFFFFFFF
    if not checksum_ok:
        checksum ^= 1
    return struct.pack("<III", MB_MAGIC, flags, checksum)


def segment(paddr=LOAD_ADDR, data=b"", memsz=None, offset=None, filesz=None, ptype=PT_LOAD, vaddr=None):
    """One program header. offset None: placed in the file after the previous segments.
    vaddr None: the same as paddr."""
    return {"paddr": paddr, "vaddr": paddr if vaddr is None else vaddr, "data": data, "memsz": len(data) if memsz is None else memsz,
            "offset": offset, "filesz": len(data) if filesz is None else filesz, "type": ptype}


def build(code=CODE_EXIT33, *, ei_class=1, ei_data=1, machine=EM_386, etype=ET_EXEC,
          load_addr=LOAD_ADDR, entry=None, mb=True, mb_flags=0, mb_checksum_ok=True,
          mb_offset=None, segments=None, extra_segments=(), phoff=0x34, phentsize=32, phnum=None,
          truncate=None):
    """Returns the bytes of an ELF image.

    By default: one PT_LOAD segment at load_addr with [multiboot header][code], entry at the code.
    segments: replaces that segment list (each from segment()); extra_segments: appended to it.
    mb_offset: put the Multiboot header at this file offset instead (outside any segment).
    phoff: file offset of the program header table (e_phoff).
    truncate: cut the file to this many bytes.
    """
    mbh = multiboot_header(mb_flags, mb_checksum_ok) if mb else b""
    if segments is None:
        first = mbh if mb_offset is None else b""
        segments = [segment(load_addr, first + code)]
        if entry is None:
            entry = load_addr + len(first)
    segments = list(segments) + list(extra_segments)
    if entry is None:
        entry = load_addr
    body = bytearray(DATA_OFF)
    phdrs = []
    for s in segments:
        off = s["offset"]
        if off is None:
            off = (len(body) + 15) & ~15
            body.extend(bytes(off - len(body)))
            body.extend(s["data"])
        phdrs.append(struct.pack("<IIIIIIII", s["type"], off, s.get("vaddr", s["paddr"]), s["paddr"],
                                 s["filesz"], s["memsz"], 7, 0x1000))
    if mb_offset is not None and mb:
        if len(body) < mb_offset + MB_HDR_SIZE:
            body.extend(bytes(mb_offset + MB_HDR_SIZE - len(body)))
        body[mb_offset:mb_offset + MB_HDR_SIZE] = mbh

    ident = b"\x7fELF" + bytes([ei_class, ei_data, 1, 0]) + bytes(8)
    fmt = "<" if ei_data != 2 else ">"
    ehdr = ident + struct.pack(fmt + "HHIIIIIHHHHHH", etype, machine, 1, entry, phoff, 0, 0,
                               52, phentsize, len(phdrs) if phnum is None else phnum, 40, 0, 0)
    table = b"".join(phdrs)
    body[0:len(ehdr)] = ehdr
    if phoff + len(table) <= DATA_OFF:
        body[phoff:phoff + len(table)] = table
    out = bytes(body)
    return out if truncate is None else out[:truncate]


KLUDGE = 0x10000


def kludge(code=CODE_EXIT33, *, load_addr=LOAD_ADDR, header_addr=None, load_end=0, bss_end=None,
           entry=None, lead=b""):
    """A non-ELF image using the Multiboot a.out kludge (header flag 16): `lead` bytes, the
    32-byte header with its address fields, then the code. By default the header is loaded at
    load_addr, the whole file is loaded, 4 KiB of bss follow, and the entry is the code."""
    hdr_off = len(lead)
    if header_addr is None:
        header_addr = load_addr + hdr_off
    if entry is None:
        entry = load_addr + hdr_off + 32
    if bss_end is None:
        bss_end = load_addr + hdr_off + 32 + len(code) + 0x1000
    fields = struct.pack("<IIIII", header_addr, load_addr, load_end, bss_end, entry)
    return lead + multiboot_header(KLUDGE) + fields + code
