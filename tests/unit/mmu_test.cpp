// The MMU face (mmu/mmu.h): the 32-bit guest page walk against SDM Vol. 3A chapter 4 (4.3 paging,
// 4.6 access rights, 4.7 #PF error code, 4.8 accessed and dirty bits), and the soft TLB that the
// translator probes inline (mmu/tlb.h).
#include <doctest/doctest.h>

#include <initializer_list>

#include <cstring>
#include <memory>

#include "emu/cpu/cpu_state.h"
#include "mmu/mmu.h"
#include "mmu/phys_memory.h"

using namespace btvm;

namespace {

constexpr uint32_t kP = 1, kRW = 2, kUS = 4, kA = 0x20, kD = 0x40, kPS = 0x80;
constexpr uint32_t kCr0PE = 1, kCr0WP = 1u << 16, kCr0PG = 1u << 31, kCr4PSE = 1u << 4;
// #PF error code bits (SDM Vol. 3A 4.7).
constexpr uint32_t kErrP = 1, kErrW = 2, kErrU = 4, kErrRsvd = 8;

constexpr uint64_t kRam = 8u << 20;
constexpr uint32_t kPD = 0x10000;   // page directory
constexpr uint32_t kPT = 0x20000;   // page table for PDE 1 (linear 0x00400000..0x007fffff)
constexpr uint32_t kLin = 0x00401abc;  // PDE 1, PTE 1, offset 0xabc
constexpr uint32_t kFrame = 0x00123000;
constexpr uint32_t kLin4M = 0x00812345;  // PDE 2
constexpr uint32_t kFrame4M = 0x00400000;

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
  uint32_t pdeAddr(uint32_t linear) const { return kPD + (linear >> 22) * 4; }
  uint32_t pteAddr(uint32_t linear) const { return kPT + ((linear >> 12) & 0x3ff) * 4; }
  uint32_t pde(uint32_t linear) { return mem.read32(pdeAddr(linear)); }
  uint32_t pte(uint32_t linear) { return mem.read32(pteAddr(linear)); }
  // A write to guest RAM as the VMM makes it on the guest's behalf: a write to a watched
  // page-table page is reported to the MMU (emu/guest_access.cpp does the same).
  void guestWrite32(uint32_t paddr, uint32_t v) {
    mem.write32(paddr, v);
    if (mem.isTablePage(paddr)) mmu.tableWritten(paddr, 4);
  }
  // 4K mapping of kLin through kPT.
  void map4K(uint32_t pde_flags, uint32_t pte_flags, uint32_t linear = kLin, uint32_t frame = kFrame) {
    guestWrite32(pdeAddr(linear), kPT | pde_flags);
    guestWrite32(pteAddr(linear), frame | pte_flags);
  }
  void map4M(uint32_t pde_bits, uint32_t linear = kLin4M) { guestWrite32(pdeAddr(linear), pde_bits); }
  // MOV to CR3, CR0, CR4 as the VMM's helpers report them.
  void paging(bool wp, bool pse = false) {
    cpu->cr3 = kPD;
    mmu.cr3Written();
    cpu->cr0 = kCr0PE | kCr0PG | (wp ? kCr0WP : 0);
    cpu->cr4 = pse ? kCr4PSE : 0;
    mmu.pagingModeChanged();
  }
  const TlbEntry& entry(uint32_t linear, bool user) const {
    return cpu->tlb.entry[user ? 1 : 0][(linear >> 12) & (kTlbSize - 1)];
  }
  // What the translator's inline probe does: the host pointer on a tag hit, else nullptr.
  uint8_t* probe(uint32_t linear, bool write, bool user) const {
    const TlbEntry& e = entry(linear, user);
    uint32_t tag = write ? e.tag_write : e.tag_read;
    if (tag != linear >> 12) return nullptr;
    return reinterpret_cast<uint8_t*>(e.addend + linear);
  }
  bool allInvalid() const {
    for (const auto& arr : cpu->tlb.entry)
      for (const TlbEntry& e : arr)
        if (e.tag_read != kTlbInvalidTag || e.tag_write != kTlbInvalidTag) return false;
    return true;
  }
};

// SDM Vol. 3A 4.6.1 with CR4.SMEP = SMAP = 0: user accesses need U/S=1 in every level, user writes
// also R/W=1 in every level; supervisor reads always pass, supervisor writes need R/W=1 in every
// level only when CR0.WP=1.
bool allowed(bool us, bool rw, bool wp, bool user, bool write) {
  if (user) return us && (!write || rw);
  return !write || !wp || rw;
}

}  // namespace

