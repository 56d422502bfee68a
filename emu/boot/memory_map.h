// The PC's physical memory map as firmware reports it (BIOS E820), shared by every loader: the
// Linux zero page and the Multiboot memory map describe the same machine.
#pragma once
#include <cstdint>
#include <vector>

namespace btvm {

namespace e820 {
constexpr uint32_t kRam = 1, kReserved = 2, kAcpi = 3;
}

struct E820Entry {
  uint64_t addr, len;
  uint32_t type;
};

// Low RAM below the EBDA, the EBDA and BIOS area (video hole and option ROMs included) reserved,
// RAM from 1 MiB to the end of guest RAM, and the BIOS ROM alias below 4 GiB reserved.
constexpr uint32_t kEbdaAddr = 0x9fc00;       // 1 KiB EBDA at the top of conventional memory
constexpr uint32_t kBiosAreaAddr = 0xe0000;   // firmware tables (RSDP, SMBIOS) live in E000-FFFF
std::vector<E820Entry> pcMemoryMap(uint64_t ram_bytes);

}  // namespace btvm
