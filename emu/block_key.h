// The key of the block that starts at the current CS:EIP (dbt/block.h): where its bytes are and
// the mode bits translation depends on. The dispatcher computes it before every lookup, and so
// does the way on from a helper that ends its block (emu/helper_exit.h).
#pragma once
#include "emu/vm.h"

namespace btvm {

// The block flags of the current state: CPL, real/v8086 style, code and stack size, which
// segments are flat or based, paging, and the --stats / RDTSC variants.
uint32_t modeFlags(Machine::Impl& vm);

// The key of the block at CS:EIP. Raises #GP for EIP beyond the CS limit and #PF for an
// unmapped code page, as the instruction fetch would (longjmp); with raise = false it returns
// false instead. Keeps the code page's soft-TLB entry filled (the page checks of chained jumps
// rely on it).
bool currentBlockKey(Machine::Impl& vm, bool raise, BlockKey* key);

}  // namespace btvm
