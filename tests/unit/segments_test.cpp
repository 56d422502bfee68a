// Segmentation rules (mmu/segments.h) against the SDM: descriptor layout (Vol. 3A 3.4.5), the
// protected-mode checks of MOV/POP Sreg (Vol. 2, MOV and POP) and of far JMP/CALL to a code
// segment (Vol. 2, JMP and CALL), limit checks (Vol. 3A 5.3) and type checks (5.5, table 3-1).
#include <doctest/doctest.h>

#include <initializer_list>

#include "mmu/segments.h"

using namespace btvm;

namespace {

// Segment types (attr bits 0..3, table 3-1).
constexpr uint32_t kDataRO = 0x0, kDataRW = 0x2, kDataRODown = 0x4, kDataRWDown = 0x6;
constexpr uint32_t kCodeXO = 0x8, kCodeXR = 0xa, kCodeXOConf = 0xc, kCodeXRConf = 0xe;
// System types (S = 0): LDT, 32-bit available TSS, 32-bit call gate, 32-bit interrupt gate.
constexpr uint32_t kSysLdt = 0x2, kSysTss = 0x9, kSysCallGate = 0xc, kSysIntGate = 0xe;

// A descriptor's two dwords from its fields, by the layout of SDM Vol. 3A figure 3-8.
struct Desc {
  uint32_t lo, hi;
};
Desc makeDesc(uint32_t base, uint32_t limit20, uint32_t type, bool s, uint32_t dpl, bool p,
              bool avl = false, bool db = true, bool g = false) {
  Desc d;
  d.lo = (base << 16) | (limit20 & 0xffff);
  d.hi = ((base >> 16) & 0xff) | (type << 8) | (uint32_t(s) << 12) | (dpl << 13) | (uint32_t(p) << 15) |
         (limit20 & 0xf0000) | (uint32_t(avl) << 20) | (uint32_t(db) << 22) | (uint32_t(g) << 23) |
         (base & 0xff000000u);
  return d;
}

Segment seg(uint16_t sel, uint32_t type, uint32_t dpl, bool p = true, bool s = true) {
  Desc d = makeDesc(0, 0xfffff, type, s, dpl, p, false, true, true);
  return descriptorToSegment(sel, d.lo, d.hi);
}

// A loaded segment with the given limit and attributes (descriptor type, B bit).
Segment loaded(uint32_t type, uint32_t limit, bool big = true, uint32_t base = 0) {
  Segment s{};
  s.selector = 0x10;
  s.base = base;
  s.limit = limit;
  s.attr = type | attr::kS | attr::kP | (big ? attr::kDB : 0);
  s.valid = true;
  return s;
}

bool isGP(SegFault f, uint32_t err) { return f.vector == kVecGP && f.error == err; }

}  // namespace

TEST_CASE("segments: descriptorToSegment of the classic flat descriptors") {
  // 0x00cf9a000000ffff: base 0, limit 0xfffff 4K-granular, 32-bit, present ring-0 code, readable.
  Segment c = descriptorToSegment(0x08, 0x0000ffff, 0x00cf9a00);
  CHECK(c.selector == 0x08);
  CHECK(c.base == 0);
  CHECK(c.limit == 0xffffffffu);
  CHECK(c.valid);
  CHECK(attr::type(c.attr) == kCodeXR);
  CHECK((c.attr & attr::kS) != 0);
  CHECK((c.attr & attr::kP) != 0);
  CHECK((c.attr & attr::kDB) != 0);
  CHECK((c.attr & attr::kG) != 0);
  CHECK(attr::dpl(c.attr) == 0);
  CHECK(c.attr == 0xc09a);
  // 0x00cff2000000ffff: ring-3 flat read/write data.
  Segment d = descriptorToSegment(0x23, 0x0000ffff, 0x00cff200);
  CHECK(d.selector == 0x23);
  CHECK(d.limit == 0xffffffffu);
  CHECK(attr::type(d.attr) == kDataRW);
  CHECK(attr::dpl(d.attr) == 3);
  CHECK(d.attr == 0xc0f2);
}

