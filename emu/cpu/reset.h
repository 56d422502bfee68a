// The CPU as RESET leaves it (SDM vol. 3 9.1, table 9-1): what a machine started from the reset
// vector (-bios) finds. The loaders (Multiboot, Linux) start later, in protected mode, instead.
#pragma once
#include <cstdint>

#include "emu/cpu/cpu_state.h"

namespace btvm {

// Real mode at F000:FFF0 with CS.base 0xFFFF0000, so the first fetch is at 0xFFFFFFF0 (the
// top of the ROM) until the first far jump loads CS the real-mode way. Every other segment:
// selector 0, base 0, limit 0xFFFF; GDTR and IDTR base 0, limit 0xFFFF; CR0 0x60000010
// (CD, NW, ET); EFLAGS 0x2; EDX the processor signature (`signature`, CPUID.1:EAX), every other
// register 0; DR6 0xFFFF0FF0, DR7 0x400; the x87 at its RESET state.
void resetCpu(CpuState& c, uint32_t signature);

}  // namespace btvm
