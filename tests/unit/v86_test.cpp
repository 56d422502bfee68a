// Virtual-8086 mode's segment rule and mode predicates (emu/cpu/v86.h, emu/cpu/cpu_state.h; SDM
// vol. 3 20.2.1): what the v86 guest relies on, pinned where a guest cannot see it (the cached
// attributes and what the translator's flat-segment test makes of them).
#include <doctest/doctest.h>

#include "emu/cpu/cpu_state.h"
#include "emu/cpu/v86.h"
#include "mmu/segments.h"

using namespace btvm;

TEST_CASE("v8086: a segment load is base = selector << 4, limit 0xffff, 16-bit RW data, DPL 3") {
  // A 4 GiB limit left by protected mode does not survive, unlike real mode's ("unreal") loads.
  Segment s = v86Segment(0x1234);
  CHECK(s.selector == 0x1234);
  CHECK(s.base == 0x12340);
  CHECK(s.limit == 0xffff);
  CHECK(s.valid);
  CHECK(attr::dpl(s.attr) == 3);
  CHECK((s.attr & attr::kDB) == 0);  // 16-bit code and stack: the block key's kCode16/kStack16
  CHECK((s.attr & attr::kCode) == 0);
  CHECK(segmentAccessOk(s, 0xfffe, 2, true));  // writable, CS included
  CHECK(!segmentAccessOk(s, 0xffff, 2, false));  // an offset past 0xffff: #GP(0)
  CHECK(!segmentAccessOk(s, 0x10000, 1, false));
  CHECK(!segmentIsFlat(v86Segment(0), false));  // never probed inline as flat
}

TEST_CASE("v8086: the mode predicates") {
  CpuState c{};
  c.cr0 = 0x10;  // PE = 0: real mode, whatever EFLAGS.VM says
  c.eflags = flag::VM;
  CHECK(inRealMode(c));
  CHECK(!inV86Mode(c));
  CHECK(realStyleSegments(c));
  c.cr0 = 0x11;  // PE = 1, VM = 1
  CHECK(inV86Mode(c));
  CHECK(realStyleSegments(c));
  c.eflags = 0;  // protected mode
  CHECK(!inV86Mode(c));
  CHECK(!realStyleSegments(c));
}
