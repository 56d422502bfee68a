// The runtime stubs that translated code shares, generated once at the start of the code cache:
//  - enter(cpu, code): host -> translated code (loads guest registers and flags);
//  - epilogue: translated code -> host (stores them back), R11 = chain jump that left, or 0;
//    entered by a JMP from translated code at an instruction boundary, never from inside a stub
//    that was CALLed (its RSP is kept as translated code's for the next entry: call_stack.h);
//  - thunk: a call from translated code to a C++ helper with the whole guest state written back
//    first and reloaded after, so helpers read and change an exact CpuState. R11 = function,
//    R10 and R9 = its two arguments; the result comes back in R11.
#pragma once
#include <asmjit/x86.h>

#include <cstdint>

#include "dbt/code_cache.h"
#include "emu/cpu/cpu_state.h"

namespace btvm {

// A helper called from translated code through the thunk.
using HelperFn = uint64_t (*)(CpuState* cpu, uint64_t arg, uint64_t info);

struct RuntimeStubs {
  void (*enter)(CpuState* cpu, const void* code);
  const uint8_t* epilogue;
  const uint8_t* thunk;
  const uint8_t* jcache_miss;  // initial code pointer of every jump-cache entry
};

RuntimeStubs generateRuntimeStubs(CodeCache& cache);

// The guest's x87 state, live in the host's x87 after a native run (dbt/emit_x87.cpp), back to
// CpuState::fpu with its own pointers: the stubs' part at every helper call and exit. Clobbers
// R8 and the host flags.
void emitSaveLiveFpu(asmjit::x86::Assembler& a);

}  // namespace btvm
