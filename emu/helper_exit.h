// The way on from a helper that ends its block (INVLPG, POPF, MOV to a segment register or CR,
// IRET, far branches, WRMSR...). Such a block used to leave to the dispatcher after every one of
// them (some 2.4 million times in a Linux boot), though most change nothing the dispatcher must
// see. Now the helper's wrapper asks here where translated code goes on: the block of the new
// EIP, found as the dispatcher would find it (the jump cache, else the block table; in the new
// mode if the helper changed it), or the dispatcher when it must look: the helper halted the CPU,
// set TF, opened an interrupt window that has an interrupt waiting, or ran where the dispatcher
// must see every block (exact device events, gdb, single steps, instruction breakpoints).
#pragma once
#include "dbt/helper_info.h"
#include "emu/vm.h"

namespace btvm {

// Called as the last thing of a block-ending helper's wrapper (runHelper), after the helper
// returned `r` (kNext: CpuState::eip still at the instruction; kEipSet: EIP set). Sets EIP past
// the instruction for kNext and returns the host code translated code jumps to: a block's entry
// (which charges the budget as any chained block does) or Dbt::dispatcherExit().
const void* continueAfterHelper(Machine::Impl& vm, HelperResultCode r, const hinfo::Info& i);

}  // namespace btvm
