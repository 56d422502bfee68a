// 32-bit DIV and IDIV as the host's own instruction. The guest's EDX:EAX are the host's EDX:EAX
// (dbt/host_regs.h), and a 32-bit division raises the host's #DE exactly when the guest's
// would: a zero divisor or a quotient too wide for 32 bits. So the division runs natively, and
// its instruction is a fault site (dbt/host_fault.h) whose host SIGFPE resumes at the VMM
// helper's path for the same instruction, emitted right after it, which raises the guest's #DE
// precisely (a faulting division changes nothing, as the helper expects). The helper path is the
// whole instruction too, so even a host that disagreed would only take the slow way.
//     div r32 / div r8d (a memory divisor loaded through the access path first)   ; the site
//     jmp done
//     the helper's path for the instruction
//   done:
// The flags, undefined after DIV and IDIV (SDM), are what the host's division leaves; the
// helper leaves them alone (as QEMU does). 8- and 16-bit forms stay helpers (rare in 32-bit
// code, and their AH/DX results would need byte-register juggling).
#include "dbt/emitter.h"
#include "dbt/host_regs.h"
#include "dbt/operands.h"
#include "patcher/modes.h"

namespace btvm {

using namespace asmjit;
using namespace host;

bool BlockEmitter::emitDivideInline(const cs_insn& insn, const InsnRow& row) {
  const cs_x86& x = insn.detail->x86;
  Handling h = handlingFor(mode_, row);
  if (h == Handling::Trapped || h == Handling::Patched) return false;
  if (x.op_count != 1 || x.operands[0].size != 4) return false;
  const cs_x86_op& src = x.operands[0];
  x86::Gp divisor = x86::r8d;
  if (src.type == X86_OP_REG) {
    int r = gprIndex(src.reg);
    if (r < 0) return false;
    divisor = guest32(r);
  } else if (src.type == X86_OP_MEM) {
    loadOperand(src, x, 4, x86::r8d);
  } else {
    return false;
  }
  Label done = a_.newLabel();
  uint32_t begin = uint32_t(a_.offset());
  if (row.helper == HelperId::Idiv) a_.idiv(x86::edx, x86::eax, divisor);
  else a_.div(x86::edx, x86::eax, divisor);
  uint32_t end = uint32_t(a_.offset());
  a_.jmp(done);
  fault_sites_.push_back(FaultSiteOffsets{begin, end, uint32_t(a_.offset()), false});
  emitHelperCall(insn, row);
  a_.bind(done);
  return true;
}

}  // namespace btvm
