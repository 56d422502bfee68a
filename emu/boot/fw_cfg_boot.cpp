#include "emu/boot/fw_cfg_boot.h"

#include <algorithm>
#include <cstring>

#include "emu/boot/image_file.h"
#include "emu/boot/memory_map.h"

namespace btvm {

// Entries of 20 bytes: address, length (64-bit) and type, little-endian, as QEMU's etc/e820.
std::vector<uint8_t> e820File(uint64_t ram_bytes) {
  std::vector<uint8_t> out;
  for (const E820Entry& e : pcMemoryMap(ram_bytes)) {
    uint8_t raw[20];
    std::memcpy(raw, &e.addr, 8);
    std::memcpy(raw + 8, &e.len, 8);
    std::memcpy(raw + 16, &e.type, 4);
    out.insert(out.end(), raw, raw + 20);
  }
  return out;
}

void describeLinuxBoot(FwCfg& f, const std::vector<uint8_t>& kernel, const std::string& initrd_path,
                       const std::string& cmdline, uint64_t ram_bytes) {
  using namespace fw_cfg;
  f.setU32(kCmdlineSize, uint32_t(cmdline.size() + 1));
  f.setString(kCmdlineData, cmdline);
  unsigned sects = kernel.size() > 0x1f1 && kernel[0x1f1] ? kernel[0x1f1] : 4;
  size_t setup = std::min(kernel.size(), size_t(sects + 1) * 512);
  f.setU32(kSetupSize, uint32_t(setup));
  f.setItem(kSetupData, std::vector<uint8_t>(kernel.begin(), kernel.begin() + long(setup)));
  f.setU32(kKernelAddr, 0x100000);
  f.setU32(kKernelSize, uint32_t(kernel.size() - setup));
  f.setItem(kKernelData, std::vector<uint8_t>(kernel.begin() + long(setup), kernel.end()));
  if (!initrd_path.empty()) {
    std::vector<uint8_t> initrd = readImageFile(initrd_path, "initrd");
    f.setU32(kInitrdSize, uint32_t(initrd.size()));
    f.setItem(kInitrdData, std::move(initrd));
  }
  f.addFile("etc/e820", e820File(ram_bytes));
}

void describeMultibootBoot(FwCfg& f, const MultibootEntry& e, PhysMemory& ram) {
  using namespace fw_cfg;
  constexpr uint32_t kInfoSize = 88;  // the Multiboot v1 information structure
  std::vector<uint8_t> info(kInfoSize);
  for (uint32_t i = 0; i < kInfoSize; ++i) info[i] = ram.read8(e.mbi + i);
  f.setU32(kKernelEntry, e.entry);
  f.setU32(kInitrdAddr, e.mbi);
  f.setU32(kInitrdSize, kInfoSize);
  f.setItem(kInitrdData, std::move(info));
  f.addFile("etc/e820", e820File(ram.size()));
}

}  // namespace btvm
