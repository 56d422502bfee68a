// Multiboot v1 loading of ELF32 kernels: header search and checks, program headers copied into
// guest RAM, the Multiboot information structure, and the entry state the specification defines.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "mmu/phys_memory.h"

namespace btvm {

// A kernel image btvm cannot load; the message is one line naming the problem.
struct ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct MultibootEntry {
  uint32_t entry;     // EIP
  uint32_t mbi;       // EBX: guest physical address of the multiboot information
};

// Throws ImageError. `cmdline` is passed to the kernel in the information structure.
MultibootEntry loadMultibootElf(const std::string& path, PhysMemory& ram, const std::string& cmdline);

}  // namespace btvm
