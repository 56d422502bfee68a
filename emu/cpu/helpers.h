// VMM helpers: one C++ function per instruction meaning, called from translated code (through
// the runtime thunk, with an exact CpuState). Each returns kNext when execution goes on with the
// next instruction, or kEipSet when it set CpuState::eip itself (control transfers).
#pragma once
#include <cstdint>

#include "dbt/helper_info.h"
#include "emu/vm.h"

namespace btvm {

enum HelperResult : uint64_t { kNext = 0, kEipSet = 1 };
using Helper = HelperResult (*)(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg);

// A register operand by ModRM number at a size (8-bit numbers 4..7 are AH..BH).
uint32_t getReg(const CpuState& c, int num, unsigned size);
void setReg(CpuState& c, int num, unsigned size, uint32_t value);

// The r/m operand: memory at i.seg:arg, else the register numbered `reg`.
uint32_t readRm(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, int reg, unsigned size);
void writeRm(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, int reg, unsigned size, uint32_t v);

// Arithmetic flags: replace the bits in `mask` with those of `bits`.
inline void setFlags(CpuState& c, uint32_t mask, uint32_t bits) { c.eflags = (c.eflags & ~mask) | (bits & mask); }
uint32_t szpFlags(uint32_t value, unsigned size);  // SF, ZF, PF of a result

inline uint32_t nextEip(const CpuState& c, const hinfo::Info& i) { return c.eip + i.length; }

// #UD in real and v8086 mode, where the processor does not recognize LAR, LSL, VERR, VERW, SLDT,
// STR, LLDT, LTR and ARPL (SDM vol. 2, their real-address- and virtual-8086-mode exceptions).
void requireProtectedMode(Machine::Impl& vm);

// The C++ function behind a helper (virtual-state semantics).
Helper helperFunction(HelperId h);

// The helper tables of each group, indexed by HelperId (null where the group has no entry).
void registerArithHelpers(Helper* table);
void registerStringHelpers(Helper* table);
void registerSystemHelpers(Helper* table);
void registerSegmentHelpers(Helper* table);
void registerFpuHelpers(Helper* table);
void registerSysenterHelpers(Helper* table);

}  // namespace btvm
