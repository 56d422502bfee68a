// dbt/raw_emit.h: each byte template, patched with a value, must be exactly what AsmJit itself
// encodes for that instruction (the translator copies templates where it used to encode), and
// the code cache starts on a 2 MiB boundary (huge pages).
#include <doctest/doctest.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "dbt/assembler.h"
#include "dbt/code_cache.h"
#include "dbt/host_regs.h"
#include "dbt/raw_emit.h"

using namespace btvm;
using namespace asmjit;

namespace {

constexpr uint64_t kBase = 0x7f1234560000ull;  // where the code would be installed

// The bytes `emit` produces in a code holder set up for kBase, after `pad` bytes of NOPs.
template <class F>
std::vector<uint8_t> assemble(F emit, size_t pad = 0) {
  CodeHolder code;
  x86::Assembler a;
  AsmErrorHandler eh;
  initAssembler(code, a, eh, kBase);
  for (size_t i = 0; i < pad; ++i) a.nop();
  emit(a);
  code.flatten();
  code.resolveUnresolvedLinks();
  const uint8_t* b = code.textSection()->data();
  return std::vector<uint8_t>(b + pad, b + a.offset());
}

}  // namespace

TEST_CASE("raw_emit: templates equal AsmJit's own encoding") {
  const int32_t eip = int32_t(offsetof(CpuState, eip));
  const int32_t after = int32_t(offsetof(CpuState, insns_after));
  for (int32_t off : {eip, after}) {
    CHECK(assemble([&](x86::Assembler& a) { RawBuf(a).storeImm32(off, 0x89abcdefu); }) ==
          assemble([&](x86::Assembler& a) { a.mov(host::st(size_t(off)), 0x89abcdefu); }));
  }
  CHECK(assemble([](x86::Assembler& a) { RawBuf(a).movR9(0x0123456789abcdefull); }) ==
        assemble([](x86::Assembler& a) { a.movabs(x86::r9, 0x0123456789abcdefull); }));
  CHECK(assemble([](x86::Assembler& a) { RawBuf(a).movR11(0xfedcba9876543210ull); }) ==
        assemble([](x86::Assembler& a) { a.movabs(x86::r11, 0xfedcba9876543210ull); }));
  CHECK(assemble([](x86::Assembler& a) { RawBuf(a).movR9d(0x8000u); }) ==
        assemble([](x86::Assembler& a) { a.mov(x86::r9d, 0x8000u); }));
  CHECK(assemble([](x86::Assembler& a) { RawBuf(a).movR11d(0); }) ==
        assemble([](x86::Assembler& a) { a.mov(x86::r11d, 0); }));
}

TEST_CASE("raw_emit: calls and jumps to absolute addresses are AsmJit's rel32s") {
  for (uint64_t target : {kBase + 0x1000, kBase - 0x40000, kBase + 7}) {
    auto* t = reinterpret_cast<const void*>(target);
    CHECK(assemble([&](x86::Assembler& a) { RawBuf(a).call(t); }, 3) ==
          assemble([&](x86::Assembler& a) { a.call(Imm(target)); }, 3));
    if (target - kBase > 200)  // AsmJit takes rel8 where it reaches; RawBuf always rel32
      CHECK(assemble([&](x86::Assembler& a) { RawBuf(a).jmp(t); }, 5) ==
            assemble([&](x86::Assembler& a) { a.jmp(Imm(target)); }, 5));
  }
  // A near target: still JMP rel32, to the right place.
  auto near = assemble([](x86::Assembler& a) { RawBuf(a).jmp(reinterpret_cast<const void*>(kBase + 7)); }, 5);
  REQUIRE(near.size() == 5);
  CHECK(near[0] == 0xe9);
  int32_t rel;
  std::memcpy(&rel, near.data() + 1, 4);
  CHECK(5 + 5 + rel == 7);
}

