// The reference side: Unicorn 2 (QEMU's TCG) run on the same layout as btvm. Unicorn has no IDT
// delivery; exceptions arrive through UC_HOOK_INTR (faults with EIP at the faulting instruction)
// or, for #UD, as UC_ERR_INSN_INVALID. Both are turned into the same Outcome btvm's side reports.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "case.h"

struct uc_struct;

namespace diff {

// Reads guest memory as it is right now; false when the address is not mapped.
using MemRead = std::function<bool(uint32_t addr, void* out, size_t n)>;
// Called before every instruction of the case with the state it starts from.
using StepFn = std::function<void(const GuestState& pre, const MemRead& read)>;

class UnicornCpu {
 public:
  UnicornCpu();   // a fresh 32-bit engine: flat segments with base 0, CPL 0
  ~UnicornCpu();
  UnicornCpu(const UnicornCpu&) = delete;
  UnicornCpu& operator=(const UnicornCpu&) = delete;

  void map(uint32_t addr, uint32_t size);
  void write(uint32_t addr, const void* src, size_t n);
  bool read(uint32_t addr, void* dst, size_t n) const;
  void setState(const GuestState& s);
  GuestState state() const;

  // Runs from st.eip until EIP reaches `end` (the final hlt, not executed), an exception, or
  // `maxInsns` instructions. Returns Completed/Exception/Error with the state filled in.
  Outcome runUntil(uint32_t end, uint64_t maxInsns, const StepFn& onStep);

 private:
  uc_struct* uc_ = nullptr;
};

// The whole case on a fresh engine: map the layout, load, run, read back data and stack.
Outcome runOracle(const CaseInput& in, const StepFn& onStep = {});

}  // namespace diff
