// What QEMU's fw_cfg tells firmware and guests about the -kernel, -initrd and -append it was
// given (its option ROMs load the kernel from these), filled in by the loaders. btvm loads the
// kernel itself, so these are for guests that look. Both kinds get the memory map as etc/e820.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "emu/boot/multiboot.h"
#include "emu/devices/fw_cfg.h"
#include "mmu/phys_memory.h"

namespace btvm {

// The memory map as QEMU's etc/e820 file: 20-byte entries (address, length, type).
std::vector<uint8_t> e820File(uint64_t ram_bytes);

// A Linux kernel: the command line, the real-mode setup and the protected-mode part (as
// QEMU splits the bzImage), the initrd. Throws ImageError if the initrd cannot be read.
void describeLinuxBoot(FwCfg& f, const std::vector<uint8_t>& kernel, const std::string& initrd_path,
                       const std::string& cmdline, uint64_t ram_bytes);

// A Multiboot kernel, as QEMU 7.2 gives one: no command line items (it is only in the Multiboot
// information), KERNEL_ENTRY, and the information structure as INITRD_ADDR/SIZE/DATA. The
// image itself (KERNEL_ADDR/SIZE/DATA, a buffer of QEMU's own layout) is left out.
void describeMultibootBoot(FwCfg& f, const MultibootEntry& e, PhysMemory& ram);

}  // namespace btvm
