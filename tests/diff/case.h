// What one differential test case is, and what running it produced, shared by the generator, the
// Unicorn oracle and the btvm side so that both sides see the same memory layout and report alike.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace diff {

// Guest physical layout. btvm reserves the first 64 KiB (its GDT lives there), so everything a case
// touches sits at 1 MiB and above, in one small block that Unicorn maps: a wild address then shows
// up as an unmapped access in the oracle instead of silently passing on both sides.
constexpr uint32_t kCode = 0x100000, kCodeMax = 0x1000;   // case code, ends with hlt
constexpr uint32_t kStubs = 0x101000;                     // one hlt per vector: halt address = vector
constexpr int kVectors = 32;
constexpr uint32_t kIdt = 0x102000;                       // 32 interrupt gates to the stubs
constexpr uint32_t kData = 0x104000, kDataSize = 0x4000;  // random-filled, memory operands point here
constexpr uint32_t kDataMid = kData + kDataSize / 2;
constexpr uint32_t kStack = 0x108000, kStackSize = 0x2000;
constexpr uint32_t kStackInit = kStack + kStackSize / 2;  // room to pop above and push below
constexpr uint32_t kMapBase = 0x100000, kMapEnd = kStack + kStackSize;

constexpr uint32_t CF = 1u << 0, PF = 1u << 2, AF = 1u << 4, ZF = 1u << 6, SF = 1u << 7,
                   IF = 1u << 9, DF = 1u << 10, OF = 1u << 11;
constexpr uint32_t kArith = CF | PF | AF | ZF | SF | OF;
constexpr uint32_t kCompared = kArith | DF | IF;  // EFLAGS bits the comparison looks at

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };

struct GuestState {
  uint32_t regs[8];
  uint32_t eip;
  uint32_t eflags;
};

struct CaseInput {
  GuestState init;
  std::vector<uint8_t> code;   // at kCode; its last byte is the final hlt
  std::vector<uint8_t> data;   // kDataSize bytes at kData
  std::vector<uint8_t> stack;  // kStackSize bytes at kStack
  uint32_t endEip() const { return kCode + uint32_t(code.size()) - 1; }  // address of the final hlt
};

enum class OutKind { Completed, Exception, Error };

struct Outcome {
  OutKind kind = OutKind::Error;
  int vector = -1;        // Exception: which vector
  GuestState st{};        // Completed: at the final hlt; Exception: at the faulting instruction
  std::vector<uint8_t> data, stack;
  uint32_t skipLo = 0, skipHi = 0;  // memory not compared: the exception frame btvm pushed
  std::string message;    // Error: what went wrong
};

}  // namespace diff
