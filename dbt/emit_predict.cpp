// Control-flow prediction in translated code: guest CALL/RET as host CALL/RET, and the inline
// caches of indirect JMP/CALL sites. Both only shorten the way to host code that the dispatcher
// would have found too, so their safety rests on one rule: an entry holds host code of one
// *flow generation*, and a hit needs generation and guest EIP to match. CpuState::flow_gen is
// the generation of the mode that translated code runs in (Dbt::enterMode: the block key's flags
// and CS base, so a RET in another mode, say the kernel's exit path with the user's FS, never
// takes an entry pushed in the kernel's own); every mode gets a new one at each jump-cache flush
// (Dbt::flushJumpCache), which the VMM does whenever a translation may go stale: a CR3 change,
// INVLPG, blocks invalidated by a write (SMC) and the code cache freed. So a pending CALL or an
// inline cache is exactly as safe as a jump-cache entry (which carries the generation too).
//
// Calls. A guest near CALL, once its push of the return address succeeded (a faulting push
// leaves everything as it was), is
//     mov r11, [rsp - kCallStackHeadroom]   ; probe: resets the stack near its bottom (call_stack.h)
//     push qword [r13 + flow_gen]
//     call target                           ; chained to the callee's block (a direct CALL), or
//                                           ; the indirect lookup
//   landing:                                ; the host return address, in the calling block
//     pop r8 ; check R8 == flow_gen and R10D == the return EIP
//     match: chainable direct exit to the return EIP (chained to its block like any other)
//     else:  jump-cache lookup of R10D
// and a guest RET pops the guest return EIP into R10D and is a host RET. The host's return-stack
// buffer predicts that RET exactly when the guest returns to its caller, so a return costs a
// predicted branch and the landing's check instead of an indirect jump the host cannot predict.
// Whatever the guest does to its stack, the check keeps it exact: a RET to a rewritten return
// address, PUSH+RET, longjmp-style unwinding, `call 1f; 1: pop` (CALLs that never return), a
// RET in another mode or after a CR3 switch (both change the generation) only make landings
// miss. Pending CALLs stay across exits to the dispatcher (call_stack.h); the stack is emptied
// after a code-cache flush (the only time code is freed, always in the dispatcher, so every
// landing a RET can reach is still there; one whose block was invalidated fails the generation
// check), after a helper's longjmp, and when it runs deep. A RET with nothing of its own on the
// host stack pops the stack's base slot and reaches the sentinel stub (runtime.cpp), which does
// the jump-cache lookup. A one-off block's RET leaves to the dispatcher instead (its CALL's
// entry stays behind and only makes a later landing miss).
//
// Everything here is flag-free (LEA, NOT, MOVZX, JRCXZ, PUSH/POP/CALL/RET): guest flags live
// across CALL and RET.
#include "dbt/call_stack.h"
#include "dbt/emitter.h"
#include "dbt/flow_predict.h"
#include "dbt/host_regs.h"

