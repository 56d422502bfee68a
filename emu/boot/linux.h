// The Linux/x86 boot protocol (Documentation/arch/x86/boot.rst) as a boot loader that enters the
// kernel through its 32-bit entry point: bzImage checks, the protected-mode kernel at its load
// address, the zero page (struct boot_params) filled as a loader fills it, initrd and command line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "emu/boot/image_file.h"
#include "mmu/phys_memory.h"

namespace btvm {

// A bzImage: the boot sector's 0xAA55 and the "HdrS" setup-header magic.
bool isLinuxBzImage(const std::vector<uint8_t>& image);

struct LinuxEntry {
  uint32_t entry;        // EIP: the 32-bit entry (code32_start)
  uint32_t boot_params;  // ESI: guest physical address of the zero page
};

// Throws ImageError (one line). `initrd` may be empty (no initrd).
LinuxEntry loadLinux(const std::string& path, const std::vector<uint8_t>& image, const std::string& initrd_path,
                     const std::string& cmdline, PhysMemory& ram);

}  // namespace btvm
