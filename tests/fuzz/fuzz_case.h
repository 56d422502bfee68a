// One robustness case: a fresh guest machine whose code is random (bytes or instructions), with an
// IDT whose every vector ends in a `hlt`, random registers and flags, and at random: paging (4 KiB
// and 4 MiB pages, some pages absent, read-only or supervisor-only, some mapped beyond RAM) and a
// start at CPL 3. Shared by btvm-randomcode (seeded campaign) and the libFuzzer targets.
//
// Guest physical layout (paging, when on, maps it 1:1 except where randomized):
//   0x000800  GDT: flat ring 0 and ring 3 segments plus odd ones (16-bit, expand-down, small limit,
//             not present, conforming, read-only, DPL 2), a TSS, an LDT, a call gate, a task gate
//   0x001000  IDT: 256 gates (mostly 32-bit interrupt gates, selector 0x08) to the stubs
//   0x002000  stubs: vector v at 0x2000 + 16*v, each a `hlt` (halt address = vector)
//   0x003800  TSS (ESP0 = 0x7ff0, SS0 = 0x10); 0x3900 LDT
//   0x004000  page directory; 0x5000, 0x6000 page tables (first 8 MiB)
//   0x007000  ring 0 stack, top 0x7ff0
//   0x010000  64 KiB of random data (registers often point here)
//   0x100000  code: a prologue (LTR, LLDT, paging on, segment loads, IRETD into the case's state)
//             then kCodeBytes of random code
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "emu/machine.h"

namespace fuzz {

// splitmix64: fast, and every (seed, index) gives an independent stream.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t u32() { return uint32_t(next()); }
  uint8_t u8() { return uint8_t(next()); }
  uint32_t below(uint32_t n) { return n ? uint32_t(next() % n) : 0; }
  bool oneIn(uint32_t n) { return below(n) == 0; }

 private:
  uint64_t s_;
};

constexpr uint32_t kGdt = 0x800, kIdt = 0x1000, kStubs = 0x2000, kStubStride = 16;
constexpr uint32_t kTss = 0x3800, kLdt = 0x3900, kTss2 = 0x3918, kTss16 = 0x3980, kPageDir = 0x4000, kPageTables = 0x5000;
constexpr uint32_t kStackTop = 0x7ff0, kData = 0x10000, kDataSize = 0x10000;
constexpr uint32_t kCode = 0x100000, kCodeBytes = 0x2000;
constexpr uint32_t kSelCode0 = 0x08, kSelData0 = 0x10, kSelCode3 = 0x1b, kSelData3 = 0x23;
constexpr uint32_t kSelTss = 0x48, kSelLdt = 0x68;

enum class CodeMode { Bytes, Insns };

// Everything about a case except its code bytes; drawn from (seed, index) by makeSpec.
struct CaseSpec {
  uint64_t seed = 0, index = 0;
  CodeMode mode = CodeMode::Bytes;
  uint32_t ram_bytes = 4u << 20;
  bool paging = false, pse = false, wp = false, user = false;
  bool wild_tables = false;  // paging with even the layout's own pages randomized
  uint32_t regs[8] = {};
  uint32_t eflags = 2;
};

CaseSpec makeSpec(uint64_t seed, uint64_t index, CodeMode mode, Rng& rng);
uint32_t interestingValue(Rng& rng, uint32_t ram_bytes);

// Writes the layout, the prologue and `code` (at most kCodeBytes) into the machine and points
// EIP at the prologue. The machine must be fresh. Returns the address of the case's first byte.
uint32_t buildCase(btvm::Machine& m, const CaseSpec& spec, const uint8_t* code, size_t len, Rng& rng);

// The vector whose stub the guest halted in, or -1 (halted elsewhere, or did not halt).
int haltedVector(btvm::Machine& m, const btvm::RunResult& r);

const char* kindName(btvm::ExitKind k);
std::string describe(const CaseSpec& spec);

// A one-line problem with a finished run (status inconsistent with the kind, instruction count
// over the limit, ...), or "" if it is fine. Every ExitKind is an acceptable outcome.
std::string checkResult(btvm::Machine& m, const btvm::RunResult& r, uint64_t max_insns);

}  // namespace fuzz
