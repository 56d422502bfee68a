// Which EFLAGS bits (and, rarely, register bits) an instruction leaves undefined, from Capstone's
// per-instruction eflags detail corrected by our own knowledge where Capstone is coarse or wrong.
// Used twice: by the generator statically (no state: "may be undefined", to avoid emitting an
// instruction that reads a flag that may be undefined) and by the checker dynamically (with the
// oracle's state before the instruction: exact, so nothing an execution defines gets masked).
#pragma once
#include <capstone/capstone.h>

#include <cstdint>
#include <string>
#include <vector>

#include "case.h"
#include "oracle.h"

namespace diff {

struct Insn {
  uint32_t addr;
  uint8_t size;
  unsigned id;        // x86_insn
  cs_x86 x86;         // Capstone detail
  std::string text;   // "mnemonic operands"
};

class Disasm {
 public:
  Disasm();
  ~Disasm();
  Disasm(const Disasm&) = delete;
  Disasm& operator=(const Disasm&) = delete;
  // Linear decode of the whole buffer; stops at the first byte Capstone cannot decode.
  std::vector<Insn> decode(const uint8_t* p, size_t n, uint32_t addr) const;

 private:
  csh h_ = 0;
};

// The state an instruction starts from, when known (dynamic analysis).
struct Pre {
  const GuestState& st;
  const MemRead& read;
};

struct Effect {
  uint32_t reads = 0;      // flags the instruction's result depends on
  uint32_t defines = 0;    // flags it certainly sets to a defined value
  uint32_t undefines = 0;  // flags it may leave undefined
  int undefReg = -1;       // a register whose bits `undefRegBits` it leaves undefined
  uint32_t undefRegBits = 0;
};

// pre == nullptr: static, conservative. Otherwise exact for that execution.
Effect effectOf(const Insn& in, const Pre* pre);

// Folds an effect into a running set of undefined flags.
inline uint32_t applyEffect(uint32_t undef, const Effect& e) {
  return (undef & ~e.defines) | e.undefines;
}

// Maps a Capstone GPR (8/16/32-bit) to our index, its bit mask and shift; false if not a GPR.
bool gprOf(unsigned reg, int* index, uint32_t* mask, int* shift);

// What the executed instructions of one run left undefined, folded in execution order.
struct Masks {
  uint32_t flags = 0;
  uint32_t regBits[8] = {};
};

// Runs the case on the oracle and works out, from the state before each executed instruction,
// exactly what that execution leaves undefined. A faulting instruction did not complete: its
// effect is dropped.
Outcome runMasked(const CaseInput& in, const std::vector<Insn>& insns, Masks* m);

std::string flagNames(uint32_t f);

}  // namespace diff
