// PAE paging through the MMU face (mmu/mmu.h, mmu/pae.cpp) against SDM Vol. 3A 4.4 (PAE paging),
// 4.6 (rights), 4.7 (#PF error code), 4.8 (A/D), as on a P6: MAXPHYADDR 36, no XD, no PAT.
// The constants here are written from the SDM tables, not taken from the implementation.
#include <doctest/doctest.h>

#include <memory>

#include "emu/cpu/cpu_state.h"
#include "mmu/mmu.h"
#include "mmu/phys_memory.h"

using namespace btvm;

namespace {

constexpr uint64_t kP = 1, kRW = 2, kUS = 4, kPWT = 8, kPCD = 0x10, kA = 0x20, kD = 0x40, kPS = 0x80,
                   kG = 0x100;
constexpr uint32_t kCr0PE = 1, kCr0WP = 1u << 16, kCr0PG = 1u << 31, kCr4PAE = 1u << 5, kCr4PGE = 1u << 7;
constexpr uint32_t kErrP = 1, kErrW = 2, kErrU = 4, kErrRsvd = 8;

constexpr uint64_t kRam = 8u << 20;
constexpr uint32_t kPdpt = 0x10020;  // 32-byte aligned, not page aligned: CR3 bits 11:5 count
constexpr uint32_t kPD = 0x11000, kPD2 = 0x13000, kPT = 0x12000;
// PDPTE 1, PDE 1, PTE 1, offset 0xabc.
constexpr uint32_t kLin = (1u << 30) | (1u << 21) | (1u << 12) | 0xabc;
// PDPTE 1, PDE 2: a 2 MiB page.
constexpr uint32_t kLin2M = (1u << 30) | (2u << 21) | 0x1abcd;
constexpr uint64_t kFrame = 0x5000, kFrame2 = 0x6000;
constexpr uint64_t kHighFrame = 0x345678000ull;   // above RAM, below 2^36
constexpr uint64_t kBig = 0x123400000ull;          // 2 MiB aligned, above 4 GiB

struct Result {
  bool ok;
  uint64_t phys;
  uint32_t err;
};

struct Fixture {
  PhysMemory mem{kRam};
  std::unique_ptr<CpuState> cpu = std::make_unique<CpuState>();
  Mmu mmu{*cpu, mem};

  Result tr(uint32_t linear, Access kind, bool user) {
    Result r{false, 0xdead, 0xdead};
    r.ok = mmu.translate(linear, kind, user, &r.phys, &r.err);
    return r;
  }
  // A guest store of one 32-bit half, reported as emu/cpu/guest_access.cpp reports it.
  void put32(uint64_t paddr, uint32_t v) {
    if (mem.isTablePage(paddr)) mmu.tableWritten(paddr, 4);
    mem.write32(paddr, v);
  }
  // A 64-bit entry written as two 32-bit stores, low half first.
  void put64(uint64_t paddr, uint64_t v) {
    put32(paddr, uint32_t(v));
    put32(paddr + 4, uint32_t(v >> 32));
  }
  uint64_t get64(uint64_t paddr) { return mem.read32(paddr) | uint64_t(mem.read32(paddr + 4)) << 32; }
  static uint64_t pdeAddr(uint32_t pd, uint32_t lin) { return pd + ((lin >> 21) & 0x1ff) * 8; }
  static uint64_t pteAddr(uint32_t lin) { return kPT + ((lin >> 12) & 0x1ff) * 8; }
  // MOV CR4 (PAE), MOV CR3, MOV CR0 (PG) as the helpers do them.
  void pae(bool wp = true, uint32_t cr4_extra = 0) {
    put64(kPdpt + 8, kPD | kP);
    cpu->cr4 = kCr4PAE | cr4_extra;
    cpu->cr3 = kPdpt;
    REQUIRE(mmu.loadPdptes(kPdpt));
    cpu->cr0 = kCr0PE | kCr0PG | (wp ? kCr0WP : 0);
    mmu.pagingModeChanged();
  }
  void map4K(uint64_t pde_flags, uint64_t pte, uint32_t lin = kLin) {
    put64(pdeAddr(kPD, lin), kPT | pde_flags);
    put64(pteAddr(lin), pte);
  }
  uint8_t* probe(uint32_t linear, bool write, bool user) const {
    const TlbEntry& e = cpu->tlb.entry[user ? 1 : 0][(linear >> 12) & (kTlbSize - 1)];
    if ((write ? e.tag_write : e.tag_read) != linear >> 12) return nullptr;
    return reinterpret_cast<uint8_t*>(e.addend + linear);
  }
};

bool allowed(bool us, bool rw, bool wp, bool user, bool write) {
  if (user) return us && (!write || rw);
  return !write || !wp || rw;
}

}  // namespace