TEST_CASE("mmu: paging off is the identity, with no walk") {
  Fixture f;
  f.cpu->cr0 = kCr0PE;
  f.mem.write32(0, 0xffffffffu);  // whatever CR3 points at must not matter
  for (uint32_t lin : {0u, 0x1234u, 0x00401abcu, 0x7fffffffu, 0xfffff123u, 0xffffffffu})
    for (Access k : {Access::Read, Access::Write, Access::Exec})
      for (bool user : {false, true}) {
        CAPTURE(lin);
        Result r = f.tr(lin, k, user);
        CHECK(r.ok);
        CHECK(r.phys == lin);
      }
  CHECK(f.mmu.stats.page_walks == 0);
}

TEST_CASE("mmu: 4K pages, every U/S and R/W at PDE and PTE, user/supervisor read/write, WP 0/1") {
  // Each combination on a fresh machine, once with a cold walk and once after a supervisor read
  // of the page (which any present page allows), so that a cached translation answers.
  int combos = 0;
  for (uint32_t pde_us = 0; pde_us < 2; ++pde_us)
    for (uint32_t pde_rw = 0; pde_rw < 2; ++pde_rw)
      for (uint32_t pte_us = 0; pte_us < 2; ++pte_us)
        for (uint32_t pte_rw = 0; pte_rw < 2; ++pte_rw)
          for (bool wp : {false, true})
            for (bool user : {false, true})
              for (bool write : {false, true})
                for (bool warm : {false, true}) {
                  CAPTURE(pde_us);
                  CAPTURE(pde_rw);
                  CAPTURE(pte_us);
                  CAPTURE(pte_rw);
                  CAPTURE(wp);
                  CAPTURE(user);
                  CAPTURE(write);
                  CAPTURE(warm);
                  Fixture f;
                  f.paging(wp);
                  f.map4K(kP | (pde_us ? kUS : 0) | (pde_rw ? kRW : 0),
                          kP | (pte_us ? kUS : 0) | (pte_rw ? kRW : 0));
                  if (warm) REQUIRE(f.tr(kLin, Access::Read, false).ok);
                  bool want = allowed(pde_us && pte_us, pde_rw && pte_rw, wp, user, write);
                  for (int again = 0; again < 2; ++again) {
                    CAPTURE(again);
                    Result r = f.tr(kLin, write ? Access::Write : Access::Read, user);
                    CHECK(r.ok == want);
                    if (want) {
                      CHECK(r.phys == (kFrame | (kLin & 0xfff)));
                    } else {
                      CHECK(r.err == (kErrP | (write ? kErrW : 0) | (user ? kErrU : 0)));
                    }
                  }
                  ++combos;
                }
  CHECK(combos == 256);
}

TEST_CASE("mmu: instruction fetches are checked as reads (no I/D bit without NX or SMEP)") {
  Fixture f;
  f.paging(true);
  f.map4K(kP | kRW, kP | kRW);  // supervisor page
  Result r = f.tr(kLin, Access::Exec, true);
  CHECK_FALSE(r.ok);
  CHECK(r.err == (kErrP | kErrU));
  CHECK(f.tr(kLin, Access::Exec, false).ok);
  f.map4K(kP | kUS, kP | kUS);  // user read-only page: fetch allowed
  CHECK(f.tr(kLin, Access::Exec, true).ok);
  f.map4K(kP | kUS, kUS);  // not present
  r = f.tr(kLin, Access::Exec, true);
  CHECK_FALSE(r.ok);
  CHECK(r.err == kErrU);
}

TEST_CASE("mmu: not-present PDE or PTE -> #PF with P=0") {
  Fixture f;
  f.paging(true);
  for (bool user : {false, true})
    for (bool write : {false, true}) {
      CAPTURE(user);
      CAPTURE(write);
      uint32_t err = (write ? kErrW : 0) | (user ? kErrU : 0);
      Access k = write ? Access::Write : Access::Read;
      f.map4K(kUS | kRW, kP | kUS | kRW);  // PDE not present
      Result r = f.tr(kLin, k, user);
      CHECK_FALSE(r.ok);
      CHECK(r.err == err);
      f.guestWrite32(f.pdeAddr(kLin), 0xfffff0feu);  // not present, every other bit set
      r = f.tr(kLin, k, user);
      CHECK_FALSE(r.ok);
      CHECK(r.err == err);
      f.map4K(kP | kUS | kRW, kUS | kRW);  // PTE not present
      r = f.tr(kLin, k, user);
      CHECK_FALSE(r.ok);
      CHECK(r.err == err);
      // Not present wins over a protection violation at the other level.
      f.map4K(kP, 0);
      r = f.tr(kLin, k, user);
      CHECK_FALSE(r.ok);
      CHECK(r.err == err);
    }
  // A fresh directory (all zero) maps nothing.
  f.guestWrite32(f.pdeAddr(kLin), 0);
  CHECK_FALSE(f.tr(0, Access::Read, false).ok);
  CHECK_FALSE(f.tr(0xfffff000u, Access::Read, false).ok);
}