TEST_CASE("segments: descriptorToSegment splits base over three fields, byte granularity") {
  // base 0x12345678, limit 0x5abcd, G=0, D/B=0, AVL=0, present DPL-0 RW data, accessed.
  Segment s = descriptorToSegment(0x10, 0x5678abcd, 0x12059334);
  CHECK(s.base == 0x12345678u);
  CHECK(s.limit == 0x5abcdu);
  CHECK(s.attr == 0x0093);  // the limit's high nibble (hi bits 16..19) is not an attribute
  CHECK((s.attr & attr::kAccessed) != 0);
  CHECK((s.attr & attr::kG) == 0);
  CHECK((s.attr & attr::kDB) == 0);
  // The builder gives the same dwords.
  Desc d = makeDesc(0x12345678, 0x5abcd, 0x3, true, 0, true, false, false, false);
  CHECK(d.lo == 0x5678abcdu);
  CHECK(d.hi == 0x12059334u);
}

TEST_CASE("segments: descriptorToSegment with 4K granularity, AVL, D/B and DPL") {
  // Same base and limit, G=1, D/B=1, AVL=1, DPL 3: limit = (0x5abcd << 12) | 0xfff.
  Segment s = descriptorToSegment(0x2b, 0x5678abcd, 0x12d5f334);
  CHECK(s.base == 0x12345678u);
  CHECK(s.limit == 0x5abcdfffu);
  CHECK(s.attr == 0xd0f3);
  CHECK((s.attr & attr::kG) != 0);
  CHECK((s.attr & attr::kDB) != 0);
  CHECK((s.attr & (1u << 12)) != 0);  // AVL
  CHECK(attr::dpl(s.attr) == 3);
  // Limit 0 with G=1 covers one page; limit 0xfffff with G=0 is 1 MiB - 1.
  Desc z = makeDesc(0, 0, kDataRW, true, 0, true, false, true, true);
  CHECK(descriptorToSegment(0x10, z.lo, z.hi).limit == 0xfffu);
  Desc m = makeDesc(0, 0xfffff, kDataRW, true, 0, true, false, true, false);
  CHECK(descriptorToSegment(0x10, m.lo, m.hi).limit == 0xfffffu);
  // Base bytes at each position.
  for (uint32_t base : {0x000000ffu, 0x0000ff00u, 0x00ff0000u, 0xff000000u, 0xffffffffu, 0x00010000u}) {
    CAPTURE(base);
    Desc b = makeDesc(base, 0x1234, kDataRW, true, 0, true);
    CHECK(descriptorToSegment(0x10, b.lo, b.hi).base == base);
    CHECK(descriptorToSegment(0x10, b.lo, b.hi).limit == 0x1234u);
  }
  // A system descriptor (32-bit TSS, DPL 0): S clear, type 9.
  Desc t = makeDesc(0x00012000, 0x67, kSysTss, false, 0, true, false, false, false);
  Segment tss = descriptorToSegment(0x28, t.lo, t.hi);
  CHECK((tss.attr & attr::kS) == 0);
  CHECK(attr::type(tss.attr) == kSysTss);
  CHECK(tss.base == 0x12000u);
  CHECK(tss.limit == 0x67u);
}

