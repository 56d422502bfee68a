// Multiboot v1 loading, filling what GRUB and QEMU give a kernel: ELF32 kernels (entry point
// translated from virtual to physical through the program headers) or any image with the a.out
// kludge (header flag 16), modules, the command line "KERNEL_PATH ARGS", the memory map, the
// boot loader name, and the entry state the specification defines. The information structure,
// its strings and the modules go above the highest loaded byte, page aligned, as QEMU places
// them, so nothing the kernel loaded can overlap them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "emu/boot/image_file.h"

#include "mmu/phys_memory.h"

namespace btvm {

struct MultibootEntry {
  uint32_t entry;     // EIP
  uint32_t mbi;       // EBX: guest physical address of the multiboot information
};

struct MultibootModule {
  std::string path;     // the file
  std::string cmdline;  // the whole item, path and arguments, as QEMU passes it
};

// QEMU's -initrd syntax for Multiboot: modules separated by ',' (",," is a literal comma), each
// "FILE [ARGS...]". An empty string means no modules.
std::vector<MultibootModule> parseMultibootModules(const std::string& spec);

// Throws ImageError. `append` is -append: the kernel receives "PATH APPEND". `modules` is -initrd.
MultibootEntry loadMultibootKernel(const std::string& path, PhysMemory& ram, const std::string& append,
                                   const std::string& modules);

}  // namespace btvm