TEST_CASE("pae: a 4 KiB page above 4 GiB, A on both levels, D on a write") {
  Fixture f;
  f.pae();
  f.map4K(kP | kRW | kUS, kHighFrame | kP | kRW | kUS);
  Result r = f.tr(kLin, Access::Read, false);
  REQUIRE(r.ok);
  CHECK(r.phys == (kHighFrame | 0xabc));
  CHECK(f.get64(Fixture::pdeAddr(kPD, kLin)) == (kPT | kP | kRW | kUS | kA));
  CHECK(f.get64(Fixture::pteAddr(kLin)) == (kHighFrame | kP | kRW | kUS | kA));  // high half intact
  r = f.tr(kLin + 4, Access::Write, true);
  REQUIRE(r.ok);
  CHECK(f.get64(Fixture::pteAddr(kLin)) == (kHighFrame | kP | kRW | kUS | kA | kD));
  CHECK(f.get64(Fixture::pdeAddr(kPD, kLin)) == (kPT | kP | kRW | kUS | kA));  // no D in a PDE
  // Above RAM: never in the soft TLB, so every access reaches the all-ones bus.
  f.mmu.fill(kLin, r.phys, Access::Read, false);
  CHECK(f.probe(kLin, false, false) == nullptr);
}

TEST_CASE("pae: a 2 MiB page, CR4.PSE not needed, A and D in the PDE") {
  Fixture f;
  f.pae();
  CHECK((f.cpu->cr4 & 0x10) == 0);
  f.put64(Fixture::pdeAddr(kPD, kLin2M), kBig | kPS | kP | kRW);
  Result r = f.tr(kLin2M, Access::Read, false);
  REQUIRE(r.ok);
  CHECK(r.phys == (kBig | 0x1abcd));
  CHECK(f.get64(Fixture::pdeAddr(kPD, kLin2M)) == (kBig | kPS | kP | kRW | kA));
  REQUIRE(f.tr(kLin2M + 0x1000, Access::Write, false).ok);  // another 4K of it, cached read before
  CHECK(f.get64(Fixture::pdeAddr(kPD, kLin2M)) == (kBig | kPS | kP | kRW | kA | kD));
  Result last = f.tr(kLin2M | 0x1fffff, Access::Read, false);
  CHECK(last.phys == (kBig | 0x1fffff));
}

TEST_CASE("pae: U/S and R/W over PDE and PTE, user and supervisor, read and write, WP 0 and 1") {
  for (int m = 0; m < 64; ++m) {
    bool pde_us = m & 1, pde_rw = m & 2, pte_us = m & 4, pte_rw = m & 8, wp = m & 16, user = m & 32;
    for (bool write : {false, true}) {
      CAPTURE(m);
      CAPTURE(write);
      Fixture f;
      f.pae(wp);
      f.map4K(kP | (pde_us ? kUS : 0) | (pde_rw ? kRW : 0), kFrame | kP | (pte_us ? kUS : 0) | (pte_rw ? kRW : 0));
      REQUIRE(f.tr(kLin, Access::Read, false).ok);  // a supervisor read caches it first
      Result r = f.tr(kLin, write ? Access::Write : Access::Read, user);
      bool ok = allowed(pde_us && pte_us, pde_rw && pte_rw, wp, user, write);
      CHECK(r.ok == ok);
      if (!ok) CHECK(r.err == (kErrP | (write ? kErrW : 0) | (user ? kErrU : 0)));
      CHECK(bool(f.get64(Fixture::pteAddr(kLin)) & kD) == (ok && write));
    }
  }
}

TEST_CASE("pae: not-present PDPTE, PDE and PTE fault with P = 0") {
  Fixture f;
  f.pae();
  f.map4K(kP | kRW | kUS, kFrame | kRW | kUS);  // PTE P = 0, reserved bits ignored when not present
  f.put64(Fixture::pteAddr(kLin), (1ull << 63) | kFrame | kRW | kUS);
  CHECK(f.tr(kLin, Access::Write, true).err == (kErrW | kErrU));
  f.put64(Fixture::pdeAddr(kPD, kLin), (1ull << 40) | kPT);
  CHECK(f.tr(kLin, Access::Read, false).err == 0);
  Result r = f.tr(3u << 30, Access::Write, false);  // PDPTE 3 is not present
  CHECK_FALSE(r.ok);
  CHECK(r.err == kErrW);
}

