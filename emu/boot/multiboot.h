// Multiboot v1 loading of ELF32 kernels: header search and checks, program headers copied into
// guest RAM, the Multiboot information structure, and the entry state the specification defines.
#pragma once
#include <cstdint>
#include <string>

#include "emu/boot/image_file.h"

#include "mmu/phys_memory.h"

namespace btvm {


struct MultibootEntry {
  uint32_t entry;     // EIP
  uint32_t mbi;       // EBX: guest physical address of the multiboot information
};

// Throws ImageError. `cmdline` is passed to the kernel in the information structure.
MultibootEntry loadMultibootElf(const std::string& path, PhysMemory& ram, const std::string& cmdline);

}  // namespace btvm