TEST_CASE("mmu: CR3's low 12 bits (PWT, PCD) do not move the directory") {
  Fixture f;
  f.paging(true);
  f.cpu->cr3 = kPD | 0x18;
  f.mmu.cr3Written();
  f.map4K(kP | kRW, kP | kRW);
  Result r = f.tr(kLin, Access::Read, false);
  CHECK(r.ok);
  CHECK(r.phys == (kFrame | 0xabc));
}

TEST_CASE("mmu: 4 MiB pages with CR4.PSE, rights from the PDE alone") {
  for (uint32_t us = 0; us < 2; ++us)
    for (uint32_t rw = 0; rw < 2; ++rw)
      for (bool wp : {false, true})
        for (bool user : {false, true})
          for (bool write : {false, true})
            for (bool warm : {false, true}) {
              CAPTURE(us);
              CAPTURE(rw);
              CAPTURE(wp);
              CAPTURE(user);
              CAPTURE(write);
              CAPTURE(warm);
              Fixture f;
              f.paging(wp, true);
              f.map4M(kFrame4M | kPS | kP | (us ? kUS : 0) | (rw ? kRW : 0));
              if (warm) REQUIRE(f.tr(kLin4M, Access::Read, false).ok);
              bool want = allowed(us, rw, wp, user, write);
              for (int again = 0; again < 2; ++again) {
                CAPTURE(again);
                Result r = f.tr(kLin4M, write ? Access::Write : Access::Read, user);
                CHECK(r.ok == want);
                if (want) CHECK(r.phys == (kFrame4M | (kLin4M & 0x3fffff)));
                else CHECK(r.err == (kErrP | (write ? kErrW : 0) | (user ? kErrU : 0)));
              }
            }
  // Offsets across the whole 4 MiB page; the PAT bit (12) is not part of the address.
  Fixture f;
  f.paging(false, true);
  f.map4M(kFrame4M | 0x1000 | kPS | kP | kRW);
  CHECK(f.tr(0x00800000, Access::Read, false).phys == kFrame4M);
  CHECK(f.tr(0x00bfffff, Access::Read, false).phys == kFrame4M + 0x3fffff);
  CHECK(f.tr(0x00a00123, Access::Write, false).phys == kFrame4M + 0x200123);
}

TEST_CASE("mmu: without CR4.PSE a PDE's PS bit is ignored: it points to a page table") {
  Fixture f;
  f.paging(false, false);
  // PDE 2 -> "page table" at kFrame4M; its entry for kLin4M maps 0x5000.
  f.map4M(kFrame4M | kPS | kP | kRW);
  f.guestWrite32(kFrame4M + ((kLin4M >> 12) & 0x3ff) * 4, 0x5000 | kP | kRW);
  Result r = f.tr(kLin4M, Access::Read, false);
  CHECK(r.ok);
  CHECK(r.phys == (0x5000u | (kLin4M & 0xfff)));
  // Bits 13..21 are then address bits, not reserved ones.
  f.map4M(kFrame4M | 0x2000 | kPS | kP | kRW);
  f.guestWrite32(kFrame4M + 0x2000 + ((kLin4M >> 12) & 0x3ff) * 4, 0x6000 | kP);
  r = f.tr(kLin4M, Access::Read, false);
  CHECK(r.ok);
  CHECK(r.phys == (0x6000u | (kLin4M & 0xfff)));
}