namespace btvm {

using namespace asmjit;
using namespace host;

namespace {
constexpr int32_t kGen = int32_t(offsetof(CpuState, flow_gen));
constexpr int32_t kGenNeg = int32_t(offsetof(CpuState, flow_gen_neg));
}  // namespace

// R9 = flow_gen | R10D: the key of guest EIP R10D in this generation. R10 must be
// zero-extended (every 32-bit write leaves it so).
static void currentKey(x86::Assembler& a, const x86::Gp& dst) {
  a.mov(dst, x86::qword_ptr(kState, kGen));
  a.lea(dst, x86::ptr(dst, x86::r10));
}

// CALL, after the guest's push of the return address: a host CALL rel32 to `target` (where the
// block emits the way to the callee; a direct CALL's is chained into the CALL itself). Returns
// the CALL's offset. Clobbers R11.
uint32_t BlockEmitter::emitHostCall(Label target) {
  a_.mov(x86::r11, x86::qword_ptr(x86::rsp, -int32_t(kCallStackHeadroom)));
  a_.push(x86::qword_ptr(kState, kGen));
  uint32_t call_at = uint32_t(a_.offset());
  a_.long_().call(target);
  return call_at;
}

// Where the host RET of the callee's guest RET arrives (emitted right after emitHostCall), the
// popped guest EIP in R10D: on to `ret_eip`'s block when the call's generation and return EIP
// match, else through the jump cache. R10D - ret_eip (mod 2^32) plus the pushed generation
// minus the current one (a multiple of 2^32) is zero exactly when both match.
void BlockEmitter::emitLanding(uint32_t ret_eip) {
  Label hit = a_.newLabel(), miss = a_.newLabel();
  a_.pop(x86::r8);
  a_.lea(x86::r10d, x86::ptr(x86::r10, -int32_t(ret_eip)));
  a_.mov(x86::r11, x86::qword_ptr(kState, kGenNeg));
  a_.lea(x86::r11, x86::ptr(x86::r11, x86::r8));  // pushed generation - current one
  a_.mov(x86::r9, x86::rcx);
  a_.lea(x86::rcx, x86::ptr(x86::r11, x86::r10));
  a_.jecxz(x86::rcx, hit);
  a_.mov(x86::rcx, x86::r9);
  a_.jmp(miss);
  a_.bind(hit);
  a_.mov(x86::rcx, x86::r9);
  emitDirectExit(ret_eip);
  a_.bind(miss);
  a_.lea(x86::r10d, x86::ptr(x86::r10, int32_t(ret_eip)));
  emitIndirectExit(nullptr);
}

// RET, the popped return EIP in R10D (zero-extended). A one-off block leaves to the dispatcher
// instead (a host RET could go on into translated code through the sentinel's lookup).
void BlockEmitter::emitReturnExit() {
  if (one_off_) emitIndirectExit(nullptr);
  else a_.ret();
}

// Indirect JMP/CALL, the target EIP in R10D (zero-extended): the site's own slot first (one
// compare, no hashing), then the jump cache, whose hits refill the slot.
void BlockEmitter::emitCachedIndirectExit() {
  InlineCacheSlot* slot = ic_pool_ ? ic_pool_->allocate() : nullptr;
  if (!slot) {
    emitIndirectExit(nullptr);
    return;
  }
  Label hit = a_.newLabel();
  a_.mov(st(offsetof(CpuState, eip)), x86::r10d);  // as the jump cache's own path does
  a_.mov(x86::r11, reinterpret_cast<uint64_t>(slot));
  emitSlotCheck(hit);
  emitIndirectExit(slot);
  a_.bind(hit);
  a_.mov(x86::rcx, x86::r9);
  a_.jmp(x86::qword_ptr(x86::r11, 8));
}

// R11 = an inline-cache slot, R10D the target EIP: jumps to `hit` (guest RCX in R9) when the
// slot holds the target in this flow generation; else falls through with RCX restored.
void BlockEmitter::emitSlotCheck(Label hit) {
  a_.mov(x86::r8, x86::qword_ptr(x86::r11));
  a_.mov(x86::r9, x86::rcx);
  currentKey(a_, x86::rcx);
  a_.not_(x86::rcx);
  a_.lea(x86::rcx, x86::ptr(x86::rcx, x86::r8, 0, 1));
  a_.jecxz(x86::rcx, hit);
  a_.mov(x86::rcx, x86::r9);
}

// The end of a jump-cache hit at an inline-cache site: remember the target in the slot, then go.
// R11*8 indexes the jump-cache entry (see emitIndirectExit); R10D is the target EIP.
void BlockEmitter::emitInlineCacheFill(InlineCacheSlot* slot, int32_t jc_entry_code) {
  a_.mov(x86::r8, x86::qword_ptr(kState, x86::r11, 3, jc_entry_code));
  a_.mov(x86::r11, reinterpret_cast<uint64_t>(slot));
  currentKey(a_, x86::r9);
  a_.mov(x86::qword_ptr(x86::r11), x86::r9);
  a_.mov(x86::qword_ptr(x86::r11, 8), x86::r8);
  a_.jmp(x86::r8);
}

// A switch's JMP through a jump table, `jmp [index*4 + table]`, the target EIP in R10D: one site,
// many targets in turn (an interpreter's dispatch), so a one-slot cache would miss nearly every
// time and pay the jump-cache probe and a refill on top. Its slots are instead indexed by the
// low byte of the guest's index register (the case number): R11 = &slots[index & 255], then
// the key check as for one slot. A miss goes through the jump cache, whose hit fills that slot.
// An indirect CALL (index_reg -1: callbacks, tables of function pointers, virtual calls) indexes
// them by bits 4..11 of the target.
void BlockEmitter::emitSwitchExit(int index_reg) {
  InlineCacheSlot* slots = ic_pool_ ? ic_pool_->allocateSwitch() : nullptr;
  if (!slots) {
    emitCachedIndirectExit();
    return;
  }
  Label hit = a_.newLabel(), miss = a_.newLabel();
  auto slotAddress = [&](const x86::Gp& scratch) {  // R11 = &slots[index & 255]; RCX is guest ECX
    if (index_reg >= 0) {
      a_.movzx(x86::r11d, x86::gpb_lo(guest32(index_reg).id()));
    } else {  // target bits 4..11: functions and case labels are 16-byte aligned by compilers
      a_.rorx(x86::r11d, x86::r10d, 4);
      a_.movzx(x86::r11d, x86::r11b);
    }
    a_.lea(x86::r11, x86::ptr(x86::r11, x86::r11));
    a_.mov(scratch, reinterpret_cast<uint64_t>(slots));
    a_.lea(x86::r11, x86::ptr(scratch, x86::r11, 3));
  };
  slotAddress(x86::r8);
  emitSlotCheck(hit);
  a_.jmp(miss);
  a_.bind(hit);
  a_.mov(x86::rcx, x86::r9);
  a_.jmp(x86::qword_ptr(x86::r11, 8));
  // The miss: the jump cache; its hit leaves guest RCX in R9 and R11 * 8 indexing its entry.
  Label jc_hit = a_.newLabel();
  int32_t jc_code = int32_t(offsetof(CpuState, jcache) + 8);
  a_.bind(miss);
  emitJumpCacheLookup(a_, jc_hit);
  emitExitStateEip();
  a_.bind(jc_hit);
  a_.mov(x86::rcx, x86::r9);
  a_.mov(x86::r8, x86::qword_ptr(kState, x86::r11, 3, jc_code));
  slotAddress(x86::r9);
  currentKey(a_, x86::r9);
  a_.mov(x86::qword_ptr(x86::r11), x86::r9);
  a_.mov(x86::qword_ptr(x86::r11, 8), x86::r8);
  a_.jmp(x86::r8);
}

}  // namespace btvm
