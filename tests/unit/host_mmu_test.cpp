// The host MMU (--mmu host, mmu/host_mmu.h): each space is exactly 4 GiB + a guard page of
// PROT_NONE reservation per view; guest pages are mapped onto the memory file with the rights
// asked for, and disappear with their shadow entry, their context, a watch or a flush. Checked
// against the kernel's own view of this process (/proc/self/maps) and through the mappings.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "dbt/host_fault.h"
#include "mmu/host_mmu.h"
#include "mmu/mmu.h"
#include "mmu/shadow.h"
#include "tests/unit/proc_maps.h"

using namespace btvm;

namespace {

using test::Region;
using test::regionOf;

struct Fixture {
  PhysMemory mem{1 << 20, 0, true};
  CpuState cpu{};
  HostMmu host{mem, cpu};
};

// The MMU with the host MMU attached, as the machine sets them up.
struct HostedMmu {
  PhysMemory mem{16 << 20, 0, true};
  CpuState cpu{};
  Mmu mmu{cpu, mem, 4};
  HostMmu host{mem, cpu};
  HostedMmu() { mmu.attachHost(&host); }
};

}  // namespace

TEST_CASE("host MMU: a reservation is exactly 4 GiB + one guard page, PROT_NONE, per view") {
  Fixture f;
  for (bool user : {false, true}) {
    uint8_t* b = f.host.base(user);
    CHECK(f.cpu.host_base[user] == reinterpret_cast<uint64_t>(b));
    Region r = regionOf(b);
    CHECK(r.perms.substr(0, 3) == "---");
    CHECK(r.start <= reinterpret_cast<uint64_t>(b));
    // The whole 4 GiB + guard is reserved (adjacent PROT_NONE reservations may merge into one
    // region in the kernel's list, so only "at least" can be seen there).
    CHECK(r.end >= reinterpret_cast<uint64_t>(b) + HostMmu::kReserveBytes);
  }
  CHECK(HostMmu::kReserveBytes == (1ull << 32) + 4096);
  // 2 GiB below each view and 30 GiB past its guard page are reserved too (folded addresses:
  // an unwrapped [index*8 + disp] reaches 32 GiB + 2^28).
  for (bool user : {false, true}) {
    uint8_t* b = f.host.base(user);
    Region lo = regionOf(b - HostMmu::kLowGuardBytes);
    CHECK(lo.perms.substr(0, 3) == "---");
    CHECK(lo.end >= reinterpret_cast<uint64_t>(b));
    Region hi = regionOf(b + (1ull << 32) + HostMmu::kHighGuardBytes - 1);
    CHECK(hi.perms.substr(0, 3) == "---");
    CHECK(hi.start <= reinterpret_cast<uint64_t>(b) + (1ull << 32));
  }
  auto b0 = reinterpret_cast<uint64_t>(f.host.base(false)), b1 = reinterpret_cast<uint64_t>(f.host.base(true));
  CHECK((b0 > b1 ? b0 - b1 : b1 - b0) >= HostMmu::kViewBytes);  // the views and guards never overlap
}

TEST_CASE("host MMU: pages map onto guest RAM with the rights given, and unmap again") {
  Fixture f;
  f.mem.write32(0x5000, 0xfeedc0de);
  f.host.map(0xfffff, 5, false, false);  // the top linear page, read-only, supervisor view
  uint8_t* top = f.host.base(false) + 0xfffff000ull;
  CHECK(regionOf(top).perms.substr(0, 3) == "r--");
  uint32_t v;
  std::memcpy(&v, top, 4);
  CHECK(v == 0xfeedc0de);
  CHECK(regionOf(top + 4096).perms.substr(0, 3) == "---");  // the guard page stays unmapped
  CHECK_FALSE(f.host.mapped(0xfffff, true));                 // the user view is apart
  CHECK(regionOf(f.host.base(true) + 0xfffff000ull).perms.substr(0, 3) == "---");

  f.host.map(0x10, 6, true, true);  // writable, user view: writes land in guest RAM
  uint8_t* p = f.host.base(true) + 0x10000;
  CHECK(regionOf(p).perms.substr(0, 3) == "rw-");
  uint32_t w = 0x12345678;
  std::memcpy(p + 8, &w, 4);
  CHECK(f.mem.read32(0x6008) == 0x12345678);

  f.host.dropPhys(0x6000);  // watched: gone from every space
  CHECK_FALSE(f.host.mapped(0x10, true));
  CHECK(regionOf(p).perms.substr(0, 3) == "---");
  CHECK(f.host.mapped(0xfffff, false));
  f.host.map(0x11, 0x200, false, true);  // outside RAM (1 MiB): never mapped
  CHECK_FALSE(f.host.mapped(0x11, false));
  f.host.clearAll();
  CHECK_FALSE(f.host.mapped(0xfffff, false));
  CHECK(regionOf(top).perms.substr(0, 3) == "---");
}

