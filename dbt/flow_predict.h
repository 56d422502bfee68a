// Inline caches of indirect JMP/CALL sites: one slot per translated site, holding the last target
// it went to (guest EIP with the flow generation, host code). Slots live outside the code cache
// (translated code writes them; stores next to executing code would cost the host a pipeline
// flush) and are handed out until the next code-cache flush.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace btvm {

struct InlineCacheSlot {
  uint64_t key;       // CpuState::flow_gen | guest EIP; 0 = empty
  const void* code;
};

class InlineCachePool {
 public:
  explicit InlineCachePool(size_t slots) : slots_(new InlineCacheSlot[slots]()), size_(slots) {}
  // A free slot, or nullptr when all are taken (the site then uses the jump cache alone).
  InlineCacheSlot* allocate() { return used_ < size_ ? &slots_[used_++] : nullptr; }
  // Every block is gone (code-cache flush): the slots are free again. Their contents are of an
  // older flow generation, so a reused slot misses until its new site fills it.
  void reset() { used_ = 0; }
  size_t used() const { return used_; }
  // Empties every slot handed out (the flow generation wrapped round).
  void clearSlots() {
    for (size_t i = 0; i < used_; ++i) slots_[i] = InlineCacheSlot{0, nullptr};
  }

 private:
  std::unique_ptr<InlineCacheSlot[]> slots_;
  size_t size_;
  size_t used_ = 0;
};

}  // namespace btvm
