// Random IA-32 instructions for robustness runs: mostly common integer instructions (ALU, MOV,
// LEA, stack, shifts, multiply/divide, bit operations, SETcc/CMOVcc, short branches, string ops
// with REP), some system and segment instructions, a few x87/SSE/MMX (which btvm turns into #UD),
// with random prefixes, ModRM/SIB forms and displacements. Each candidate is decoded with Capstone
// in 32-bit mode and kept only if it decodes to exactly its own length.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tests/fuzz/fuzz_case.h"

namespace fuzz {

class InsnGen {
 public:
  InsnGen();
  ~InsnGen();
  InsnGen(const InsnGen&) = delete;
  InsnGen& operator=(const InsnGen&) = delete;

  // Appends one instruction to `out`.
  void next(Rng& rng, uint32_t ram_bytes, std::vector<uint8_t>& out);
  // Fills exactly `n` bytes: whole instructions, the tail padded with random bytes.
  std::vector<uint8_t> fill(Rng& rng, uint32_t ram_bytes, size_t n);

  uint64_t rejected() const { return rejected_; }  // candidates Capstone did not accept

 private:
  bool decodes(const std::vector<uint8_t>& bytes);
  size_t handle_ = 0;
  void* insn_ = nullptr;
  uint64_t rejected_ = 0;
};

}  // namespace fuzz