TEST_CASE("guest RAM: zero-filling whole pages drops them, a mapped view reads the zeros too") {
  for (bool shareable : {true, false}) {
    PhysMemory mem{1 << 20, 0, shareable};
    for (uint32_t a = 0x5000; a < 0x9000; a += 4) mem.write32(a, 0xa5a5a5a5);
    CpuState cpu{};
    std::optional<HostMmu> host;  // only over a memory file
    if (shareable) host.emplace(mem, cpu).map(0x40, 6, false, true);  // linear 0x40000 -> RAM 0x6000
    mem.fill(0x5ffe, 0, 0x2004);  // the end of page 5, pages 6 and 7, the start of page 8
    CHECK(mem.read8(0x5ffd) == 0xa5);
    CHECK(mem.read8(0x5ffe) == 0);
    CHECK(mem.read32(0x6000) == 0);
    CHECK(mem.read32(0x7ffc) == 0);
    CHECK(mem.read8(0x8001) == 0);
    CHECK(mem.read8(0x8002) == 0xa5);
    if (shareable) {
      uint32_t v = 1;
      std::memcpy(&v, host->base(false) + 0x40010, 4);
      CHECK(v == 0);
    }
    mem.write32(0x6010, 0x600dcafe);  // the dropped page is RAM as before
    CHECK(mem.read32(0x6010) == 0x600dcafe);
    mem.fill(0x9000, 0x11, 0x1000);  // other values are stored
    CHECK(mem.read8(0x9fff) == 0x11);
  }
}

TEST_CASE("host MMU: spaces follow shadow contexts; dropped entries and contexts unmap") {
  PhysMemory mem(1 << 20, 0, true);
  CpuState cpu{};
  HostMmu host(mem, cpu);
  ShadowTables shadow(mem, 1);
  shadow.attachHost(&host);
  shadow.switchTo(uint32_t(0x10000));
  host.select(shadow.currentId());
  uint8_t* a_base = host.base(false);
  shadow.insert(7, ShadowEntry{0x30, true, false, true}, 0x10000, 0x20000);
  host.map(7, 0x30, false, true);
  CHECK(host.mapped(7, false));
  shadow.tableWritten(0x20000 + 7 * 4, 4, [](uint32_t) {});  // the PTE for page 7 changed
  CHECK_FALSE(host.mapped(7, false));
  CHECK(regionOf(a_base + 0x7000).perms.substr(0, 3) == "---");

  shadow.insert(8, ShadowEntry{0x31, true, false, true}, 0x10000, 0x20000);
  host.map(8, 0x31, false, false);
  shadow.switchTo(uint32_t(0x11000));  // capacity 1: the first context is forgotten
  host.select(shadow.currentId());
  CHECK(regionOf(a_base + 0x8000).perms.substr(0, 3) == "---");
  CHECK(host.stats.spaces_cleared >= 1);
}