TEST_CASE("pae: every reserved bit of a present PDE or PTE is a #PF with RSVD and P") {
  struct Case {
    const char* what;
    bool big;        // the PDE maps 2 MiB
    bool in_pte;     // the bit is set in the PTE (else in the PDE)
    int bit;
    bool reserved;
  };
  std::vector<Case> cases;
  for (int b = 36; b < 64; ++b) {
    cases.push_back({"PDE->PT 63:36", false, false, b, true});
    cases.push_back({"PTE 63:36", false, true, b, true});
    cases.push_back({"2M PDE 63:36", true, false, b, true});
  }
  for (int b = 13; b <= 20; ++b) cases.push_back({"2M PDE 20:13", true, false, b, true});
  cases.push_back({"2M PDE PAT (no PAT on a P6)", true, false, 12, true});
  cases.push_back({"PTE PAT (no PAT on a P6)", false, true, 7, true});
  for (int b : {3, 4, 6, 8, 9, 10, 11}) cases.push_back({"PDE->PT ignored/used bit", false, false, b, false});
  for (int b : {3, 4, 8, 9, 10, 11}) cases.push_back({"PTE used/ignored bit", false, true, b, false});
  for (int b : {3, 4, 8, 9, 10, 11}) cases.push_back({"2M PDE used/ignored bit", true, false, b, false});
  for (const Case& c : cases) {
    for (int acc = 0; acc < 4; ++acc) {
      bool write = acc & 1, user = acc & 2;
      CAPTURE(c.what);
      CAPTURE(c.bit);
      CAPTURE(acc);
      Fixture f;
      f.pae();
      uint64_t bit = 1ull << c.bit;
      uint32_t lin = c.big ? kLin2M : kLin;
      if (c.big) {
        f.put64(Fixture::pdeAddr(kPD, lin), kBig | kPS | kP | kRW | kUS | bit);
      } else {
        f.map4K(kP | kRW | kUS | (c.in_pte ? 0 : bit), kFrame | kP | kRW | kUS | (c.in_pte ? bit : 0));
      }
      Result r = f.tr(lin, write ? Access::Write : Access::Read, user);
      uint32_t want = kErrP | kErrRsvd | (write ? kErrW : 0) | (user ? kErrU : 0);
      CHECK(r.ok == !c.reserved);
      if (c.reserved) {
        CHECK(r.err == want);
        CHECK((f.get64(Fixture::pdeAddr(kPD, lin)) & kA) == 0);  // nothing set on a fault
      }
    }
  }
}

TEST_CASE("pae: RSVD comes before a rights violation and before the PTE's P bit") {
  Fixture f;
  f.pae();
  f.map4K(kP | (1ull << 50), kFrame | kRW | kUS);  // supervisor, read-only PDE; PTE not present
  Result r = f.tr(kLin, Access::Write, true);
  CHECK(r.err == (kErrP | kErrRsvd | kErrW | kErrU));
  f.map4K(kP, kFrame | kP | (1ull << 36));  // supervisor read-only PDE and PTE, bad PTE
  CHECK(f.tr(kLin, Access::Write, true).err == (kErrP | kErrRsvd | kErrW | kErrU));
}

TEST_CASE("pae: global pages are legal, with and without CR4.PGE") {
  for (uint32_t pge : {0u, kCr4PGE}) {
    Fixture f;
    f.pae(true, pge);
    f.map4K(kP | kRW | kG, kFrame | kP | kRW | kG);
    f.put64(Fixture::pdeAddr(kPD, kLin2M), kBig | kPS | kP | kG);
    CHECK(f.tr(kLin, Access::Write, false).ok);
    CHECK(f.tr(kLin2M, Access::Read, false).ok);
  }
}

TEST_CASE("pae: PDPTE load: a present entry with a reserved bit fails and loads nothing") {
  Fixture f;
  f.pae();
  uint64_t before[4];
  std::copy(f.cpu->pdpte, f.cpu->pdpte + 4, before);
  constexpr uint32_t kOther = 0x20000;
  for (int b : {1, 2, 5, 6, 7, 8, 36, 40, 52, 62, 63}) {
    CAPTURE(b);
    for (int slot = 0; slot < 4; ++slot) {
      for (int i = 0; i < 4; ++i) f.put64(kOther + 8 * i, i == slot ? (kPD | kP | (1ull << b)) : 0);
      CHECK_FALSE(f.mmu.loadPdptes(kOther));
      CHECK(std::equal(before, before + 4, f.cpu->pdpte));
      f.put64(kOther + 8 * slot, kPD | (1ull << b));  // not present: no bit is checked
      CHECK(f.mmu.loadPdptes(kOther));
      std::copy(before, before + 4, f.cpu->pdpte);
    }
  }
  for (int b : {3, 4, 9, 10, 11}) {  // PWT, PCD, ignored
    f.put64(kOther, kPD | kP | (1ull << b));
    CHECK(f.mmu.loadPdptes(kOther));
    CHECK(f.cpu->pdpte[0] == (kPD | kP | (1ull << b)));
  }
  f.put64(kOther, kPD | kP);
  CHECK(f.mmu.loadPdptes(kOther | 0x1f));  // CR3 bits 4:0 are not part of the address
  CHECK(f.cpu->pdpte[0] == (kPD | kP));
}

