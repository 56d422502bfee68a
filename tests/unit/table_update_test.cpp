// Page-table writes under --mmu host in place (mmu/table_update.cpp, mmu/host_mmu_update.cpp):
// what each kind of PTE change does to the host mappings, counted in system calls, and seen
// through /proc/self/maps and through the mappings themselves.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "mmu/host_mmu.h"
#include "mmu/mmu.h"
#include "tests/unit/proc_maps.h"

using namespace btvm;

namespace {

std::string permsOf(const void* p) { return test::regionOf(p).perms.substr(0, 3); }

uint32_t syscalls(const HostMmuStats& s) { return uint32_t(s.mmap_calls + s.unmap_calls + s.mprotect_calls); }

// 32-bit paging: directory at 1 MiB, one page table at 1 MiB + 4 KiB for linear 4..8 MiB.
constexpr uint64_t kPd = 0x100000, kPt = 0x101000;
constexpr uint32_t kLin = 0x400000, kVpn = kLin >> 12;
constexpr uint32_t kP = 1, kRW = 2, kUS = 4, kA = 0x20, kD = 0x40;

struct Paging {
  PhysMemory mem{4 << 20, 0, true};
  CpuState cpu{};
  Mmu mmu{cpu, mem, 4};
  HostMmu host{mem, cpu};
  Paging() {
    mmu.attachHost(&host);
    mem.write32(kPd + 1 * 4, uint32_t(kPt) | kP | kRW | kUS | kA);
    mem.write32(0x200000, 0xf0f0f0f0);
    mem.write32(0x201000, 0x1e1e1e1e);
    cpu.cr3 = uint32_t(kPd);
    cpu.cr0 = 0x80010011;  // PG, WP, PE
    mmu.cr3Written();
    mmu.pagingModeChanged();
  }
  // The guest's store, as guest_access.cpp's writeRam makes it.
  void writePte(uint32_t v) {
    mmu.tableWriteBegin(kPt, 4);
    mem.write32(kPt, v);
    mmu.tableWriteEnd();
  }
  bool load(Access kind) {
    uint64_t phys;
    uint32_t err;
    if (!mmu.translate(kLin, kind, false, &phys, &err)) return false;
    mmu.fill(kLin, phys, kind, false);
    return true;
  }
  uint8_t* at() { return host.base(false) + kLin; }
  uint32_t word() {
    uint32_t v;
    std::memcpy(&v, at(), 4);
    return v;
  }
};

}  // namespace

TEST_CASE("PT write in place: the same value, A/D set or ignored bits keep the mapping (no syscall)") {
  Paging g;
  g.mem.write32(kPt, 0x200000 | kP | kRW | kA | kD);
  REQUIRE(g.load(Access::Write));
  REQUIRE(g.host.mapped(kVpn, false));
  CHECK(permsOf(g.at()) == "rw-");
  uint32_t before = syscalls(g.host.stats);
  g.writePte(0x200000 | kP | kRW | kA | kD);
  g.writePte(0x200000 | kP | kRW | kA | kD | 0xe00 | 0x18);
  CHECK(syscalls(g.host.stats) == before);
  CHECK(g.host.mapped(kVpn, false));
  CHECK(g.word() == 0xf0f0f0f0);
  g.mmu.invlpg(kLin);  // the entry still matches the tables: kept
  CHECK(g.host.mapped(kVpn, false));
  CHECK(syscalls(g.host.stats) == before);
}

TEST_CASE("PT write in place: another frame is one mmap, RW -> RO one mprotect, not present one unmap") {
  Paging g;
  g.mem.write32(kPt, 0x200000 | kP | kRW | kA | kD);
  REQUIRE(g.load(Access::Write));
  HostMmuStats s0 = g.host.stats;
  g.writePte(0x201000 | kP | kRW | kA | kD);
  CHECK(g.host.stats.mmap_calls == s0.mmap_calls + 1);
  CHECK(g.host.stats.unmap_calls == s0.unmap_calls);
  CHECK(g.word() == 0x1e1e1e1e);  // the new frame, through the same host address
  CHECK(permsOf(g.at()) == "rw-");
  g.writePte(0x201000 | kP | kA | kD);  // read-only
  CHECK(g.host.stats.mprotect_calls == s0.mprotect_calls + 1);
  CHECK(permsOf(g.at()) == "r--");
  uint64_t phys;
  uint32_t err;
  CHECK_FALSE(g.mmu.translate(kLin, Access::Write, false, &phys, &err));  // CR0.WP: #PF
  CHECK(err == 3);
  g.writePte(0x201000 | kRW | kA | kD);  // not present
  CHECK_FALSE(g.host.mapped(kVpn, false));
  CHECK(permsOf(g.at()) == "---");
  uint32_t before = syscalls(g.host.stats);
  g.mmu.invlpg(kLin);  // nothing mapped: no syscall
  CHECK(syscalls(g.host.stats) == before);
}

TEST_CASE("PT write in place: cleared A or D goes, so the next access sets it again") {
  Paging g;
  g.mem.write32(kPt, 0x200000 | kP | kRW | kA | kD);
  REQUIRE(g.load(Access::Write));
  g.writePte(0x200000 | kP | kRW | kA);  // D cleared: read-only until a write sets it
  CHECK(permsOf(g.at()) == "r--");
  REQUIRE(g.load(Access::Write));
  CHECK((g.mem.read32(kPt) & kD) != 0);
  CHECK(permsOf(g.at()) == "rw-");
  g.writePte(0x200000 | kP | kRW | kD);  // A cleared: gone until a walk sets it
  CHECK_FALSE(g.host.mapped(kVpn, false));
  REQUIRE(g.load(Access::Read));
  CHECK((g.mem.read32(kPt) & kA) != 0);
}