TEST_CASE("mmu: 4 MiB PDE with reserved bits 13..21 set -> #PF with P and RSVD") {
  Fixture f;
  for (uint32_t bit = 13; bit <= 21; ++bit)
    for (bool user : {false, true})
      for (bool write : {false, true}) {
        CAPTURE(bit);
        CAPTURE(user);
        CAPTURE(write);
        f.paging(true, true);
        f.map4M(kFrame4M | (1u << bit) | kPS | kP | kRW | kUS);
        Result r = f.tr(kLin4M, write ? Access::Write : Access::Read, user);
        CHECK_FALSE(r.ok);
        CHECK(r.err == (kErrP | kErrRsvd | (write ? kErrW : 0) | (user ? kErrU : 0)));
      }
  // A reserved-bit fault is reported even where the rights would also fail.
  f.paging(true, true);
  f.map4M(kFrame4M | 0x4000 | kPS | kP);
  Result r = f.tr(kLin4M, Access::Write, true);
  CHECK_FALSE(r.ok);
  CHECK((r.err & kErrRsvd) != 0);
  // Reserved bits are not checked in a not-present entry.
  f.map4M(kFrame4M | 0x4000 | kPS);
  r = f.tr(kLin4M, Access::Read, false);
  CHECK_FALSE(r.ok);
  CHECK(r.err == 0);
}

TEST_CASE("mmu: accessed bits on both levels after a walk, dirty only on write") {
  Fixture f;
  f.paging(true);
  uint32_t pde0 = kP | kRW | kUS, pte0 = kP | kRW | kUS;
  SUBCASE("4K read") {
    f.map4K(pde0, pte0);
    REQUIRE(f.tr(kLin, Access::Read, true).ok);
    CHECK(f.pde(kLin) == (kPT | pde0 | kA));
    CHECK(f.pte(kLin) == (kFrame | pte0 | kA));
  }
  SUBCASE("4K fetch") {
    f.map4K(pde0, pte0);
    REQUIRE(f.tr(kLin, Access::Exec, false).ok);
    CHECK(f.pde(kLin) == (kPT | pde0 | kA));
    CHECK(f.pte(kLin) == (kFrame | pte0 | kA));
  }
  SUBCASE("4K write: D in the PTE only (bit 6 of a PDE that points to a table is ignored)") {
    f.map4K(pde0, pte0);
    REQUIRE(f.tr(kLin, Access::Write, false).ok);
    CHECK(f.pde(kLin) == (kPT | pde0 | kA));
    CHECK(f.pte(kLin) == (kFrame | pte0 | kA | kD));
    // A second read keeps D.
    REQUIRE(f.tr(kLin, Access::Read, false).ok);
    CHECK(f.pte(kLin) == (kFrame | pte0 | kA | kD));
  }
  SUBCASE("4K: bits already set stay set, other bits untouched") {
    f.map4K(pde0 | kA | 0x200, pte0 | kA | 0x100 | 0xe00);
    REQUIRE(f.tr(kLin, Access::Read, true).ok);
    CHECK(f.pde(kLin) == (kPT | pde0 | kA | 0x200));
    CHECK(f.pte(kLin) == (kFrame | pte0 | kA | 0x100 | 0xe00));
  }
  SUBCASE("4M read and write") {
    f.paging(true, true);
    uint32_t big = kFrame4M | kPS | kP | kRW | kUS;
    f.map4M(big);
    REQUIRE(f.tr(kLin4M, Access::Read, true).ok);
    CHECK(f.mem.read32(f.pdeAddr(kLin4M)) == (big | kA));
    REQUIRE(f.tr(kLin4M, Access::Write, true).ok);
    CHECK(f.mem.read32(f.pdeAddr(kLin4M)) == (big | kA | kD));
    f.map4M(big);
    REQUIRE(f.tr(kLin4M, Access::Write, false).ok);
    CHECK(f.mem.read32(f.pdeAddr(kLin4M)) == (big | kA | kD));
  }
  CHECK(f.mmu.stats.page_walks > 0);
}

TEST_CASE("mmu: the soft TLB starts invalid; fill with paging off") {
  Fixture f;
  CHECK(f.allInvalid());
  f.cpu->cr0 = kCr0PE;
  uint32_t lin = 0x00005123;
  Result r = f.tr(lin, Access::Read, false);
  REQUIRE(r.ok);
  f.mmu.fill(lin, r.phys, Access::Read, false);
  const TlbEntry& e = f.entry(lin, false);
  CHECK(e.tag_read == (lin >> 12));
  // Without paging every RAM page is writable: a read fill opens writes too.
  CHECK(e.tag_write == (lin >> 12));
  CHECK(e.addend + lin == reinterpret_cast<uint64_t>(f.mem.base() + 0x5123));
  CHECK(e.addend + 0x5000 == reinterpret_cast<uint64_t>(f.mem.base() + 0x5000));
  CHECK(e.addend + 0x5fff == reinterpret_cast<uint64_t>(f.mem.base() + 0x5fff));
  // The user array is separate, and no other entry changed.
  CHECK(f.entry(lin, true).tag_read == kTlbInvalidTag);
  CHECK(f.entry(lin, true).tag_write == kTlbInvalidTag);
  CHECK(f.entry(lin + 0x1000, false).tag_read == kTlbInvalidTag);
  // Probing writes guest RAM.
  uint8_t* p = f.probe(lin, true, false);
  REQUIRE(p != nullptr);
  *p = 0x5a;
  CHECK(f.mem.read8(0x5123) == 0x5a);
  CHECK(f.probe(lin + 0x1000, false, false) == nullptr);
  CHECK(f.probe(lin, false, true) == nullptr);
  // A user fill goes to the user array at the same index.
  f.mmu.fill(lin, r.phys, Access::Read, true);
  CHECK(f.entry(lin, true).tag_read == (lin >> 12));
}