TEST_CASE("pae: the PDPT is cached: memory writes are not seen until the next load") {
  Fixture f;
  f.pae();
  f.map4K(kP | kRW, kFrame | kP | kRW);
  f.put64(Fixture::pdeAddr(kPD2, kLin), kPT | kP | kRW);  // PD2 maps kLin via a 2 MiB page instead
  f.put64(Fixture::pdeAddr(kPD2, kLin), kBig | kPS | kP | kRW);
  REQUIRE(f.tr(kLin, Access::Read, false).phys == (kFrame | 0xabc));
  f.put64(kPdpt + 8, kPD2 | kP);  // the guest switches PDPTE 1 in memory
  f.put64(kPdpt + 0, kPD2 | kP);  // and makes PDPTE 0 present
  f.mmu.flushAll();
  f.mmu.invlpg(kLin);
  f.mmu.pagingModeChanged();  // even with every cached translation gone
  CHECK(f.tr(kLin, Access::Read, false).phys == (kFrame | 0xabc));
  CHECK_FALSE(f.tr(0x1000, Access::Read, false).ok);  // PDPTE 0 still not present
  // MOV CR3 (same value) loads the new PDPTEs.
  REQUIRE(f.mmu.loadPdptes(kPdpt));
  f.mmu.cr3Written();
  CHECK(f.tr(kLin, Access::Read, false).phys == (kBig | (kLin & 0x1fffff)));
  // A PDPT with a bad entry cannot be loaded; the registers keep the last good ones.
  f.put64(kPdpt + 8, kPD | kP | kRW);
  CHECK_FALSE(f.mmu.loadPdptes(kPdpt));
  f.mmu.cr3Written();
  CHECK(f.tr(kLin, Access::Read, false).phys == (kBig | (kLin & 0x1fffff)));
}

TEST_CASE("pae: a PTE written in 32-bit halves never leaves a stale translation") {
  Fixture f;
  f.pae();
  f.map4K(kP | kRW, kFrame | kP | kRW);
  Result r = f.tr(kLin, Access::Read, false);
  REQUIRE(r.phys == (kFrame | 0xabc));
  f.mmu.fill(kLin, r.phys, Access::Read, false);
  REQUIRE(f.probe(kLin, false, false) != nullptr);
  uint64_t pte = Fixture::pteAddr(kLin);
  SUBCASE("high half alone") {
    f.put32(pte + 4, 0x1);  // frame now 0x1_0000_5000: above RAM
    CHECK(f.probe(kLin, false, false) == nullptr);
    CHECK(f.tr(kLin, Access::Read, false).phys == (0x100005000ull | 0xabc));
    f.put32(pte + 4, 0x0);
    CHECK(f.tr(kLin, Access::Read, false).phys == (kFrame | 0xabc));
  }
  SUBCASE("low half then high half, each seen") {
    f.put32(pte, uint32_t(kFrame2 | kP | kRW));
    CHECK(f.probe(kLin, false, false) == nullptr);
    CHECK(f.tr(kLin, Access::Read, false).phys == (kFrame2 | 0xabc));  // what a CPU sees mid-way
    f.put32(pte + 4, 0xf);
    CHECK(f.tr(kLin, Access::Read, false).phys == (0xf00006000ull | 0xabc));
  }
  SUBCASE("the neighbouring entry is not dropped") {
    uint32_t next = kLin + 0x1000;
    f.put64(pte + 8, kFrame2 | kP | kRW);
    REQUIRE(f.tr(next, Access::Read, false).ok);
    uint64_t fills = f.mmu.shadowStats().fills;
    f.put32(pte + 4, 0x2);  // the high half of entry 1 (in 4-byte terms: entry 3)
    CHECK(f.tr(next, Access::Read, false).ok);
    CHECK(f.mmu.shadowStats().fills == fills);  // answered from the shadow, no new walk
    CHECK(f.tr(kLin, Access::Read, false).phys == (0x200005000ull | 0xabc));
  }
  SUBCASE("a PDE's high half drops its whole 2 MiB") {
    f.put32(Fixture::pdeAddr(kPD, kLin) + 4, 0x1);  // page table now above RAM: reads all-ones
    Result bad = f.tr(kLin, Access::Read, false);
    CHECK_FALSE(bad.ok);
    CHECK(bad.err == (kErrP | kErrRsvd));
    f.put32(Fixture::pdeAddr(kPD, kLin) + 4, 0x0);
    CHECK(f.tr(kLin, Access::Read, false).phys == (kFrame | 0xabc));
  }
}

