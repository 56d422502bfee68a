#include "emu/boot/multiboot.h"

#include "emu/boot/image_file.h"

#include <elf.h>
#include <fmt/core.h>

#include <cstring>
#include <vector>

namespace btvm {

namespace {

constexpr uint32_t kMagic = 0x1badb002;
constexpr uint32_t kSearchBytes = 8192;
constexpr uint32_t kMbiAddr = 0x9000;     // below 640 KiB, as GRUB does
constexpr uint32_t kCmdlineAddr = 0x9100;
constexpr uint32_t kLowMemTop = 0xa0000;  // loaded segments must not overlap the MBI area

template <typename T>
T at(const std::vector<uint8_t>& d, uint64_t off, const std::string& path, const char* what) {
  if (off + sizeof(T) > d.size()) throw ImageError(fmt::format("{}: truncated ({} beyond end of file)", path, what));
  T v;
  std::memcpy(&v, d.data() + off, sizeof(T));
  return v;
}

}  // namespace

MultibootEntry loadMultibootElf(const std::string& path, PhysMemory& ram, const std::string& cmdline) {
  std::vector<uint8_t> d = readImageFile(path, "kernel image");
  if (d.size() < 4 || std::memcmp(d.data(), ELFMAG, SELFMAG) != 0)
    throw ImageError(fmt::format("{}: not an ELF file (Multiboot v1 ELF32 kernel expected)", path));
  auto eh = at<Elf32_Ehdr>(d, 0, path, "ELF header");
  if (eh.e_ident[EI_CLASS] != ELFCLASS32) throw ImageError(fmt::format("{}: not a 32-bit ELF (ELFCLASS64?)", path));
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) throw ImageError(fmt::format("{}: not a little-endian ELF", path));
  if (eh.e_machine != EM_386) throw ImageError(fmt::format("{}: ELF machine {} is not i386", path, eh.e_machine));
  if (eh.e_type != ET_EXEC) throw ImageError(fmt::format("{}: not an executable ELF (type {})", path, eh.e_type));

  // The Multiboot header: 4-byte aligned within the first 8 KiB, magic + flags + checksum == 0.
  int64_t hdr = -1;
  for (uint32_t off = 0; off + 12 <= d.size() && off < kSearchBytes; off += 4) {
    uint32_t w[3];
    std::memcpy(w, d.data() + off, 12);
    if (w[0] == kMagic) {
      if (uint32_t(w[0] + w[1] + w[2]) != 0)
        throw ImageError(fmt::format("{}: Multiboot header at offset {:#x} has a bad checksum", path, off));
      hdr = off;
      break;
    }
  }
  if (hdr < 0) throw ImageError(fmt::format("{}: no Multiboot header in the first 8 KiB", path));
  uint32_t flags = at<uint32_t>(d, uint64_t(hdr) + 4, path, "Multiboot flags");
  if (flags & 0x0000fff8u & ~0x10000u)
    throw ImageError(fmt::format("{}: Multiboot header requires unsupported features (flags {:#x})", path, flags));
  if (flags & 4) throw ImageError(fmt::format("{}: Multiboot video mode requests are not supported", path));

  if (eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum == 0)
    throw ImageError(fmt::format("{}: ELF has no usable program headers", path));
  struct Span { uint64_t lo, hi; };
  std::vector<Span> spans;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    auto ph = at<Elf32_Phdr>(d, uint64_t(eh.e_phoff) + uint64_t(i) * sizeof(Elf32_Phdr), path, "program header");
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    if (ph.p_filesz > ph.p_memsz) throw ImageError(fmt::format("{}: segment {} has filesz > memsz", path, i));
    uint64_t lo = ph.p_paddr, hi = uint64_t(ph.p_paddr) + ph.p_memsz;
    if (hi > ram.size())
      throw ImageError(fmt::format("{}: segment {} [{:#x}, {:#x}) lies outside guest RAM ({} MiB); try a larger -m",
                                   path, i, lo, hi, ram.size() >> 20));
    if (lo < kLowMemTop) throw ImageError(fmt::format("{}: segment {} at {:#x} overlaps low memory (below 640 KiB)", path, i, lo));
    if (uint64_t(ph.p_offset) + ph.p_filesz > d.size())
      throw ImageError(fmt::format("{}: truncated (segment {} extends beyond end of file)", path, i));
    for (const Span& s : spans)
      if (lo < s.hi && s.lo < hi) throw ImageError(fmt::format("{}: segment {} overlaps another segment", path, i));
    spans.push_back({lo, hi});
    ram.copyIn(lo, d.data() + ph.p_offset, ph.p_filesz);
    ram.fill(lo + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
  }
  if (spans.empty()) throw ImageError(fmt::format("{}: no loadable segments", path));
  bool entry_ok = false;
  for (const Span& s : spans) entry_ok |= eh.e_entry >= s.lo && eh.e_entry < s.hi;
  if (!entry_ok) throw ImageError(fmt::format("{}: entry point {:#x} is not inside a loaded segment", path, eh.e_entry));

  // Multiboot information: flags (mem_*, cmdline), lower and upper memory in KiB.
  std::string cl = cmdline.substr(0, 0x6ff);
  ram.copyIn(kCmdlineAddr, cl.c_str(), cl.size() + 1);
  ram.fill(kMbiAddr, 0, 0x58);
  ram.write32(kMbiAddr + 0, 0x1 | 0x4);
  ram.write32(kMbiAddr + 4, 640);
  ram.write32(kMbiAddr + 8, uint32_t((ram.size() - 0x100000) >> 10));
  ram.write32(kMbiAddr + 16, kCmdlineAddr);
  return MultibootEntry{eh.e_entry, kMbiAddr};
}

}  // namespace btvm
