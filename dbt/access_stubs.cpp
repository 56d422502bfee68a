#include "dbt/access_stubs.h"

#include <cstddef>

#include "dbt/assembler.h"
#include "dbt/host_regs.h"

namespace btvm {

using namespace asmjit;
using namespace host;

namespace {

// Entered by CALL from translated code (RSP = 16k + 8): one push makes the thunk's CALL land as
// translated code's own would (RSP = 16k + 8 at the thunk), which keeps C++ calls aligned.
void emitSlowStub(x86::Assembler& a, const RuntimeStubs& rt, HelperFn fn) {
  a.rorx(x86::r8, x86::r9, 32);  // the guest EIP of the access
  a.mov(st(offsetof(CpuState, eip)), x86::r8d);
  a.rorx(x86::r8d, x86::r9d, 16);
  a.movzx(x86::r8d, x86::r8w);   // instructions after it in the block
  a.mov(st(offsetof(CpuState, insns_after)), x86::r8d);
  a.movzx(x86::r9d, x86::r9w);   // memInfo
  a.push(x86::r10);
  a.mov(x86::r11, reinterpret_cast<uint64_t>(fn));
  a.call(Imm(reinterpret_cast<uint64_t>(rt.thunk)));
  a.pop(x86::r10);
  a.mov(x86::r8, x86::r10);      // r11 = pointer - r10 = pointer + ~r10 + 1, without flags
  a.not_(x86::r8);
  a.lea(x86::r11, x86::ptr(x86::r11, x86::r8, 0, 1));
  a.ret();
}

}  // namespace

AccessStubs generateAccessStubs(CodeCache& cache, const RuntimeStubs& rt, HelperFn mem_slow, HelperFn mem_slow_seg,
                                HelperFn mem_commit) {
  CodeHolder code;
  x86::Assembler a;
  AsmErrorHandler eh;
  initAssembler(code, a, eh);
  Label flat = a.newLabel(), seg = a.newLabel(), commit = a.newLabel();
  a.bind(flat);
  emitSlowStub(a, rt, mem_slow);
  a.bind(seg);
  emitSlowStub(a, rt, mem_slow_seg);
  // The thunk returns straight to the slow path that called this stub.
  a.bind(commit);
  a.mov(x86::r11, reinterpret_cast<uint64_t>(mem_commit));
  a.jmp(Imm(reinterpret_cast<uint64_t>(rt.thunk)));
  uint8_t* base = installCode(code, cache, nullptr);
  return AccessStubs{base + code.labelOffset(flat), base + code.labelOffset(seg), base + code.labelOffset(commit)};
}

}  // namespace btvm