TEST_CASE("pae: a 2 MiB PDE rewritten in halves; the translation is dropped at each half") {
  Fixture f;
  f.pae();
  uint64_t pde = Fixture::pdeAddr(kPD, kLin2M);
  f.put64(pde, 0x00400000 | kPS | kP | kRW);
  REQUIRE(f.tr(kLin2M, Access::Read, false).phys == (0x00400000u | 0x1abcd));
  f.put32(pde, uint32_t(0x00600000 | kPS | kP | kRW));
  CHECK(f.tr(kLin2M, Access::Read, false).phys == (0x00600000u | 0x1abcd));
  f.put32(pde + 4, 0x3);
  CHECK(f.tr(kLin2M, Access::Read, false).phys == (0x300600000ull | 0x1abcd));
}

TEST_CASE("pae: CR3 and mode select different shadow contexts") {
  PhysMemory mem(1 << 20);
  ShadowTables s(mem, 8);
  ShadowEntry e{0x77, true, true, false};
  ShadowKey legacy{0x10000, false, {}};
  ShadowKey pae{0x10000, true, {0x11001, 0, 0, 0}};
  s.switchTo(legacy);
  s.insert(5, e, 0x10000, 0x12000);
  s.switchTo(pae);
  CHECK(s.find(5) == nullptr);  // same CR3 value, other mode: another address space
  s.insert(5, ShadowEntry{0x88, true, true, false}, 0x11000, 0x12000);
  ShadowKey pae_b = pae;
  pae_b.cr3 = 0x10020;  // bits 11:5 select another PDPT in PAE mode
  s.switchTo(pae_b);
  CHECK(s.find(5) == nullptr);
  s.switchTo(legacy);
  REQUIRE(s.find(5) != nullptr);
  CHECK(s.find(5)->phys_page == 0x77);
  s.switchTo(pae);
  REQUIRE(s.find(5) != nullptr);
  CHECK(s.find(5)->phys_page == 0x88);
  ShadowKey reloaded = pae;
  reloaded.pdpte[0] = 0x14001;  // same CR3, the PDPT changed and was reloaded
  s.switchTo(legacy);
  s.switchTo(reloaded);
  CHECK(s.find(5) == nullptr);
}

TEST_CASE("pae: shadow invalidation uses 8-byte entries") {
  PhysMemory mem(1 << 20);
  ShadowTables s(mem, 4);
  constexpr uint64_t kPdPage = 0x11000, kPtPage = 0x12000;
  s.switchTo(ShadowKey{0x10000, true, {kPdPage | 1, kPdPage | 1, 0, 0}});
  // PDPTE 1, PDE 1 -> kPtPage; vpns of PTE 0..3 in that 2 MiB.
  uint32_t base = (1u << 18) | (1u << 9);
  for (uint32_t i = 0; i < 4; ++i) s.insert(base + i, ShadowEntry{0x50 + i, true, true, false}, kPdPage, kPtPage);
  s.tableWritten(kPtPage + 2 * 8 + 4, 4, [](uint32_t) {});  // high half of PTE 2
  CHECK(s.find(base + 1) != nullptr);
  CHECK(s.find(base + 2) == nullptr);
  CHECK(s.find(base + 3) != nullptr);
  s.tableWritten(kPtPage + 3 * 8, 8, [](uint32_t) {});  // an 8-byte store (CMPXCHG8B) of PTE 3
  CHECK(s.find(base + 3) == nullptr);
  s.tableWritten(kPdPage + 0 * 8 + 4, 4, [](uint32_t) {});  // PDE 0: another 2 MiB, nothing goes
  CHECK(s.find(base + 0) != nullptr);
  s.tableWritten(kPdPage + 1 * 8 + 4, 4, [](uint32_t) {});  // PDE 1's high half: all of it
  CHECK(s.find(base + 0) == nullptr);
  CHECK(s.find(base + 1) == nullptr);
}