TEST_CASE("raw_emit: backward jumps and LEA of an earlier offset, short and long") {
  for (size_t pad : {size_t(0), size_t(100), size_t(125), size_t(126), size_t(127), size_t(300)}) {
    // The target is offset 0; `pad` bytes of code lie between it and the jump.
    auto raw = assemble([&](x86::Assembler& a) {
      for (size_t i = 0; i < pad; ++i) a.nop();
      RawBuf(a).jmpBack(0).leaR11(0);
    });
    auto ref = assemble([&](x86::Assembler& a) {
      Label l = a.newLabel();
      a.bind(l);
      for (size_t i = 0; i < pad; ++i) a.nop();
      a.jmp(l);
      a.lea(x86::r11, x86::ptr(l));
    });
    CHECK(raw == ref);
  }
}

TEST_CASE("raw_emit: jmpNext falls through; copy repeats earlier bytes") {
  auto raw = assemble([](x86::Assembler& a) {
    a.add(x86::eax, x86::ptr(x86::r10, x86::r11, 0, 0, 4));
    size_t end = a.offset();
    RawBuf(a).jmpNext().copy(0, end);
  });
  auto ref = assemble([](x86::Assembler& a) {
    a.add(x86::eax, x86::ptr(x86::r10, x86::r11, 0, 0, 4));
    a.db(0xe9);
    a.dd(0);
    a.add(x86::eax, x86::ptr(x86::r10, x86::r11, 0, 0, 4));
  });
  CHECK(raw == ref);
}

TEST_CASE("code cache: starts on a 2 MiB boundary, next() is where allocate() puts a block") {
  CodeCache cache(4u << 20);
  CHECK(reinterpret_cast<uintptr_t>(cache.base()) % (2u << 20) == 0);
  uint8_t* at = cache.next();
  CHECK(cache.allocate(10) == at);
  CHECK(cache.next() == at + 16);
  CHECK(cache.allocate(size_t(8) << 20) == nullptr);
}

TEST_CASE("raw_emit: lea/load through templates equal AsmJit's, for every displacement width") {
  using host::kGuest64;
  for (int32_t disp : {0, 1, -1, 127, -128, 128, -129, 0x12345678, int32_t(0x80000000u)}) {
    for (const x86::Gp& base : {x86::rax, x86::rbp, x86::r12, x86::r13, x86::r14, x86::rsp}) {
      CHECK(assemble([&](x86::Assembler& a) { RawBuf(a).lea(x86::r10d, base, disp); }) ==
            assemble([&](x86::Assembler& a) { a.lea(x86::r10d, x86::ptr(base, disp)); }));
      CHECK(assemble([&](x86::Assembler& a) { RawBuf(a).lea(x86::r8, base, disp); }) ==
            assemble([&](x86::Assembler& a) { a.lea(x86::r8, x86::ptr(base, disp)); }));
      CHECK(assemble([&](x86::Assembler& a) { RawBuf(a).load(x86::r15, base, disp); }) ==
            assemble([&](x86::Assembler& a) { a.mov(x86::r15, x86::qword_ptr(base, disp)); }));
      CHECK(assemble([&](x86::Assembler& a) { RawBuf(a).load(x86::r8d, base, disp); }) ==
            assemble([&](x86::Assembler& a) { a.mov(x86::r8d, x86::dword_ptr(base, disp)); }));
    }
  }
  // Several pieces in one buffer, fixed sequences among them, in order.
  auto fixed = [](x86::Assembler& a) {
    a.not_(x86::r8);
    a.lea(x86::r15, x86::ptr(x86::r10, x86::r11));
  };
  CHECK(assemble([&](x86::Assembler& a) {
          RawBuf(a).lea(x86::r14, x86::r14, -5).fixed(fixed).load(x86::r15, x86::r13, 0x200).fixed(fixed);
        }) == assemble([&](x86::Assembler& a) {
          a.lea(x86::r14, x86::ptr(x86::r14, -5));
          fixed(a);
          a.mov(x86::r15, x86::qword_ptr(x86::r13, 0x200));
          fixed(a);
        }));
}