TEST_CASE("mmu: fill with paging on: read fill leaves writes to the slow path") {
  Fixture f;
  f.paging(true);
  f.map4K(kP | kRW | kUS, kP | kRW | kUS);
  for (bool user : {false, true}) {
    CAPTURE(user);
    Result r = f.tr(kLin, Access::Read, user);
    REQUIRE(r.ok);
    f.mmu.fill(kLin, r.phys, Access::Read, user);
    const TlbEntry& e = f.entry(kLin, user);
    CHECK(e.tag_read == (kLin >> 12));
    // The first write must walk (R/W check, dirty bit); once the supervisor pass has set D, a
    // read fill from a writable, dirty translation opens writes too.
    if (!user) {
      CHECK(e.tag_write == kTlbInvalidTag);
      CHECK(f.probe(kLin, true, user) == nullptr);
    } else {
      CHECK(e.tag_write == (kLin >> 12));
    }
    CHECK(e.addend + kLin == reinterpret_cast<uint64_t>(f.mem.base() + kFrame + 0xabc));
    CHECK(f.probe((kLin & ~0xfffu) + 0xfff, false, user) == f.mem.base() + kFrame + 0xfff);
    // A write walk and write fill open the write tag, same addend.
    r = f.tr(kLin, Access::Write, user);
    REQUIRE(r.ok);
    f.mmu.fill(kLin, r.phys, Access::Write, user);
    CHECK(e.tag_write == (kLin >> 12));
    CHECK(e.tag_read == (kLin >> 12));
    CHECK(f.probe(kLin, true, user) == f.mem.base() + kFrame + 0xabc);
  }
  CHECK((f.pte(kLin) & kD) != 0);
  // An exec fill answers reads (IA-32 paging has no execute-only pages).
  f.mmu.flushAll();
  f.mmu.fill(kLin, kFrame, Access::Exec, false);
  CHECK(f.entry(kLin, false).tag_read == (kLin >> 12));
  CHECK(f.entry(kLin, false).tag_write == kTlbInvalidTag);
}

TEST_CASE("mmu: fill replaces the previous page in the same slot without keeping its tags") {
  Fixture f;
  f.paging(true);  // paging on: a read fill must not leave a write tag behind
  uint32_t a = 0x00005000, b = 0x00405000;  // same index (5), different page numbers
  REQUIRE(((a >> 12) & (kTlbSize - 1)) == ((b >> 12) & (kTlbSize - 1)));
  f.mmu.fill(a, 0x5000, Access::Write, false);
  CHECK(f.entry(a, false).tag_write == (a >> 12));
  f.mmu.fill(b, 0x7000, Access::Read, false);
  const TlbEntry& e = f.entry(b, false);
  CHECK(e.tag_read == (b >> 12));
  CHECK(e.tag_write == kTlbInvalidTag);  // not a's tag with b's addend
  CHECK(f.probe(a, false, false) == nullptr);
  CHECK(f.probe(a, true, false) == nullptr);
  CHECK(f.probe(b + 4, false, false) == f.mem.base() + 0x7004);
}