TEST_CASE_FIXTURE(HostedMmu, "host MMU: the MMU maps on fill and keeps a space per address space across CR3 switches") {
  // Paging off: linear = physical, writable unless watched.
  uint64_t phys;
  uint32_t err;
  REQUIRE(mmu.translate(0x3000, Access::Read, false, &phys, &err));
  mmu.fill(0x3000, phys, Access::Read, false);
  CHECK(host.mapped(3, false));
  mem.addCodePage(0x3000);  // translated code there now: the mapping goes
  CHECK_FALSE(host.mapped(3, false));
  // Paging on: a directory at 0x100000 with one table mapping linear 0x400000 -> 0x200000.
  mem.write32(0x100000 + 1 * 4, 0x101000 | 7);
  mem.write32(0x101000, 0x200000 | 7 | 0x40);  // P RW US D
  cpu.cr3 = 0x100000;
  cpu.cr0 = 0x80000011;
  mmu.cr3Written();
  uint8_t* space1 = host.base(false);
  REQUIRE(mmu.translate(0x400000, Access::Write, false, &phys, &err));
  CHECK(phys == 0x200000);
  mmu.fill(0x400000, phys, Access::Write, false);
  CHECK(host.mapped(0x400, false));
  CHECK(regionOf(space1 + 0x400000).perms.substr(0, 3) == "rw-");
  // Another address space and back: the first one's mapping is still there.
  mem.write32(0x102000 + 1 * 4, 0x101000 | 7);
  cpu.cr3 = 0x102000;
  mmu.cr3Written();
  CHECK(host.base(false) != space1);
  CHECK_FALSE(host.mapped(0x400, false));
  cpu.cr3 = 0x100000;
  mmu.cr3Written();
  CHECK(host.base(false) == space1);
  CHECK(host.mapped(0x400, false));
  // The guest writes the PTE (a watched table page): every space drops what it gave.
  mmu.tableWritten(0x101000, 4);
  CHECK_FALSE(host.mapped(0x400, false));
  CHECK(regionOf(space1 + 0x400000).perms.substr(0, 3) == "---");
}

TEST_CASE_FIXTURE(HostedMmu, "host MMU: paging off, a fill maps the RAM pages of its group that may be mapped, in runs") {
  uint32_t watched_linear = 0x45000;
  mmu.setLinearWatch([&](uint32_t linear) { return (linear >> 12) == (watched_linear >> 12); });
  mem.addCodePage(0x47000);  // translated code: never mapped writable behind the VMM's back
  host.map(0x52, 0x52, false, false);  // already mapped read-only: left as it is
  uint64_t phys;
  uint32_t err;
  REQUIRE(mmu.translate(0x4a123, Access::Read, false, &phys, &err));
  mmu.fill(0x4a123, phys, Access::Read, false);
  uint64_t calls = host.stats.mmap_calls;
  const uint32_t group = 0x40, n = 32;  // 0x4a's aligned group of Mmu's 32 pages
  for (uint32_t v = group; v < group + n; ++v) {
    bool want = v != 0x45 && v != 0x47;
    CHECK_MESSAGE(host.mapped(v, false) == want, "page ", v);
  }
  CHECK_FALSE(host.mapped(group - 1, false));
  CHECK_FALSE(host.mapped(group + n, false));
  CHECK_FALSE(host.mapped(0x4a, true));  // the other view is not touched
  // Runs around the holes: [0x40,0x45) [0x46] [0x48,0x4a) [0x4b,0x52) [0x53,0x60), one call each,
  // besides page 0x52's and the fill's own.
  CHECK(calls == 1 + 1 + 5);
  // Mapped writable onto the same bytes as guest RAM, and a later watch unmaps them one by one.
  uint8_t* view = host.base(false);
  view[0x5f000 + 7] = 0xab;
  CHECK(mem.read8(0x5f007) == 0xab);
  CHECK(regionOf(view + 0x52000).perms.substr(0, 3) == "r--");
  mem.addCodePage(0x5f000);
  CHECK_FALSE(host.mapped(0x5f, false));
  CHECK(host.mapped(0x5e, false));
  // Not with the A20 gate closed (linear and physical pages differ there).
  mmu.setA20(false);
  REQUIRE(mmu.translate(0x8a000, Access::Read, false, &phys, &err));
  mmu.fill(0x8a000, phys, Access::Read, false);
  CHECK(host.mapped(0x8a, false));
  CHECK_FALSE(host.mapped(0x8b, false));
}

