// -bios FILE: a firmware ROM image, mapped as QEMU's pc maps one (mmu/phys_memory.h).
#pragma once
#include <string>

#include "mmu/phys_memory.h"

namespace btvm {

// Reads the image and maps it read-only below 4 GiB and below 1 MiB. Its size must be a
// nonzero multiple of 64 KiB (as QEMU requires) and at most PhysMemory::kMaxRomBytes. Throws
// ImageError with a one-line message.
void loadBiosImage(const std::string& path, PhysMemory& mem);

}  // namespace btvm