TEST_CASE("mmu: code pages never get a write tag") {
  Fixture f;
  f.mem.addCodePage(kFrame);
  SUBCASE("paging off, read fill") {
    f.cpu->cr0 = kCr0PE;
    f.mmu.fill(kFrame + 0x10, kFrame + 0x10, Access::Read, false);
    CHECK(f.entry(kFrame, false).tag_read == (kFrame >> 12));
    CHECK(f.entry(kFrame, false).tag_write == kTlbInvalidTag);
  }
  SUBCASE("paging off, write fill") {
    f.cpu->cr0 = kCr0PE;
    f.mmu.fill(kFrame + 0x10, kFrame + 0x10, Access::Write, true);
    CHECK(f.entry(kFrame, true).tag_write == kTlbInvalidTag);
    CHECK(f.probe(kFrame + 0x10, true, true) == nullptr);
  }
  SUBCASE("paging on, write fill") {
    f.paging(true);
    f.map4K(kP | kRW, kP | kRW);
    Result r = f.tr(kLin, Access::Write, false);
    REQUIRE(r.ok);
    f.mmu.fill(kLin, r.phys, Access::Write, false);
    CHECK(f.entry(kLin, false).tag_write == kTlbInvalidTag);
    CHECK(f.probe(kLin, true, false) == nullptr);
  }
  SUBCASE("after removeCodePage the write tag is allowed again") {
    f.cpu->cr0 = kCr0PE;
    f.mem.removeCodePage(kFrame);
    f.mmu.fill(kFrame, kFrame, Access::Write, false);
    CHECK(f.entry(kFrame, false).tag_write == (kFrame >> 12));
  }
}

TEST_CASE("mmu: dropWriteTags revokes the write tags of a page that just became watched") {
  Fixture f;
  f.cpu->cr0 = kCr0PE;
  f.mmu.fill(0x00005000, 0x5000, Access::Write, false);
  f.mmu.fill(0x00105000, 0x5000, Access::Write, true);   // an alias of the same frame
  f.mmu.fill(0x00006000, 0x6000, Access::Write, false);
  f.mem.addCodePage(0x5000);
  dropWriteTags(f.cpu->tlb, f.mem.base() + 0x5000);
  CHECK(f.probe(0x00005000, true, false) == nullptr);
  CHECK(f.probe(0x00105000, true, true) == nullptr);
  CHECK(f.probe(0x00005000, false, false) == f.mem.base() + 0x5000);  // reads still inline
  CHECK(f.probe(0x00105004, false, true) == f.mem.base() + 0x5004);
  CHECK(f.probe(0x00006000, true, false) == f.mem.base() + 0x6000);   // other pages untouched
}

TEST_CASE("mmu: flushPage and flushAll invalidate") {
  Fixture f;
  f.cpu->cr0 = kCr0PE;
  for (uint32_t lin : {0x1000u, 0x2000u, 0x3000u})
    for (bool user : {false, true}) f.mmu.fill(lin, lin, Access::Write, user);
  REQUIRE(f.probe(0x2000, true, false) != nullptr);
  REQUIRE(f.probe(0x2000, false, true) != nullptr);
  f.mmu.flushPage(0x2abc);  // any address inside the page
  for (bool user : {false, true}) {
    CAPTURE(user);
    CHECK(f.entry(0x2000, user).tag_read == kTlbInvalidTag);
    CHECK(f.entry(0x2000, user).tag_write == kTlbInvalidTag);
    CHECK(f.probe(0x1000, true, user) != nullptr);
    CHECK(f.probe(0x3000, false, user) != nullptr);
  }
  uint64_t flushes = f.mmu.stats.tlb_flushes;
  f.mmu.flushAll();
  CHECK(f.allInvalid());
  CHECK(f.mmu.stats.tlb_flushes == flushes + 1);
  CHECK(f.probe(0x1000, false, false) == nullptr);
  CHECK(f.probe(0x3000, true, true) == nullptr);
}

TEST_CASE("mmu: an address outside RAM is never filled") {
  Fixture f;
  f.cpu->cr0 = kCr0PE;
  for (uint64_t phys : {uint64_t(kRam), uint64_t(kRam) + 0x123, uint64_t(0xfee00000u), uint64_t(0xfffff000u)})
    for (Access k : {Access::Read, Access::Write, Access::Exec})
      for (bool user : {false, true}) {
        CAPTURE(phys);
        f.mmu.fill(uint32_t(phys), phys, k, user);
        CHECK(f.entry(uint32_t(phys), user).tag_read == kTlbInvalidTag);
        CHECK(f.entry(uint32_t(phys), user).tag_write == kTlbInvalidTag);
      }
  CHECK(f.allInvalid());
  // The last RAM page is filled; with paging a mapping to a page outside RAM is not.
  f.mmu.fill(uint32_t(kRam - 0x1000), kRam - 0x1000, Access::Read, false);
  CHECK(f.entry(uint32_t(kRam - 0x1000), false).tag_read == uint32_t((kRam - 0x1000) >> 12));
  f.paging(true);
  f.map4K(kP | kRW, kP | kRW, kLin, 0xfee00000u);
  Result r = f.tr(kLin, Access::Write, false);
  REQUIRE(r.ok);
  CHECK(r.phys == 0xfee00abcu);
  f.mmu.fill(kLin, r.phys, Access::Write, false);
  CHECK(f.entry(kLin, false).tag_read == kTlbInvalidTag);
  CHECK(f.entry(kLin, false).tag_write == kTlbInvalidTag);
}