TEST_CASE_FIXTURE(HostedMmu, "host MMU: paging on, a fill from a large page maps its group with shadow entries a PDE write drops") {
  // Linear 0xC0400000 -> physical 0x400000 by one 4 MiB page (P RW A D PS, supervisor only),
  // and linear 0x800000 -> 0x800000 by a page table (4 KiB pages) for contrast.
  mem.write32(0x100000 + (0xC0400000u >> 22) * 4, 0x400000 | 0x1 | 0x2 | 0x20 | 0x40 | 0x80);
  mem.write32(0x100000 + 2 * 4, 0x101000 | 7);
  for (uint32_t i = 0; i < 1024; ++i) mem.write32(0x101000 + i * 4, (0x800000 + i * 0x1000) | 7 | 0x20 | 0x40);
  mem.addCodePage(0x405000);  // translated code inside the large page: mapped read-only
  cpu.cr3 = 0x100000;
  cpu.cr4 = 0x10;  // PSE
  cpu.cr0 = 0x80000011;
  mmu.cr3Written();
  uint64_t phys;
  uint32_t err;
  REQUIRE(mmu.translate(0xC040A000, Access::Write, false, &phys, &err));
  CHECK(phys == 0x40A000);
  mmu.fill(0xC040A000, phys, Access::Write, false);
  uint8_t* view = host.base(false);
  for (uint32_t v = 0xC0400; v < 0xC0420; ++v) CHECK_MESSAGE(host.mapped(v, false), "page ", v);
  CHECK_FALSE(host.mapped(0xC0420, false));
  CHECK_FALSE(host.mapped(0xC040A, true));  // supervisor only: never in the user view
  CHECK(regionOf(view + 0xC0405000ull).perms.substr(0, 3) == "r--");
  CHECK(regionOf(view + 0xC0406000ull).perms.substr(0, 3) == "rw-");
  view[0xC041F000ull + 3] = 0x5a;  // the same bytes as guest RAM
  CHECK(mem.read8(0x41F003) == 0x5a);
  // A 4 KiB page's fill maps only itself.
  REQUIRE(mmu.translate(0x80A000, Access::Read, false, &phys, &err));
  mmu.fill(0x80A000, phys, Access::Read, false);
  CHECK(host.mapped(0x80A, false));
  CHECK_FALSE(host.mapped(0x80B, false));
  // The guest changes the PDE (the large page now maps 0x800000): every page mapped around goes.
  mem.write32(0x100000 + (0xC0400000u >> 22) * 4, 0x800000 | 0x1 | 0x2 | 0x20 | 0x40 | 0x80);
  mmu.tableWritten(0x100000 + (0xC0400000u >> 22) * 4, 4);
  for (uint32_t v = 0xC0400; v < 0xC0420; ++v) CHECK_MESSAGE(!host.mapped(v, false), "page ", v);
  CHECK(regionOf(view + 0xC041F000ull).perms.substr(0, 3) == "---");
  REQUIRE(mmu.translate(0xC041F000, Access::Read, false, &phys, &err));
  CHECK(phys == 0x81F000);
}

TEST_CASE("host fault handler: a fault outside translated code's accesses is not swallowed") {
  // In a child: the handler is installed, then the child touches an address nothing maps, from
  // C++ code (no fault site). It must die of SIGSEGV, as without the handler.
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // the crash is the expected outcome: no core file
    // The default action underneath, not doctest's or a sanitizer's reporting handler (which
    // would report a crash of the child's copy of the test run, or exit another way).
    signal(SIGSEGV, SIG_DFL);
    installHostFaultHandler();
    FaultSites sites(reinterpret_cast<const uint8_t*>(0x1000), 0x1000);  // a table, not covering us
    *reinterpret_cast<volatile int*>(uintptr_t(8)) = 1;
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGSEGV);
}

TEST_CASE("host MMU: past its mapping budget (vm.max_map_count) it starts again from nothing") {
  PhysMemory mem(1 << 20, 0, true);
  CpuState cpu{};
  HostMmu host(mem, cpu, 4);
  for (uint32_t i = 0; i < 10; ++i) host.map(0x100 + 2 * i, i, false, i & 1);  // no two adjacent
  CHECK(host.stats.budget_resets == 2);
  CHECK(host.pagesMapped() <= 4);
  CHECK(host.mapped(0x100 + 2 * 9, false));  // the last one is there
  CHECK_FALSE(host.mapped(0x100, false));     // the first ones went
  CHECK(regionOf(host.base(false) + 0x100000).perms.substr(0, 3) == "---");
  CHECK(host.stats.map_failures == 0);
}
