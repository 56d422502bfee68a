// Sanity tests of the harness itself, against Unicorn only: the oracle reports completions,
// faults and errors as btvm's side does, the undefined-flag masks are exact, and the generator is
// deterministic and replayable.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <vector>

#include "tests/diff/flags.h"
#include "tests/diff/generator.h"
#include "tests/diff/oracle.h"

using namespace diff;

namespace {

CaseInput makeCase(std::vector<uint8_t> code) {
  CaseInput in;
  code.push_back(0xF4);  // final hlt
  in.code = code;
  in.data.assign(kDataSize, 0x11);
  in.stack.assign(kStackSize, 0x22);
  for (uint32_t& r : in.init.regs) r = 0;
  in.init.regs[ESP] = kStackInit;
  in.init.eip = kCode;
  in.init.eflags = 2;
  return in;
}

Outcome masked(const CaseInput& in, Masks* m) {
  Disasm dis;
  return runMasked(in, dis.decode(in.code.data(), in.code.size(), kCode), m);
}

}  // namespace

TEST_CASE("oracle runs to the final hlt with the right state") {
  // mov eax, 0x7fffffff; add eax, 1; mov [0x104010], eax; push eax
  CaseInput in = makeCase({0xB8, 0xFF, 0xFF, 0xFF, 0x7F, 0x83, 0xC0, 0x01, 0xA3, 0x10, 0x40, 0x10,
                           0x00, 0x50});
  Outcome o = runOracle(in);
  REQUIRE(o.kind == OutKind::Completed);
  CHECK(o.st.eip == in.endEip());
  CHECK(o.st.regs[EAX] == 0x80000000u);
  CHECK((o.st.eflags & kArith) == (OF | SF | AF | PF));
  CHECK(o.data[0x10] == 0x00);
  CHECK(o.data[0x13] == 0x80);
  CHECK(o.st.regs[ESP] == kStackInit - 4);
  CHECK(o.stack[kStackInit - 4 - kStack + 3] == 0x80);
}

TEST_CASE("oracle reports #DE at the faulting instruction with the state before it") {
  // mov eax, 5; xor ecx, ecx; div ecx; mov eax, 9
  CaseInput in = makeCase({0xB8, 0x05, 0, 0, 0, 0x31, 0xC9, 0xF7, 0xF1, 0xB8, 0x09, 0, 0, 0});
  Outcome o = runOracle(in);
  REQUIRE(o.kind == OutKind::Exception);
  CHECK(o.vector == 0);
  CHECK(o.st.eip == kCode + 7);
  CHECK(o.st.regs[EAX] == 5);
  CHECK((o.st.eflags & (ZF | PF)) == (ZF | PF));  // from the xor
}

TEST_CASE("oracle reports aam 0 as #DE and ud2 as #UD") {
  Outcome a = runOracle(makeCase({0x90, 0xD4, 0x00}));
  CHECK(a.kind == OutKind::Exception);
  CHECK(a.vector == 0);
  CHECK(a.st.eip == kCode + 1);
  Outcome u = runOracle(makeCase({0x90, 0x0F, 0x0B}));
  CHECK(u.kind == OutKind::Exception);
  CHECK(u.vector == 6);
  CHECK(u.st.eip == kCode + 1);
}

TEST_CASE("oracle reports a wild access as an error") {
  Outcome o = runOracle(makeCase({0xA1, 0x00, 0x00, 0x00, 0x40}));  // mov eax, [0x40000000]
  CHECK(o.kind == OutKind::Error);
  CHECK(!o.message.empty());
}

TEST_CASE("shift masks depend on the executed count") {
  // mov cl, N; shl eax, cl
  for (uint8_t n : {0, 1, 3, 32, 33}) {
    CaseInput in = makeCase({0xB1, n, 0xD3, 0xE0});
    in.init.regs[EAX] = 0x40000001;
    Masks m;
    REQUIRE(masked(in, &m).kind == OutKind::Completed);
    const uint32_t c = n & 31;
    CAPTURE(n);
    CHECK(m.flags == (c == 0 ? 0u : c == 1 ? AF : AF | OF));
  }
  // shr al, 9 (count >= width): CF undefined as well
  Masks m;
  CaseInput in = makeCase({0xC0, 0xE8, 0x09});
  REQUIRE(masked(in, &m).kind == OutKind::Completed);
  CHECK(m.flags == (AF | OF | CF));
  // rol by 1 defines OF; a later add redefines everything
  Masks r;
  REQUIRE(masked(makeCase({0xC1, 0xC0, 0x05, 0x01, 0xD8}), &r).kind == OutKind::Completed);
  CHECK(r.flags == 0);
}

TEST_CASE("imul leaves SF undefined, and bsf with a zero source its destination") {
  Masks m;
  REQUIRE(masked(makeCase({0x0F, 0xAF, 0xC3}), &m).kind == OutKind::Completed);  // imul eax, ebx
  CHECK(m.flags == (SF | ZF | AF | PF));
  Masks b;
  CaseInput in = makeCase({0x0F, 0xBC, 0xC3});  // bsf eax, ebx with ebx = 0
  REQUIRE(masked(in, &b).kind == OutKind::Completed);
  CHECK(b.regBits[EAX] == 0xffffffffu);
  Masks nz;
  in.init.regs[EBX] = 8;
  REQUIRE(masked(in, &nz).kind == OutKind::Completed);
  CHECK(nz.regBits[EAX] == 0);
}

TEST_CASE("rep cmps with ECX = 0 keeps the flags") {
  Masks m;
  CaseInput in = makeCase({0xF3, 0xA6});
  in.init.regs[ESI] = in.init.regs[EDI] = kDataMid;
  REQUIRE(masked(in, &m).kind == OutKind::Completed);
  CHECK(m.flags == 0);
}

TEST_CASE("generator is deterministic and --class replays a case drawn from all classes") {
  std::vector<int> all;
  for (size_t k = 0; k < classNames().size(); k++) all.push_back(int(k));
  for (uint64_t i = 0; i < 200; i++) {
    Case a = generate(42, i, all), b = generate(42, i, all);
    CHECK(a.in.code == b.in.code);
    Case one = generate(42, i, {classIndex(a.cls)});
    CHECK(one.in.code == a.in.code);
    CHECK(one.in.data == a.in.data);
    CHECK(std::equal(one.in.init.regs, one.in.init.regs + 8, a.in.init.regs));
  }
}

TEST_CASE("every class generates cases the oracle runs as the generator expects") {
  for (size_t k = 0; k < classNames().size(); k++) {
    for (uint64_t i = 0; i < 50; i++) {
      Case c = generate(7, i, {int(k)});
      Outcome o = runOracle(c.in);
      CAPTURE(c.cls);
      CAPTURE(i);
      if (c.expectVector < 0) CHECK(o.kind == OutKind::Completed);
      else CHECK((o.kind == OutKind::Exception && o.vector == c.expectVector));
    }
  }
}