TEST_CASE("PT write in place: demand paging maps the faulting page at the PTE write") {
  Paging g;
  g.mem.write32(kPt + 4, 0x200000 | kP | kRW | kA | kD);  // the table is watched (entry 1 used)
  uint64_t phys;
  uint32_t err;
  REQUIRE(g.mmu.translate(kLin + 0x1000, Access::Read, false, &phys, &err));
  g.mem.write32(kPt, 0);
  CHECK_FALSE(g.mmu.translate(kLin, Access::Read, false, &phys, &err));  // the guest's #PF
  uint32_t lin = 0;
  bool user = true;
  g.writePte(0x201000 | kP | kRW);  // A clear: the retry must walk to set it, no prefill
  CHECK_FALSE(g.mmu.takeDemandRetry(&lin, &user));
  g.writePte(0x201000 | kP | kRW | kA);
  REQUIRE(g.mmu.takeDemandRetry(&lin, &user));
  CHECK(lin == kLin);
  CHECK_FALSE(user);
  g.mmu.prefill(lin, user);
  CHECK(g.host.mapped(kVpn, false));
  CHECK(permsOf(g.at()) == "r--");  // D clear: the first write walks
  CHECK(g.word() == 0x1e1e1e1e);
  CHECK_FALSE(g.mmu.takeDemandRetry(&lin, &user));  // once
}

TEST_CASE("PT write in place: a page whose translation keeps changing is left to the soft TLB") {
  Paging g;
  // The first write is not trapped yet (no translation came from the table); each later one
  // changes the mapped page's frame.
  for (int i = 0; i <= HostMmu::kChurnLimit; ++i) {
    if (i == HostMmu::kChurnLimit) CHECK(g.host.mapped(kVpn, false));
    g.writePte(uint32_t(0x200000 + (i & 1) * 0x1000) | kP | kRW | kA | kD);
    REQUIRE(g.load(Access::Read));
  }
  // After kChurnLimit changes, never mapped again in this space.
  CHECK(g.host.stats.pages_churning == 1);
  CHECK_FALSE(g.host.mapped(kVpn, false));
  REQUIRE(g.load(Access::Read));
  CHECK_FALSE(g.host.mapped(kVpn, false));
  uint32_t before = syscalls(g.host.stats);
  g.writePte(0x200000 | kP | kRW | kA | kD);
  CHECK(syscalls(g.host.stats) == before);
}

TEST_CASE("PT write in place: a directory entry drops its 4 MiB in one call per view") {
  Paging g;
  for (uint32_t i = 0; i < 8; ++i) g.mem.write32(kPt + 4 * i, (0x200000 + i * 0x1000) | kP | kRW | kUS | kA | kD);
  for (uint32_t i = 0; i < 8; ++i) {
    uint64_t phys;
    uint32_t err;
    for (bool user : {false, true}) {
      REQUIRE(g.mmu.translate(kLin + i * 0x1000, Access::Read, user, &phys, &err));
      g.mmu.fill(kLin + i * 0x1000, phys, Access::Read, user);
    }
  }
  REQUIRE(g.host.mapped(kVpn + 7, true));
  uint64_t unmaps = g.host.stats.unmap_calls;
  g.mmu.tableWriteBegin(kPd + 4, 4);
  g.mem.write32(kPd + 4, 0);
  g.mmu.tableWriteEnd();
  CHECK(g.host.stats.unmap_calls == unmaps + 2);
  for (uint32_t i = 0; i < 8; ++i) {
    CHECK_FALSE(g.host.mapped(kVpn + i, false));
    CHECK_FALSE(g.host.mapped(kVpn + i, true));
    CHECK(permsOf(g.host.base(true) + kLin + i * 0x1000) == "---");
  }
}

TEST_CASE("PT write in place: one write over many live PTEs (REP STOS) unmaps them in runs") {
  Paging g;
  for (uint32_t i = 0; i < 8; ++i) g.mem.write32(kPt + 4 * i, (0x200000 + i * 0x1000) | kP | kRW | kA | kD);
  for (uint32_t i = 0; i < 8; ++i) {
    if (i == 4) continue;  // a hole: two runs
    uint64_t phys;
    uint32_t err;
    REQUIRE(g.mmu.translate(kLin + i * 0x1000, Access::Read, false, &phys, &err));
    g.mmu.fill(kLin + i * 0x1000, phys, Access::Read, false);
  }
  REQUIRE(g.host.mapped(kVpn + 7, false));
  uint64_t unmaps = g.host.stats.unmap_calls;
  g.mmu.tableWriteBegin(kPt, 32);
  for (uint32_t i = 0; i < 8; ++i) g.mem.write32(kPt + 4 * i, 0);
  g.mmu.tableWriteEnd();
  CHECK(g.host.stats.unmap_calls == unmaps + 2);  // pages 0-3 and 5-7
  for (uint32_t i = 0; i < 8; ++i) {
    CHECK_FALSE(g.host.mapped(kVpn + i, false));
    CHECK(permsOf(g.at() + i * 0x1000) == "---");
  }
  // A page mapped again after the batch stays mapped (nothing noted is left over).
  g.mem.write32(kPt, 0x201000 | kP | kRW | kA | kD);
  REQUIRE(g.load(Access::Read));
  CHECK(g.word() == 0x1e1e1e1e);
  CHECK(permsOf(g.at()) == "rw-");  // RW with D set: a read fill opens the write too
}
