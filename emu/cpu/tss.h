// The task-state segment as the CPU reads it outside task switches (SDM vol. 3 7.2.1, 7.6,
// 18.5.2): the inner-level stacks for call gates and interrupt gates, and the I/O permission
// bitmap. Both 32-bit (types 9/0xB) and 16-bit (types 1/3) TSSs.
#pragma once
#include <cstdint>

#include "emu/vm.h"

namespace btvm {

// Type field of a TSS descriptor (system descriptors: S = 0).
inline bool isTssType(uint32_t type) { return type == 1 || type == 3 || type == 9 || type == 0xb; }
inline bool isTss32Type(uint32_t type) { return type == 9 || type == 0xb; }
inline bool isBusyTssType(uint32_t type) { return type == 3 || type == 0xb; }

// The stack for privilege level `cpl` (< CPL) from the current TSS: ESPn/SSn at 4+8n/8+8n in a
// 32-bit TSS, SPn/SSn at 2+4n/4+4n in a 16-bit one, checked as a stack of that level. Faults:
// #TS(TR) when the slot lies beyond the TSS limit, #TS(SS) for a null, out-of-table or unusable
// SS, #SS(SS) when it is not present; `ext` (0 or 1) is the EXT bit of those error codes.
struct InnerStack {
  Segment ss;
  uint32_t esp;
};
InnerStack innerStack(Machine::Impl& vm, uint8_t cpl, uint32_t ext);

// IN/OUT/INS/OUTS at CPL > IOPL (or in virtual-8086 mode): each of the `size` ports from `port`
// must have a clear bit in the I/O permission bitmap of the current 32-bit TSS; a 16-bit TSS,
// a bitmap base or bytes beyond the TSS limit, or a set bit raise #GP(0).
void checkIoPermission(Machine::Impl& vm, uint16_t port, unsigned size);

}  // namespace btvm
