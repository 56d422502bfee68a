// Control-flow prediction in translated code: the return-address stack and the inline caches of
// indirect JMP/CALL sites. Both only shorten the way to host code that the dispatcher would
// have found too, so their safety rests on one rule: an entry holds host code of one *flow
// generation*, and a hit needs generation and guest EIP to match. CpuState::flow_gen is the
// generation of the mode that translated code runs in (Dbt::enterMode: the block key's flags
// and CS base, so a RET in another mode, say the kernel's exit path with the user's FS, never
// takes an entry pushed in the kernel's own); every mode gets a new one at each jump-cache flush
// (Dbt::flushJumpCache), which the VMM does whenever a translation may go stale: a CR3 change,
// INVLPG, blocks invalidated by a write (SMC) and the code cache freed. So a return-stack entry
// or inline cache is exactly as safe as a jump-cache entry (which carries the generation too),
// and never points at freed code.
//
// Return-address stack: CALL pushes (gen | return EIP, host address of a *landing* in the calling
// block); the landing is an ordinary chainable exit to the return EIP (Dbt::chainLastExit gives
// it the same mode and page checks as any direct exit). RET pops, compares, and on a match jumps
// to the landing; else it falls back to the jump cache. A ring of 256 entries: deep recursion
// overwrites the oldest ones, which then miss.
//
// Everything here is flag-free (LEA, NOT, MOVZX, JRCXZ): guest flags live across CALL and RET.
#include "dbt/emitter.h"
#include "dbt/flow_predict.h"
#include "dbt/host_regs.h"

namespace btvm {

using namespace asmjit;
using namespace host;

namespace {
constexpr int32_t kGen = int32_t(offsetof(CpuState, flow_gen));
constexpr int32_t kRasTop = int32_t(offsetof(CpuState, ras_top));
constexpr int32_t kRas = int32_t(offsetof(CpuState, ras));
}  // namespace

// R11 = index * 2 of the return-stack entry at `top` (the byte in R11B), for [state + R11*8].
static void rasSlot(x86::Assembler& a) {
  a.movzx(x86::r11d, x86::r11b);
  a.lea(x86::r11, x86::ptr(x86::r11, x86::r11));
}

// R9 = flow_gen | R10D: the key of guest EIP R10D in this generation. R10 must be
// zero-extended (every 32-bit write leaves it so).
static void currentKey(x86::Assembler& a, const x86::Gp& dst) {
  a.mov(dst, x86::qword_ptr(kState, kGen));
  a.lea(dst, x86::ptr(dst, x86::r10));
}

// CALL: after the guest's push of the return address succeeded, so a faulting push leaves the
// ring as it was. Clobbers R8, R9, R10, R11.
void BlockEmitter::emitRasPush(uint32_t ret_eip, Label landing) {
  a_.movzx(x86::r11d, x86::byte_ptr(kState, kRasTop));
  a_.lea(x86::r11d, x86::ptr(x86::r11, 1));
  a_.mov(x86::byte_ptr(kState, kRasTop), x86::r11b);
  rasSlot(a_);
  a_.mov(x86::r10d, ret_eip);
  currentKey(a_, x86::r9);
  a_.mov(x86::qword_ptr(kState, x86::r11, 3, kRas), x86::r9);
  a_.lea(x86::r9, x86::ptr(landing));
  a_.mov(x86::qword_ptr(kState, x86::r11, 3, kRas + 8), x86::r9);
}

// RET, the popped return EIP in R10D (zero-extended): pop the newest entry; on a match go to its
// landing, else through the jump cache.
void BlockEmitter::emitReturnExit() {
  Label hit = a_.newLabel();
  a_.movzx(x86::r11d, x86::byte_ptr(kState, kRasTop));
  a_.lea(x86::r8d, x86::ptr(x86::r11, -1));
  a_.mov(x86::byte_ptr(kState, kRasTop), x86::r8b);
  rasSlot(a_);
  a_.mov(x86::r8, x86::qword_ptr(kState, x86::r11, 3, kRas));
  a_.mov(x86::r9, x86::rcx);
  currentKey(a_, x86::rcx);
  a_.not_(x86::rcx);
  a_.lea(x86::rcx, x86::ptr(x86::rcx, x86::r8, 0, 1));  // entry key - current key
  a_.jecxz(x86::rcx, hit);
  a_.mov(x86::rcx, x86::r9);
  emitIndirectExit(nullptr);
  a_.bind(hit);
  a_.mov(x86::rcx, x86::r9);
  a_.jmp(x86::qword_ptr(kState, x86::r11, 3, kRas + 8));
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
  a_.mov(x86::r8, x86::qword_ptr(x86::r11));
  a_.mov(x86::r9, x86::rcx);
  currentKey(a_, x86::rcx);
  a_.not_(x86::rcx);
  a_.lea(x86::rcx, x86::ptr(x86::rcx, x86::r8, 0, 1));
  a_.jecxz(x86::rcx, hit);
  a_.mov(x86::rcx, x86::r9);
  emitIndirectExit(slot);
  a_.bind(hit);
  a_.mov(x86::rcx, x86::r9);
  a_.jmp(x86::qword_ptr(x86::r11, 8));
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

}  // namespace btvm