TEST_CASE("segments: checkDataSegmentLoad (MOV/POP DS, ES, FS, GS)") {
  SUBCASE("system descriptors -> #GP(selector)") {
    for (uint32_t t : {kSysLdt, kSysTss, kSysCallGate, kSysIntGate}) {
      CAPTURE(t);
      CHECK(isGP(checkDataSegmentLoad(0x28, seg(0x28, t, 0, true, false), 0), 0x28));
      CHECK(isGP(checkDataSegmentLoad(0x2b, seg(0x2b, t, 3, true, false), 3), 0x28));
      CHECK(isGP(checkDataSegmentLoad(0x28, seg(0x28, t, 0, false, false), 0), 0x28));  // not #NP
    }
  }
  SUBCASE("execute-only code -> #GP, readable code allowed") {
    CHECK(isGP(checkDataSegmentLoad(0x08, seg(0x08, kCodeXO, 0), 0), 0x08));
    CHECK(isGP(checkDataSegmentLoad(0x08, seg(0x08, kCodeXOConf, 0), 0), 0x08));
    CHECK(checkDataSegmentLoad(0x08, seg(0x08, kCodeXR, 0), 0).ok());
    CHECK(checkDataSegmentLoad(0x08, seg(0x08, kCodeXRConf, 0), 0).ok());
  }
  SUBCASE("data and non-conforming code: #GP when RPL > DPL or CPL > DPL") {
    for (uint32_t t : {kDataRO, kDataRW, kDataRODown, kDataRWDown, kCodeXR}) {
      for (uint8_t cpl = 0; cpl < 4; ++cpl)
        for (uint16_t rpl = 0; rpl < 4; ++rpl)
          for (uint32_t dpl = 0; dpl < 4; ++dpl) {
            CAPTURE(t);
            CAPTURE(int(cpl));
            CAPTURE(rpl);
            CAPTURE(dpl);
            uint16_t sel = uint16_t(0x40 | rpl);
            SegFault f = checkDataSegmentLoad(sel, seg(sel, t, dpl), cpl);
            if (rpl <= dpl && cpl <= dpl) CHECK(f.ok());
            else CHECK(isGP(f, 0x40));
          }
    }
  }
  SUBCASE("readable conforming code: no privilege check") {
    for (uint8_t cpl = 0; cpl < 4; ++cpl)
      for (uint16_t rpl = 0; rpl < 4; ++rpl)
        for (uint32_t dpl = 0; dpl < 4; ++dpl) {
          uint16_t sel = uint16_t(0x40 | rpl);
          CHECK(checkDataSegmentLoad(sel, seg(sel, kCodeXRConf, dpl), cpl).ok());
        }
  }
  SUBCASE("not present -> #NP(selector), after the type and privilege checks") {
    SegFault f = checkDataSegmentLoad(0x33, seg(0x33, kDataRW, 3, false), 3);
    CHECK(f.vector == kVecNP);
    CHECK(f.error == 0x30);
    CHECK(checkDataSegmentLoad(0x08, seg(0x08, kCodeXRConf, 0, false), 3).vector == kVecNP);
    CHECK(isGP(checkDataSegmentLoad(0x33, seg(0x33, kDataRW, 0, false), 3), 0x30));  // CPL > DPL
    CHECK(isGP(checkDataSegmentLoad(0x08, seg(0x08, kCodeXO, 0, false), 0), 0x08));  // exec-only
  }
  SUBCASE("error code is selector & 0xfffc: index and TI kept, RPL dropped") {
    CHECK(isGP(checkDataSegmentLoad(0xfff, seg(0xfff, kDataRW, 0), 3), 0xffc));
    CHECK(isGP(checkDataSegmentLoad(0x0f, seg(0x0f, kCodeXO, 3), 3), 0x0c));  // LDT selector
    CHECK(checkDataSegmentLoad(0x0f, seg(0x0f, kDataRW, 3, false), 3).error == 0x0c);
  }
}

