// AsmJit set-up shared by the stubs and the block emitter: a 64-bit CodeHolder whose assembler
// validates every instruction in debug and test builds (without validation AsmJit silently emits
// 32-bit-only opcodes such as PUSH r32 into 64-bit code), and installation into the code cache.
#pragma once
#include <asmjit/x86.h>

#include <stdexcept>
#include <string>

#include "dbt/code_cache.h"

namespace btvm {

// Turns AsmJit errors into exceptions: an emitter bug, never a guest's fault.
class AsmErrorHandler : public asmjit::ErrorHandler {
 public:
  void handleError(asmjit::Error, const char* message, asmjit::BaseEmitter*) override {
    throw std::logic_error(std::string("asmjit: ") + message);
  }
};

// `base`: the address the code will be installed at, if known (CodeCache::next()); AsmJit then
// encodes jumps and calls to absolute addresses (the runtime stubs) as final rel32s at once,
// with no relocation entry or address-table slot to resolve at install.
void initAssembler(asmjit::CodeHolder& code, asmjit::x86::Assembler& a, AsmErrorHandler& eh,
                   uint64_t base = asmjit::Globals::kNoBaseAddress);

// Copies the finished code into the cache, relocated to its final address; nullptr when full.
uint8_t* installCode(asmjit::CodeHolder& code, CodeCache& cache, size_t* size_out);

}  // namespace btvm