TEST_CASE("mmu: guest page-table pages are watched: no write tag for them") {
  Fixture f;
  f.paging(true);
  f.map4K(kP | kRW, kP | kRW);
  // A second mapping whose frame is the page table itself (as kernels map their own tables).
  const uint32_t lin_pt = (kLin & ~0xfffu) + 0x1000;
  f.map4K(kP | kRW, kP | kRW, lin_pt, kPT);
  REQUIRE(f.tr(kLin, Access::Read, false).ok);  // the walk makes kPD and kPT watched pages
  CHECK(f.mem.isTablePage(kPD));
  CHECK(f.mem.isTablePage(kPT));
  CHECK_FALSE(f.mem.isTablePage(kFrame));
  Result r = f.tr(lin_pt, Access::Write, false);
  REQUIRE(r.ok);
  CHECK(r.phys == kPT);
  f.mmu.fill(lin_pt, r.phys, Access::Write, false);
  CHECK(f.entry(lin_pt, false).tag_write == kTlbInvalidTag);
  CHECK(f.probe(lin_pt, true, false) == nullptr);
  // Reads of it still hit inline.
  f.mmu.fill(lin_pt, r.phys, Access::Read, false);
  CHECK(f.probe(lin_pt + 4, false, false) == f.mem.base() + kPT + 4);
}

// The face's "these guest pages changed" calls: a translation cached anywhere (shadow tables, soft
// TLB) must follow the guest's tables after INVLPG, a reported write to a table page, a CR3
// switch, or a paging-mode change (SDM Vol. 3A 4.10.4: INVLPG and MOV to CR3 invalidate).
TEST_CASE("mmu: changes of the guest's tables are seen after INVLPG, table writes and CR3 loads") {
  Fixture f;
  f.paging(true);
  constexpr uint32_t kFrame2 = 0x00200000;
  f.map4K(kP | kRW | kUS, kP | kRW | kUS);
  REQUIRE(f.tr(kLin, Access::Read, true).phys == (kFrame | 0xabc));
  f.mmu.fill(kLin, kFrame, Access::Read, true);
  REQUIRE(f.probe(kLin, false, true) != nullptr);

  SUBCASE("a reported PTE write drops the cached translation and the TLB entry") {
    f.guestWrite32(f.pteAddr(kLin), kFrame2 | kP | kRW | kUS);
    CHECK(f.probe(kLin, false, true) == nullptr);
    CHECK(f.tr(kLin, Access::Read, true).phys == (kFrame2 | 0xabc));
  }
  SUBCASE("a reported PDE write drops the translations below it") {
    f.guestWrite32(f.pdeAddr(kLin), 0);
    CHECK(f.probe(kLin, false, true) == nullptr);
    Result r = f.tr(kLin, Access::Read, true);
    CHECK_FALSE(r.ok);
    CHECK(r.err == kErrU);
  }
  SUBCASE("a reported write that lowers rights") {
    f.guestWrite32(f.pteAddr(kLin), kFrame | kP);  // supervisor read-only now
    Result r = f.tr(kLin, Access::Read, true);
    CHECK_FALSE(r.ok);
    CHECK(r.err == (kErrP | kErrU));
    CHECK(f.tr(kLin, Access::Read, false).ok);
  }
  SUBCASE("INVLPG after an unreported write") {
    f.mem.write32(f.pteAddr(kLin), kFrame2 | kP | kRW | kUS);
    f.mmu.invlpg(kLin + 0x123);
    CHECK(f.probe(kLin, false, true) == nullptr);
    CHECK(f.tr(kLin, Access::Read, true).phys == (kFrame2 | 0xabc));
  }
  SUBCASE("CR3 switch to another directory and back") {
    constexpr uint32_t kPD2 = 0x30000, kPT2 = 0x31000;
    f.mem.write32(kPD2 + (kLin >> 22) * 4, kPT2 | kP | kRW | kUS);
    f.mem.write32(kPT2 + ((kLin >> 12) & 0x3ff) * 4, kFrame2 | kP | kRW | kUS);
    f.cpu->cr3 = kPD2;
    f.mmu.cr3Written();
    CHECK(f.allInvalid());
    CHECK(f.tr(kLin, Access::Read, true).phys == (kFrame2 | 0xabc));
    f.cpu->cr3 = kPD;
    f.mmu.cr3Written();
    CHECK(f.allInvalid());
    CHECK(f.tr(kLin, Access::Read, true).phys == (kFrame | 0xabc));
    // The first directory changes while the second is current: seen on the way back.
    f.cpu->cr3 = kPD2;
    f.mmu.cr3Written();
    REQUIRE(f.tr(kLin, Access::Read, true).phys == (kFrame2 | 0xabc));
    f.guestWrite32(f.pteAddr(kLin), 0x00300000 | kP | kUS);
    f.cpu->cr3 = kPD;
    f.mmu.cr3Written();
    CHECK(f.tr(kLin, Access::Read, true).phys == (0x00300000u | 0xabc));
  }
  SUBCASE("CR4.PSE set: the same PDE now maps a 4 MiB page") {
    f.map4M(kFrame4M | kPS | kP | kRW | kUS, kLin);  // PDE 1, as a table pointer: to kFrame4M
    f.guestWrite32(kFrame4M + ((kLin >> 12) & 0x3ff) * 4, kFrame2 | kP | kRW | kUS);
    CHECK(f.tr(kLin, Access::Read, true).phys == (kFrame2 | 0xabc));
    f.cpu->cr4 = kCr4PSE;
    f.mmu.pagingModeChanged();
    CHECK(f.allInvalid());
    CHECK(f.tr(kLin, Access::Read, true).phys == (kFrame4M | (kLin & 0x3fffff)));
  }
}

