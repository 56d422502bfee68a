// Far JMP and CALL whose selector names a system descriptor (SDM vol. 2, JMP and CALL; vol. 3
// 5.8): call gates (16-bit type 4, 32-bit type 0xC), task gates (type 5) and TSS descriptors.
#pragma once
#include <cstdint>

#include "emu/vm.h"

namespace btvm {

// The far transfer of the instruction whose next EIP is `next_eip`, through the system
// descriptor `sel` (already read: `lo`, `hi`). A call gate's own size, not the instruction's
// operand size, decides what it pushes. On return the transfer is done: CS:EIP, CPL, stack or
// task are the new ones. Raises what the SDM lists.
void farTransferThroughSystem(Machine::Impl& vm, bool call, uint16_t sel, uint32_t lo, uint32_t hi,
                              uint32_t next_eip);

}  // namespace btvm
