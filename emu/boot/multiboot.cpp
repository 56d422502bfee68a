#include "emu/boot/multiboot.h"

#include <elf.h>
#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "emu/boot/memory_map.h"

namespace btvm {

namespace {

constexpr uint32_t kMagic = 0x1badb002;
constexpr uint32_t kSearchBytes = 8192;
constexpr uint32_t kLowMemTop = 0xa0000;  // below: IVT, BDA, btvm's GDT and stack, EBDA
constexpr uint32_t kKludge = 1u << 16;    // header flag: the address fields are valid

// Header flags btvm honours: 0 (page-align modules: always done), 1 (memory info: always
// given), 16 (address fields). Bit 2 (video mode) is refused; other bits below 16 are required
// features nobody defined, so the image cannot be loaded.
constexpr uint32_t kKnownRequired = 0x3;

// Information structure flags and offsets (Multiboot 0.6.96, section 3.3).
namespace mbi {
constexpr uint32_t kMem = 1u << 0, kBootDevice = 1u << 1, kCmdline = 1u << 2, kMods = 1u << 3, kMmap = 1u << 6,
                   kLoaderName = 1u << 9;
constexpr uint32_t kFlags = 0, kMemLower = 4, kMemUpper = 8, kBootDev = 12, kCmdlineAddr = 16, kModsCount = 20,
                   kModsAddr = 24, kMmapLength = 44, kMmapAddr = 48, kLoaderNameAddr = 64;
constexpr uint32_t kSize = 0x80;  // through the VBE and framebuffer fields, all left zero
}  // namespace mbi

constexpr uint32_t pageUp(uint64_t v) { return uint32_t((v + kPageMask) & ~uint64_t(kPageMask)); }

template <typename T>
T at(const std::vector<uint8_t>& d, uint64_t off, const std::string& path, const char* what) {
  if (off + sizeof(T) > d.size()) throw ImageError(fmt::format("{}: truncated ({} beyond end of file)", path, what));
  T v;
  std::memcpy(&v, d.data() + off, sizeof(T));
  return v;
}

struct Loaded {
  uint32_t entry;
  uint64_t top;  // one past the highest byte loaded (bss included)
};

// The Multiboot header: 4-byte aligned within the first 8 KiB, magic + flags + checksum == 0.
// Returns its offset, or -1.
int64_t findHeader(const std::vector<uint8_t>& d, const std::string& path) {
  for (uint32_t off = 0; off + 12 <= d.size() && off < kSearchBytes; off += 4) {
    uint32_t w[3];
    std::memcpy(w, d.data() + off, 12);
    if (w[0] != kMagic) continue;
    if (uint32_t(w[0] + w[1] + w[2]) != 0)
      throw ImageError(fmt::format("{}: Multiboot header at offset {:#x} has a bad checksum", path, off));
    return off;
  }
  return -1;
}

void checkRange(const std::string& path, const char* what, uint64_t lo, uint64_t hi, const PhysMemory& ram) {
  if (hi > ram.size())
    throw ImageError(fmt::format("{}: {} [{:#x}, {:#x}) lies outside guest RAM ({} MiB); try a larger -m", path, what,
                                 lo, hi, ram.size() >> 20));
  if (lo < kLowMemTop) throw ImageError(fmt::format("{}: {} at {:#x} overlaps low memory (below 640 KiB)", path, what, lo));
}

// Header flag 16: load [load_addr, load_end_addr) from the file position that puts the header at
// header_addr, clear to bss_end_addr, enter at entry_addr. The file need not be ELF.
Loaded loadKludge(const std::vector<uint8_t>& d, uint32_t hdr, const std::string& path, PhysMemory& ram) {
  uint32_t header_addr = at<uint32_t>(d, hdr + 12, path, "Multiboot address fields");
  uint32_t load_addr = at<uint32_t>(d, hdr + 16, path, "Multiboot address fields");
  uint32_t load_end = at<uint32_t>(d, hdr + 20, path, "Multiboot address fields");
  uint32_t bss_end = at<uint32_t>(d, hdr + 24, path, "Multiboot address fields");
  uint32_t entry = at<uint32_t>(d, hdr + 28, path, "Multiboot address fields");
  if (header_addr < load_addr || header_addr - load_addr > hdr)
    throw ImageError(fmt::format("{}: Multiboot header_addr {:#x} and load_addr {:#x} put the image before the file's start",
                                 path, header_addr, load_addr));
  uint64_t file_off = hdr - (header_addr - load_addr);
  uint64_t size = load_end ? uint64_t(load_end) - load_addr : d.size() - file_off;
  if (load_end && load_end < load_addr)
    throw ImageError(fmt::format("{}: Multiboot load_end_addr {:#x} is below load_addr {:#x}", path, load_end, load_addr));
  if (file_off + size > d.size())
    throw ImageError(fmt::format("{}: truncated (Multiboot load_end_addr {:#x} beyond end of file)", path, load_end));
  uint64_t end = uint64_t(load_addr) + size;
  uint64_t top = end;
  if (bss_end) {
    if (bss_end < end)
      throw ImageError(fmt::format("{}: Multiboot bss_end_addr {:#x} is below the loaded image's end {:#x}", path, bss_end, end));
    top = bss_end;
  }
  checkRange(path, "image", load_addr, top, ram);
  if (entry < load_addr || entry >= top)
    throw ImageError(fmt::format("{}: entry point {:#x} is not inside the loaded image", path, entry));
  ram.copyIn(load_addr, d.data() + file_off, size);
  ram.fill(end, 0, top - end);
  return {entry, top};
}

Elf32_Ehdr elfHeader(const std::vector<uint8_t>& d, const std::string& path) {
  auto eh = at<Elf32_Ehdr>(d, 0, path, "ELF header");
  if (eh.e_ident[EI_CLASS] != ELFCLASS32) throw ImageError(fmt::format("{}: not a 32-bit ELF (ELFCLASS64?)", path));
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) throw ImageError(fmt::format("{}: not a little-endian ELF", path));
  if (eh.e_machine != EM_386) throw ImageError(fmt::format("{}: ELF machine {} is not i386", path, eh.e_machine));
  if (eh.e_type != ET_EXEC) throw ImageError(fmt::format("{}: not an executable ELF (type {})", path, eh.e_type));
  return eh;
}

Loaded loadElf(const std::vector<uint8_t>& d, const std::string& path, PhysMemory& ram) {
  Elf32_Ehdr eh = elfHeader(d, path);
  if (eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum == 0)
    throw ImageError(fmt::format("{}: ELF has no usable program headers", path));
  struct Span { uint64_t lo, hi, vaddr; };
  std::vector<Span> spans;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    auto ph = at<Elf32_Phdr>(d, uint64_t(eh.e_phoff) + uint64_t(i) * sizeof(Elf32_Phdr), path, "program header");
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    if (ph.p_filesz > ph.p_memsz) throw ImageError(fmt::format("{}: segment {} has filesz > memsz", path, i));
    uint64_t lo = ph.p_paddr, hi = uint64_t(ph.p_paddr) + ph.p_memsz;
    checkRange(path, fmt::format("segment {}", i).c_str(), lo, hi, ram);
    if (uint64_t(ph.p_offset) + ph.p_filesz > d.size())
      throw ImageError(fmt::format("{}: truncated (segment {} extends beyond end of file)", path, i));
    for (const Span& s : spans)
      if (lo < s.hi && s.lo < hi) throw ImageError(fmt::format("{}: segment {} overlaps another segment", path, i));
    spans.push_back({lo, hi, ph.p_vaddr});
    ram.copyIn(lo, d.data() + ph.p_offset, ph.p_filesz);
    ram.fill(lo + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
  }
  if (spans.empty()) throw ImageError(fmt::format("{}: no loadable segments", path));
  // e_entry is a virtual address; the CPU starts with paging off, so enter at the physical
  // address of the segment that holds it (for most kernels the two are equal).
  Loaded r{0, 0};
  bool entry_ok = false;
  for (const Span& s : spans) {
    r.top = std::max(r.top, s.hi);
    if (!entry_ok && eh.e_entry >= s.vaddr && eh.e_entry < s.vaddr + (s.hi - s.lo)) {
      r.entry = uint32_t(s.lo + (eh.e_entry - s.vaddr));
      entry_ok = true;
    }
  }
  if (!entry_ok) throw ImageError(fmt::format("{}: entry point {:#x} is not inside a loaded segment", path, eh.e_entry));
  return r;
}

// Bump allocator for the area above the kernel: modules, then the information structure.
struct Placer {
  PhysMemory& ram;
  uint64_t next;
  uint32_t take(uint64_t bytes, const std::string& what) {
    uint64_t at = next;
    if (at + bytes > ram.size())
      throw ImageError(fmt::format("{} does not fit in guest RAM above the kernel ({} MiB); try a larger -m", what,
                                   ram.size() >> 20));
    next = at + bytes;
    return uint32_t(at);
  }
  uint32_t string(const std::string& s, const char* what) {
    uint32_t at = take(s.size() + 1, what);
    ram.copyIn(at, s.c_str(), s.size() + 1);
    return at;
  }
};

}  // namespace