// A page becomes a watched page-table page on the first walk through it; a soft-TLB write tag
// filled for it *before* that must be revoked, or translated code would store into the guest's
// page table inline, no tableWritten() would reach the MMU, and a cached translation derived from
// the old PTE would survive a CR3 reload (SDM Vol. 3A 4.10.4.1: MOV to CR3 invalidates all
// non-global TLB entries; DESIGN.md: "Pages that hold guest page tables are write-protected in the
// soft TLB").
TEST_CASE("mmu: a page that becomes a page table loses its soft-TLB write tag") {
  Fixture f;
  f.paging(true);
  constexpr uint32_t kT = 0x00040000;       // a RAM page the guest will use as a page table
  constexpr uint32_t kLinT = 0x00403000;    // the kernel's writable mapping of it (PDE 1, PTE 3)
  constexpr uint32_t kX = 0x00c05000;       // PDE 3, PTE 5: mapped through kT
  constexpr uint32_t kF1 = 0x00150000, kF2 = 0x00160000;
  f.map4K(kP | kRW, kP | kRW, kLinT, kT);
  // The guest's store through its mapping, as translated code makes it: inline when the soft TLB
  // has a write tag, else through the slow path (which reports writes to watched pages).
  auto guestStore = [&](uint32_t linear, uint32_t v) {
    if (uint8_t* p = f.probe(linear, true, false)) {
      std::memcpy(p, &v, 4);
      return;
    }
    Result r = f.tr(linear, Access::Write, false);
    REQUIRE(r.ok);
    f.guestWrite32(uint32_t(r.phys), v);
    f.mmu.fill(linear, r.phys, Access::Write, false);
  };
  guestStore(kLinT + ((kX >> 12) & 0x3ff) * 4, kF1 | kP | kRW);  // fills the write tag (kT unwatched)
  REQUIRE(f.probe(kLinT, true, false) != nullptr);
  f.guestWrite32(f.pdeAddr(kX), kT | kP | kRW);                   // kT is now a page table
  REQUIRE(f.tr(kX, Access::Read, false).phys == kF1);             // walked: kT is watched
  CHECK(f.mem.isTablePage(kT));
  CHECK(f.probe(kLinT, true, false) == nullptr);  // the old write tag is gone
  // The consequence: the guest remaps kX, reloads CR3 (no INVLPG needed) and sees the old frame.
  guestStore(kLinT + ((kX >> 12) & 0x3ff) * 4, kF2 | kP | kRW);
  f.cpu->cr3 = kPD;
  f.mmu.cr3Written();  // MOV CR3, same value: flushes every non-global translation
  CHECK(f.tr(kX, Access::Read, false).phys == kF2);  // not kF1 from a stale cached entry
}
