// Host code that runs one guest x87 instruction on the host's own x87. The encodings of D8..DF
// are the same in 64-bit mode, so each stub is the guest instruction itself between an FRSTOR of
// the guest's state and an FNSAVE of the result:
//
//   frstor [rsi]; push rdx; popfq; <D8..DF modrm'>; pushfq; pop rax; fnsave [rsi]; ret
//
// where a memory operand is rewritten to [rdi] (mod 00, rm 111). RDX carries the guest's
// arithmetic flags in (FCMOVcc reads them) and RAX the host flags out (FCOMI & co. write them).
// The closing FNSAVE does not wait, so an exception the instruction raised stays pending in the
// saved image and never traps on the host.
#pragma once
#include <cstdint>

namespace btvm::fpu {

// The FNSAVE image of 32-bit protected mode, as the host stores it in 64-bit mode (no REX.W).
constexpr unsigned kImageSize = 108;

// mem: the memory operand's bytes (loads read, stores write), image: 108 bytes, in and out.
using StubFn = uint64_t (*)(void* mem, void* image, uint64_t rflags);

// The stub for an escape opcode (0xD8..0xDF) and ModRM; memory forms share one stub per /reg.
StubFn stubFor(uint8_t opcode, uint8_t modrm);
// frstor [rsi]; fnsave [rsi]; ret: lets the host normalize an image the guest loaded.
StubFn reloadStub();

}  // namespace btvm::fpu
