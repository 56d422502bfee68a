// The host stubs of fpu_stubs.h, generated once as raw bytes into one executable page set
// (8 opcodes x (8 memory forms + 64 register forms) = 576 stubs of 16 bytes, plus one reload).
#include "emu/cpu/fpu_stubs.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace btvm::fpu {

namespace {

constexpr unsigned kStubBytes = 16;
constexpr unsigned kForms = 8 + 64;          // per opcode: memory /0../7, then register C0..FF
constexpr unsigned kStubs = 8 * kForms + 1;  // the last is the reload stub

unsigned formIndex(uint8_t modrm) { return modrm >= 0xc0 ? 8 + (modrm & 0x3f) : (modrm >> 3) & 7; }

struct Stubs {
  uint8_t* code;
  Stubs() {
    size_t size = (kStubs * kStubBytes + 4095) & ~size_t(4095);
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("btvm: mmap of the x87 stubs");
      std::abort();
    }
    code = static_cast<uint8_t*>(p);
    std::memset(code, 0xcc, size);  // int3 padding
    for (unsigned op = 0; op < 8; ++op)
      for (unsigned f = 0; f < kForms; ++f) {
        uint8_t modrm = f < 8 ? uint8_t(f << 3 | 0x07) : uint8_t(0xc0 + f - 8);
        const uint8_t bytes[] = {0xdd, 0x26,                    // frstor [rsi]
                                 0x52, 0x9d,                    // push rdx; popfq
                                 uint8_t(0xd8 + op), modrm,     // the instruction
                                 0x9c, 0x58,                    // pushfq; pop rax
                                 0xdd, 0x36,                    // fnsave [rsi]
                                 0xc3};                         // ret
        std::memcpy(code + (op * kForms + f) * kStubBytes, bytes, sizeof bytes);
      }
    const uint8_t reload[] = {0xdd, 0x26, 0xdd, 0x36, 0xc3};
    std::memcpy(code + (kStubs - 1) * kStubBytes, reload, sizeof reload);
    if (mprotect(p, size, PROT_READ | PROT_EXEC) != 0) {
      std::perror("btvm: mprotect of the x87 stubs");
      std::abort();
    }
  }
};

const Stubs& stubs() {
  static const Stubs s;
  return s;
}

}  // namespace

StubFn stubFor(uint8_t opcode, uint8_t modrm) {
  unsigned i = (opcode - 0xd8u) * kForms + formIndex(modrm);
  return reinterpret_cast<StubFn>(stubs().code + i * kStubBytes);
}

StubFn reloadStub() { return reinterpret_cast<StubFn>(stubs().code + (kStubs - 1) * kStubBytes); }

}  // namespace btvm::fpu