std::vector<MultibootModule> parseMultibootModules(const std::string& spec) {
  std::vector<MultibootModule> mods;
  if (spec.empty()) return mods;
  std::string item;
  for (size_t i = 0; i <= spec.size(); ++i) {
    if (i < spec.size() && spec[i] == ',' && i + 1 < spec.size() && spec[i + 1] == ',') {
      item += ',';
      ++i;
    } else if (i == spec.size() || spec[i] == ',') {
      mods.push_back({item.substr(0, item.find(' ')), item});
      item.clear();
    } else {
      item += spec[i];
    }
  }
  return mods;
}

MultibootEntry loadMultibootKernel(const std::string& path, PhysMemory& ram, const std::string& append,
                                   const std::string& modules) {
  std::vector<uint8_t> d = readImageFile(path, "kernel image");
  int64_t hdr = findHeader(d, path);
  uint32_t flags = hdr >= 0 ? at<uint32_t>(d, uint64_t(hdr) + 4, path, "Multiboot flags") : 0;
  bool is_elf = d.size() >= 4 && std::memcmp(d.data(), ELFMAG, SELFMAG) == 0;
  if (!is_elf && !(hdr >= 0 && (flags & kKludge)))
    throw ImageError(fmt::format("{}: not an ELF file (Multiboot v1 ELF32 kernel expected)", path));
  if (is_elf && !(flags & kKludge)) elfHeader(d, path);  // a wrong kind of ELF says so before the header does
  if (hdr < 0) throw ImageError(fmt::format("{}: no Multiboot header in the first 8 KiB", path));
  if (flags & 4) throw ImageError(fmt::format("{}: Multiboot video mode requests are not supported", path));
  if (flags & 0xffffu & ~kKnownRequired)
    throw ImageError(fmt::format("{}: Multiboot header requires unsupported features (flags {:#x})", path, flags));

  // As QEMU does: the address fields win whenever flag 16 is set, ELF or not.
  Loaded k = (flags & kKludge) ? loadKludge(d, uint32_t(hdr), path, ram) : loadElf(d, path, ram);

  Placer place{ram, pageUp(k.top)};
  std::vector<MultibootModule> mods = parseMultibootModules(modules);
  std::vector<uint32_t> mod_at, mod_end;
  for (const MultibootModule& m : mods) {
    if (m.path.empty()) throw ImageError(fmt::format("-initrd '{}': a module without a file name", modules));
    std::vector<uint8_t> data = readImageFile(m.path, "Multiboot module");
    uint32_t a = place.take(data.size(), fmt::format("{}: Multiboot module", m.path));
    ram.copyIn(a, data.data(), data.size());
    mod_at.push_back(a);
    mod_end.push_back(uint32_t(a + data.size()));
    place.next = pageUp(place.next);  // header flag 0 asks for page-aligned modules; always given
  }

  const char* what = "the Multiboot information";
  uint32_t info = place.take(mbi::kSize, what);
  ram.fill(info, 0, mbi::kSize);
  uint32_t mods_addr = place.take(16 * mods.size(), what);
  std::vector<E820Entry> map = pcMemoryMap(ram.size());
  uint32_t mmap_addr = place.take(24 * map.size(), what);
  for (size_t i = 0; i < map.size(); ++i) {  // size (of the rest), base, length, type
    uint32_t e = mmap_addr + uint32_t(i) * 24;
    ram.write32(e + 0, 20);
    ram.write32(e + 4, uint32_t(map[i].addr));
    ram.write32(e + 8, uint32_t(map[i].addr >> 32));
    ram.write32(e + 12, uint32_t(map[i].len));
    ram.write32(e + 16, uint32_t(map[i].len >> 32));
    ram.write32(e + 20, map[i].type);
  }
  for (size_t i = 0; i < mods.size(); ++i) {  // mod_start, mod_end, string, reserved
    uint32_t e = mods_addr + uint32_t(i) * 16;
    ram.write32(e + 0, mod_at[i]);
    ram.write32(e + 4, mod_end[i]);
    ram.write32(e + 8, place.string(mods[i].cmdline, what));
    ram.write32(e + 12, 0);
  }
  ram.write32(info + mbi::kFlags, mbi::kMem | mbi::kBootDevice | mbi::kCmdline | mbi::kMods | mbi::kMmap | mbi::kLoaderName);
  ram.write32(info + mbi::kMemLower, 640);
  ram.write32(info + mbi::kMemUpper, uint32_t((ram.size() - 0x100000) >> 10));
  ram.write32(info + mbi::kBootDev, 0x8000ffff);  // first hard disk, no partition: what QEMU says
  ram.write32(info + mbi::kCmdlineAddr, place.string(path + " " + append, what));
  ram.write32(info + mbi::kModsCount, uint32_t(mods.size()));
  ram.write32(info + mbi::kModsAddr, mods_addr);
  ram.write32(info + mbi::kMmapLength, uint32_t(24 * map.size()));
  ram.write32(info + mbi::kMmapAddr, mmap_addr);
  ram.write32(info + mbi::kLoaderNameAddr, place.string("btvm", what));
  return MultibootEntry{k.entry, info};
}

}  // namespace btvm
