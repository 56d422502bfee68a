#include "emu/boot/linux.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "emu/boot/memory_map.h"

namespace btvm {

namespace {

// Offsets in the boot sector / zero page (struct boot_params and its embedded setup_header).
namespace bp {
constexpr uint32_t kExtMemK = 0x002, kAltMemK = 0x1e0, kE820Entries = 0x1e8, kSentinel = 0x1ef;
constexpr uint32_t kSetupSects = 0x1f1, kBootFlag = 0x1fe, kJump = 0x200, kHeader = 0x202, kVersion = 0x206;
constexpr uint32_t kTypeOfLoader = 0x210, kLoadFlags = 0x211, kCode32Start = 0x214, kRamdiskImage = 0x218,
                   kRamdiskSize = 0x21c, kHeapEndPtr = 0x224, kCmdLinePtr = 0x228, kInitrdAddrMax = 0x22c,
                   kCmdlineSize = 0x238, kE820Table = 0x2d0;
constexpr unsigned kE820Max = 128;
}  // namespace bp

constexpr uint8_t kLoadedHigh = 0x01, kCanUseHeap = 0x80;
constexpr uint16_t kMinVersion = 0x0206;     // cmdline_size and a 32-bit entry we can trust
constexpr uint32_t kZeroPage = 0x10000;      // where a 16-bit loader would put the setup code
constexpr uint32_t kCmdlineAddr = 0x20000;
constexpr uint32_t kKernelAddr = 0x100000;

uint32_t get(const std::vector<uint8_t>& d, uint32_t off, unsigned size) {
  uint32_t v = 0;
  std::memcpy(&v, d.data() + off, size);
  return v;
}

}  // namespace

bool isLinuxBzImage(const std::vector<uint8_t>& d) {
  return d.size() >= 0x400 && get(d, bp::kBootFlag, 2) == 0xaa55 && std::memcmp(d.data() + bp::kHeader, "HdrS", 4) == 0;
}

LinuxEntry loadLinux(const std::string& path, const std::vector<uint8_t>& d, const std::string& initrd_path,
                     const std::string& cmdline, PhysMemory& ram) {
  auto fail = [&](const std::string& why) { return ImageError(fmt::format("{}: {}", path, why)); };
  if (!isLinuxBzImage(d)) throw fail("not a Linux bzImage");
  uint32_t version = get(d, bp::kVersion, 2);
  if (version < kMinVersion)
    throw fail(fmt::format("Linux boot protocol {}.{:02} is older than 2.06", version >> 8, version & 0xff));
  if (!(d[bp::kLoadFlags] & kLoadedHigh)) throw fail("a zImage (loaded low) is not supported, only bzImage");
  uint32_t setup_sects = d[bp::kSetupSects] ? d[bp::kSetupSects] : 4;
  uint64_t kernel_off = uint64_t(setup_sects + 1) * 512;
  if (kernel_off >= d.size()) throw fail("truncated (no protected-mode kernel after the setup code)");
  uint64_t kernel_len = d.size() - kernel_off;
  uint32_t entry = get(d, bp::kCode32Start, 4);
  if (entry != kKernelAddr) entry = kKernelAddr;  // a bzImage runs from where the loader put it
  if (kernel_len > ram.size() || kKernelAddr + kernel_len > ram.size())
    throw fail(fmt::format("kernel ({} KiB) does not fit in guest RAM ({} MiB); try a larger -m", kernel_len >> 10,
                           ram.size() >> 20));
  ram.copyIn(kKernelAddr, d.data() + kernel_off, kernel_len);

  // The zero page: cleared, then the setup header copied from the image as the protocol asks
  // (from setup_sects to the end given by the jump at 0x200), then the loader's own fields.
  ram.fill(kZeroPage, 0, 4096);
  uint32_t hdr_end = std::min<uint32_t>(0x202 + d[bp::kJump + 1], 0x400);
  ram.copyIn(kZeroPage + bp::kSetupSects, d.data() + bp::kSetupSects, hdr_end - bp::kSetupSects);
  ram.write8(kZeroPage + bp::kSentinel, 0);
  ram.write8(kZeroPage + bp::kTypeOfLoader, 0xff);  // a loader without an assigned ID
  ram.write8(kZeroPage + bp::kLoadFlags, uint8_t((d[bp::kLoadFlags] | kCanUseHeap) & ~0x40));  // no KEEP_SEGMENTS
  ram.write32(kZeroPage + bp::kCode32Start, entry);
  ram.write8(kZeroPage + bp::kHeapEndPtr, 0);

  uint32_t cmdline_max = get(d, bp::kCmdlineSize, 4);
  if (cmdline_max == 0 || cmdline_max > 0xffff) cmdline_max = 0x7ff;
  if (cmdline.size() > cmdline_max)
    throw ImageError(fmt::format("-append: command line of {} bytes exceeds the kernel's limit of {}", cmdline.size(),
                                 cmdline_max));
  ram.copyIn(kCmdlineAddr, cmdline.c_str(), cmdline.size() + 1);
  ram.write32(kZeroPage + bp::kCmdLinePtr, kCmdlineAddr);

  uint64_t ext_k = ram.size() > 0x100000 ? (ram.size() - 0x100000) >> 10 : 0;
  ram.write32(kZeroPage + bp::kAltMemK, uint32_t(ext_k));
  uint16_t ext_k16 = uint16_t(std::min<uint64_t>(ext_k, 0xfc00));  // the BIOS's INT 15h AH=88h answer
  ram.copyIn(kZeroPage + bp::kExtMemK, &ext_k16, 2);

  std::vector<E820Entry> map = pcMemoryMap(ram.size());
  if (map.size() > bp::kE820Max) map.resize(bp::kE820Max);
  for (size_t i = 0; i < map.size(); ++i) {
    uint32_t at = kZeroPage + bp::kE820Table + uint32_t(i) * 20;
    ram.write32(at + 0, uint32_t(map[i].addr));
    ram.write32(at + 4, uint32_t(map[i].addr >> 32));
    ram.write32(at + 8, uint32_t(map[i].len));
    ram.write32(at + 12, uint32_t(map[i].len >> 32));
    ram.write32(at + 16, map[i].type);
  }
  ram.write8(kZeroPage + bp::kE820Entries, uint8_t(map.size()));

  if (!initrd_path.empty()) {
    std::vector<uint8_t> rd = readImageFile(initrd_path, "initrd");
    // As high as the kernel allows and RAM holds, page aligned, clear of the kernel image.
    uint64_t max = uint64_t(get(d, bp::kInitrdAddrMax, 4)) + 1;
    uint64_t top = std::min<uint64_t>(max, ram.size()) & ~uint64_t(kPageMask);
    uint64_t kernel_end = (kKernelAddr + kernel_len + kPageMask) & ~uint64_t(kPageMask);
    if (rd.size() > top || ((top - rd.size()) & ~uint64_t(kPageMask)) < kernel_end)
      throw ImageError(fmt::format("{}: initrd of {} KiB does not fit below {:#x} next to the kernel; try a larger -m",
                                   initrd_path, rd.size() >> 10, top));
    uint64_t at = (top - rd.size()) & ~uint64_t(kPageMask);
    ram.copyIn(at, rd.data(), rd.size());
    ram.write32(kZeroPage + bp::kRamdiskImage, uint32_t(at));
    ram.write32(kZeroPage + bp::kRamdiskSize, uint32_t(rd.size()));
  }
  return LinuxEntry{entry, kZeroPage};
}

}  // namespace btvm
