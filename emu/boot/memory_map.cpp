#include "emu/boot/memory_map.h"

namespace btvm {

std::vector<E820Entry> pcMemoryMap(uint64_t ram_bytes) {
  std::vector<E820Entry> m;
  m.push_back({0, kEbdaAddr, e820::kRam});
  m.push_back({kEbdaAddr, 0xa0000 - kEbdaAddr, e820::kReserved});
  // A000-DFFF is the VGA window and option ROMs: nothing is reported there, as on SeaBIOS.
  m.push_back({kBiosAreaAddr, 0x100000 - kBiosAreaAddr, e820::kReserved});
  if (ram_bytes > 0x100000) m.push_back({0x100000, ram_bytes - 0x100000, e820::kRam});
  m.push_back({0xfffc0000, 0x40000, e820::kReserved});
  return m;
}

}  // namespace btvm
