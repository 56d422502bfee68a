// The shared half of every memory access's slow path: a few stubs, generated once after the
// runtime stubs, that each slow path calls instead of carrying its own set-up of the helper
// call. A slow path is then three instructions and a copy of its access's op (emit_access.cpp):
//     mov r9, eip << 32 | insns_after << 16 | memInfo   ; packSlowArgs
//     call stub              ; r10 = linear address (flat) or segment offset (the others)
//     op [r10 + r11]         ; the same bytes as the inline hit path's op
//     (writes: mov r9d, memInfo ; call commit)
//     jmp back
// A stub stores CpuState::eip and insns_after, calls the helper through the runtime thunk and
// returns R11 = host pointer - R10 with R10 as it was, so the op's own bytes (register operands,
// memory operand [r10 + r11]) reach the host pointer. Everything is flag-free: the guest's flags
// are live across an access.
#pragma once
#include <cstdint>

#include "dbt/code_cache.h"
#include "dbt/runtime.h"

namespace btvm {

struct AccessStubs {
  const uint8_t* slow_flat;  // mem_slow: R10 = linear address (flat and host-MMU paths)
  const uint8_t* slow_seg;   // mem_slow_seg: R10 = segment offset (limit, rights, base)
  const uint8_t* commit;     // mem_commit: R9D = memInfo; flushes a bounced write
};

// R9 for a slow-path stub. memInfo uses 15 bits; a block has far fewer than 2^16 instructions.
constexpr uint64_t packSlowArgs(uint32_t eip, uint32_t insns_after, uint64_t mem_info) {
  return uint64_t(eip) << 32 | uint64_t(insns_after & 0xffff) << 16 | (mem_info & 0xffff);
}

// Generates the stubs into the cache (after the runtime stubs, before sealStubs).
AccessStubs generateAccessStubs(CodeCache& cache, const RuntimeStubs& rt, HelperFn mem_slow, HelperFn mem_slow_seg,
                                HelperFn mem_commit);

}  // namespace btvm
