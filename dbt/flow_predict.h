// Inline caches of indirect JMP/CALL sites: one slot per translated site, holding the last target
// it went to (guest EIP with the flow generation, host code); a switch's JMP through a table
// (`jmp [reg*4 + table]`) has kSwitchSlots of them, one per low byte of the index register,
// and an indirect CALL as many, by bits 4..11 of the target (emit_predict.cpp). Slots live outside the code cache
// (translated code writes them; stores next to executing code would cost the host a pipeline
// flush) and are handed out until the next code-cache flush.
#pragma once
#include <asmjit/x86.h>

#include <cstddef>
#include <cstdint>

#include "dbt/zeroed_array.h"

namespace btvm {

// The jump-cache probe of the target EIP in R10D (emit_flow.cpp): falls through on a miss with
// guest RCX in place; a hit jumps to `hit` with guest RCX in R9 and R11 * 8 indexing the entry.
// Used by indirect exits and by the sentinel of translated code's stack (runtime.cpp).
void emitJumpCacheLookup(asmjit::x86::Assembler& a, asmjit::Label hit);

struct InlineCacheSlot {
  uint64_t key;       // CpuState::flow_gen | guest EIP; 0 = empty
  const void* code;
};

class InlineCachePool {
 public:
  explicit InlineCachePool(size_t slots) : slots_(makeZeroedArray<InlineCacheSlot>(slots)), size_(slots) {}
  // A free slot, or nullptr when all are taken (the site then uses the jump cache alone).
  InlineCacheSlot* allocate() { return used_ < size_ ? &slots_[used_++] : nullptr; }
  // kSwitchSlots slots in a row for a switch's JMP or an indirect CALL, while they take at most
  // half the pool (the other half stays for one-slot sites); else nullptr (the site takes one
  // slot instead).
  static constexpr size_t kSwitchSlots = 256;
  InlineCacheSlot* allocateSwitch() {
    if (switch_slots_ + kSwitchSlots > size_ / 2 || used_ + kSwitchSlots > size_) return nullptr;
    switch_slots_ += kSwitchSlots;
    InlineCacheSlot* s = &slots_[used_];
    used_ += kSwitchSlots;
    return s;
  }
  // Every block is gone (code-cache flush): the slots are free again. Their contents are of an
  // older flow generation, so a reused slot misses until its new site fills it.
  void reset() {
    used_ = 0;
    switch_slots_ = 0;
  }
  size_t used() const { return used_; }
  // Empties every slot handed out (the flow generation wrapped round).
  void clearSlots() {
    for (size_t i = 0; i < used_; ++i) slots_[i] = InlineCacheSlot{0, nullptr};
  }

 private:
  ZeroedArray<InlineCacheSlot> slots_;  // 4 MiB: pages untouched until handed out
  size_t size_;
  size_t used_ = 0;
  size_t switch_slots_ = 0;
};

}  // namespace btvm