TEST_CASE("segments: checkStackSegmentLoad (MOV/POP/LSS SS)") {
  SUBCASE("RPL != CPL or DPL != CPL -> #GP(selector)") {
    for (uint8_t cpl = 0; cpl < 4; ++cpl)
      for (uint16_t rpl = 0; rpl < 4; ++rpl)
        for (uint32_t dpl = 0; dpl < 4; ++dpl) {
          CAPTURE(int(cpl));
          CAPTURE(rpl);
          CAPTURE(dpl);
          uint16_t sel = uint16_t(0x50 | rpl);
          SegFault f = checkStackSegmentLoad(sel, seg(sel, kDataRW, dpl), cpl);
          if (rpl == cpl && dpl == cpl) CHECK(f.ok());
          else CHECK(isGP(f, 0x50));
        }
  }
  SUBCASE("only writable data segments") {
    CHECK(checkStackSegmentLoad(0x10, seg(0x10, kDataRW, 0), 0).ok());
    CHECK(checkStackSegmentLoad(0x10, seg(0x10, kDataRWDown, 0), 0).ok());
    CHECK(checkStackSegmentLoad(0x10, seg(0x10, kDataRW | attr::kAccessed, 0), 0).ok());
    for (uint32_t t : {kDataRO, kDataRODown, kCodeXO, kCodeXR, kCodeXOConf, kCodeXRConf}) {
      CAPTURE(t);
      CHECK(isGP(checkStackSegmentLoad(0x10, seg(0x10, t, 0), 0), 0x10));
    }
    for (uint32_t t : {kSysLdt, kSysTss, kSysCallGate, kDataRW}) {  // S=0: type 2 is an LDT here
      CAPTURE(t);
      CHECK(isGP(checkStackSegmentLoad(0x10, seg(0x10, t, 0, true, false), 0), 0x10));
    }
  }
  SUBCASE("not present -> #SS(selector), after the other checks") {
    SegFault f = checkStackSegmentLoad(0x2b, seg(0x2b, kDataRW, 3, false), 3);
    CHECK(f.vector == kVecSS);
    CHECK(f.error == 0x28);
    CHECK(isGP(checkStackSegmentLoad(0x2b, seg(0x2b, kDataRO, 3, false), 3), 0x28));
    CHECK(isGP(checkStackSegmentLoad(0x2b, seg(0x2b, kDataRW, 0, false), 3), 0x28));
  }
}

TEST_CASE("segments: checkCodeSegmentTransfer (far JMP/CALL to a code segment)") {
  SUBCASE("not a code segment -> #GP(selector)") {
    for (uint32_t t : {kDataRO, kDataRW, kDataRWDown}) {
      CAPTURE(t);
      CHECK(isGP(checkCodeSegmentTransfer(0x10, seg(0x10, t, 0), 0), 0x10));
    }
    for (uint32_t t : {kSysLdt, kSysTss, kCodeXR /* = S=0 type 0xa: reserved */}) {
      CAPTURE(t);
      CHECK(isGP(checkCodeSegmentTransfer(0x10, seg(0x10, t, 0, true, false), 0), 0x10));
    }
  }
  SUBCASE("non-conforming: #GP unless RPL <= CPL and DPL == CPL") {
    for (uint32_t t : {kCodeXO, kCodeXR})
      for (uint8_t cpl = 0; cpl < 4; ++cpl)
        for (uint16_t rpl = 0; rpl < 4; ++rpl)
          for (uint32_t dpl = 0; dpl < 4; ++dpl) {
            CAPTURE(t);
            CAPTURE(int(cpl));
            CAPTURE(rpl);
            CAPTURE(dpl);
            uint16_t sel = uint16_t(0x18 | rpl);
            SegFault f = checkCodeSegmentTransfer(sel, seg(sel, t, dpl), cpl);
            if (rpl <= cpl && dpl == cpl) CHECK(f.ok());
            else CHECK(isGP(f, 0x18));
          }
  }
  SUBCASE("conforming: #GP when DPL > CPL, RPL not checked") {
    for (uint32_t t : {kCodeXOConf, kCodeXRConf})
      for (uint8_t cpl = 0; cpl < 4; ++cpl)
        for (uint16_t rpl = 0; rpl < 4; ++rpl)
          for (uint32_t dpl = 0; dpl < 4; ++dpl) {
            CAPTURE(t);
            CAPTURE(int(cpl));
            CAPTURE(rpl);
            CAPTURE(dpl);
            uint16_t sel = uint16_t(0x18 | rpl);
            SegFault f = checkCodeSegmentTransfer(sel, seg(sel, t, dpl), cpl);
            if (dpl <= cpl) CHECK(f.ok());
            else CHECK(isGP(f, 0x18));
          }
  }
  SUBCASE("not present -> #NP(selector), after the privilege check") {
    SegFault f = checkCodeSegmentTransfer(0x1b, seg(0x1b, kCodeXR, 3, false), 3);
    CHECK(f.vector == kVecNP);
    CHECK(f.error == 0x18);
    CHECK(checkCodeSegmentTransfer(0x1b, seg(0x1b, kCodeXRConf, 0, false), 3).vector == kVecNP);
    CHECK(isGP(checkCodeSegmentTransfer(0x1b, seg(0x1b, kCodeXR, 0, false), 3), 0x18));
    CHECK(isGP(checkCodeSegmentTransfer(0x1b, seg(0x1b, kDataRW, 3, false), 3), 0x18));
  }
}

TEST_CASE("segments: segmentAccessOk, expand-up limits") {
  Segment s = loaded(kDataRW, 0xfff);
  CHECK(segmentAccessOk(s, 0, 1, false));
  CHECK(segmentAccessOk(s, 0xfff, 1, false));
  CHECK(segmentAccessOk(s, 0xfff, 1, true));
  CHECK(segmentAccessOk(s, 0xffe, 2, true));
  CHECK(segmentAccessOk(s, 0xffc, 4, false));
  CHECK_FALSE(segmentAccessOk(s, 0xfff, 2, false));
  CHECK_FALSE(segmentAccessOk(s, 0xffd, 4, false));
  CHECK_FALSE(segmentAccessOk(s, 0x1000, 1, false));
  CHECK_FALSE(segmentAccessOk(s, 0xfffffffc, 4, false));
  // Limit 0: only offset 0, one byte.
  Segment z = loaded(kDataRW, 0);
  CHECK(segmentAccessOk(z, 0, 1, false));
  CHECK_FALSE(segmentAccessOk(z, 0, 2, false));
  CHECK_FALSE(segmentAccessOk(z, 1, 1, false));
  // 4 GiB limit: the top dword is inside.
  Segment f = loaded(kDataRW, 0xffffffffu);
  CHECK(segmentAccessOk(f, 0xfffffffc, 4, true));
  CHECK(segmentAccessOk(f, 0, 4, true));
  // The base plays no part in the limit check.
  Segment b = loaded(kDataRW, 0xfff, true, 0xfffff000u);
  CHECK(segmentAccessOk(b, 0xffc, 4, true));
  CHECK_FALSE(segmentAccessOk(b, 0x1000, 1, true));
}

TEST_CASE("segments: segmentAccessOk, expand-down with B=0 and B=1") {
  // Valid offsets are limit+1 .. 0xffff (B=0) or .. 0xffffffff (B=1) (SDM Vol. 3A 5.3).
  Segment s16 = loaded(kDataRWDown, 0xfff, false);
  CHECK_FALSE(segmentAccessOk(s16, 0, 1, false));
  CHECK_FALSE(segmentAccessOk(s16, 0xfff, 1, false));
  CHECK_FALSE(segmentAccessOk(s16, 0xffe, 4, false));  // starts below the limit
  CHECK(segmentAccessOk(s16, 0x1000, 1, false));
  CHECK(segmentAccessOk(s16, 0x1000, 4, true));
  CHECK(segmentAccessOk(s16, 0xfffe, 2, true));
  CHECK(segmentAccessOk(s16, 0xffff, 1, true));
  CHECK_FALSE(segmentAccessOk(s16, 0xffff, 2, false));
  CHECK_FALSE(segmentAccessOk(s16, 0xfffd, 4, false));
  CHECK_FALSE(segmentAccessOk(s16, 0x10000, 1, false));

  Segment s32 = loaded(kDataRWDown, 0xfff, true);
  CHECK_FALSE(segmentAccessOk(s32, 0, 1, false));
  CHECK_FALSE(segmentAccessOk(s32, 0xfff, 1, false));
  CHECK(segmentAccessOk(s32, 0x1000, 1, false));
  CHECK(segmentAccessOk(s32, 0xffff, 2, true));
  CHECK(segmentAccessOk(s32, 0x10000, 4, true));
  CHECK(segmentAccessOk(s32, 0xfffffffc, 4, true));
  CHECK(segmentAccessOk(s32, 0xffffffff, 1, true));

  // Limit 0xffff with B=0: nothing is valid. Limit 0 with B=1: all but offset 0.
  Segment none = loaded(kDataRWDown, 0xffff, false);
  CHECK_FALSE(segmentAccessOk(none, 0xffff, 1, false));
  CHECK_FALSE(segmentAccessOk(none, 0, 1, false));
  Segment most = loaded(kDataRWDown, 0, true);
  CHECK_FALSE(segmentAccessOk(most, 0, 1, false));
  CHECK(segmentAccessOk(most, 1, 1, false));

  // Read-only expand-down: reads only.
  Segment ro = loaded(kDataRODown, 0xfff, true);
  CHECK(segmentAccessOk(ro, 0x2000, 4, false));
  CHECK_FALSE(segmentAccessOk(ro, 0x2000, 4, true));
}

TEST_CASE("segments: segmentAccessOk, access rights by type") {
  // Read-only data: writes fail.
  Segment ro = loaded(kDataRO, 0xffff);
  CHECK(segmentAccessOk(ro, 0x100, 4, false));
  CHECK_FALSE(segmentAccessOk(ro, 0x100, 4, true));
  CHECK_FALSE(segmentAccessOk(loaded(kDataRO | attr::kAccessed, 0xffff), 0, 1, true));
  // Execute-only code: no reads, no writes.
  for (uint32_t t : {kCodeXO, kCodeXOConf}) {
    CAPTURE(t);
    CHECK_FALSE(segmentAccessOk(loaded(t, 0xffff), 0x100, 4, false));
    CHECK_FALSE(segmentAccessOk(loaded(t, 0xffff), 0x100, 4, true));
  }
  // Readable code: reads yes, writes never; a conforming code segment is not expand-down.
  for (uint32_t t : {kCodeXR, kCodeXRConf}) {
    CAPTURE(t);
    CHECK(segmentAccessOk(loaded(t, 0xffff), 0, 4, false));
    CHECK(segmentAccessOk(loaded(t, 0xffff), 0xfffc, 4, false));
    CHECK_FALSE(segmentAccessOk(loaded(t, 0xffff), 0x10000, 1, false));
    CHECK_FALSE(segmentAccessOk(loaded(t, 0xffff), 0x100, 4, true));
  }
}

TEST_CASE("segments: segmentAccessOk, invalid (null) segment") {
  Segment s = loaded(kDataRW, 0xffffffffu);
  s.valid = false;
  CHECK_FALSE(segmentAccessOk(s, 0, 1, false));
  CHECK_FALSE(segmentAccessOk(s, 0x1000, 4, true));
  Segment zero{};
  CHECK_FALSE(segmentAccessOk(zero, 0, 1, false));
}

TEST_CASE("segments: segmentIsFlat") {
  Segment rw = loaded(kDataRW, 0xffffffffu);
  CHECK(segmentIsFlat(rw, false));
  CHECK(segmentIsFlat(rw, true));
  Segment ro = loaded(kDataRO, 0xffffffffu);
  CHECK(segmentIsFlat(ro, false));
  CHECK_FALSE(segmentIsFlat(ro, true));
  Segment xr = loaded(kCodeXR, 0xffffffffu);
  CHECK(segmentIsFlat(xr, false));
  CHECK_FALSE(segmentIsFlat(xr, true));
  Segment xo = loaded(kCodeXO, 0xffffffffu);
  CHECK_FALSE(segmentIsFlat(xo, false));
  CHECK_FALSE(segmentIsFlat(xo, true));
  CHECK_FALSE(segmentIsFlat(loaded(kDataRW, 0xffffffffu, true, 0x1000), false));  // base != 0
  CHECK_FALSE(segmentIsFlat(loaded(kDataRW, 0xfffff), false));                    // limit < 4 GiB
  CHECK_FALSE(segmentIsFlat(loaded(kDataRW, 0xfffffffeu), true));
  CHECK_FALSE(segmentIsFlat(loaded(kDataRWDown, 0, true), false));               // expand-down
  CHECK_FALSE(segmentIsFlat(loaded(kDataRWDown, 0xffffffffu, true), true));
  Segment inv = rw;
  inv.valid = false;
  CHECK_FALSE(segmentIsFlat(inv, false));
  CHECK_FALSE(segmentIsFlat(inv, true));
  // From the descriptor: 0x00cf92000000ffff is flat.
  Segment d = descriptorToSegment(0x10, 0x0000ffff, 0x00cf9200);
  CHECK(segmentIsFlat(d, true));
}
