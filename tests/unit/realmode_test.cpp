// Real mode and the reset vector: the CPU state after RESET (emu/cpu/reset.h, SDM vol. 3 table
// 9-1), real-mode segment loads and checks (mmu/segments.h, SDM vol. 3 20.1), the firmware ROM
// mapping (mmu/phys_memory.h, as QEMU's pc maps -bios) and the A20 gate (mmu/mmu.h).
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "emu/cpu/cpu_state.h"
#include "emu/cpu/fpu.h"
#include "emu/cpu/reset.h"
#include "mmu/mmu.h"
#include "mmu/phys_memory.h"
#include "mmu/segments.h"

using namespace btvm;

namespace {

uint16_t fpuWord(const CpuState& c, unsigned off) {
  uint16_t v;
  std::memcpy(&v, c.fpu + off, 2);
  return v;
}

// A 64 KiB image whose byte i is (i * 7) ^ (i >> 8), so any misplaced window shows.
std::vector<uint8_t> romImage(size_t n = 64u << 10) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t((i * 7) ^ (i >> 8));
  return v;
}

}  // namespace

TEST_CASE("reset: the CPU as RESET leaves it") {
  auto c = std::make_unique<CpuState>();
  std::memset(c.get(), 0x5a, sizeof(CpuState));  // every field must be set, none left over
  resetCpu(*c, 0x652);
  CHECK(c->eip == 0xfff0);
  CHECK(c->seg[CS].selector == 0xf000);
  CHECK(c->seg[CS].base == 0xffff0000u);  // first fetch at 0xFFFFFFF0
  CHECK(c->seg[CS].limit == 0xffff);
  CHECK((c->seg[CS].attr & attr::kDB) == 0);  // 16-bit code
  CHECK((c->seg[CS].attr & (attr::kP | attr::kCode | attr::kRW)) == (attr::kP | attr::kCode | attr::kRW));
  for (int s : {ES, SS, DS, FS, GS}) {
    CAPTURE(s);
    CHECK(c->seg[s].selector == 0);
    CHECK(c->seg[s].base == 0);
    CHECK(c->seg[s].limit == 0xffff);
    CHECK(c->seg[s].valid);
    CHECK((c->seg[s].attr & (attr::kP | attr::kRW | attr::kDB | attr::kCode)) == (attr::kP | attr::kRW));
  }
  CHECK(c->gdtr.base == 0);
  CHECK(c->gdtr.limit == 0xffff);
  CHECK(c->idtr.base == 0);
  CHECK(c->idtr.limit == 0xffff);
  CHECK(c->ldtr.limit == 0xffff);
  CHECK(c->tr.limit == 0xffff);
  CHECK(c->cr0 == 0x60000010u);
  CHECK(inRealMode(*c));
  CHECK(c->cr2 == 0);
  CHECK(c->cr3 == 0);
  CHECK(c->cr4 == 0);
  CHECK(c->eflags == 0x2);
  CHECK(c->regs[EDX] == 0x652);
  for (int r : {EAX, ECX, EBX, ESP, EBP, ESI, EDI}) CHECK(c->regs[r] == 0);
  for (int d = 0; d < 4; ++d) CHECK(c->dr[d] == 0);
  CHECK(c->dr[6] == 0xffff0ff0u);
  CHECK(c->dr[7] == 0x400);
  CHECK(c->cpl == 0);
  CHECK(!c->halted);
  CHECK(fpuWord(*c, fpu::kFcw) == 0x0040);  // every exception unmasked, 24-bit precision
  CHECK(fpuWord(*c, fpu::kFsw) == 0x0000);
  CHECK(fpuWord(*c, fpu::kFtw) == 0x5555);  // every register "zero"
  for (unsigned i = fpu::kFip; i < 108; ++i) CHECK(c->fpu[i] == 0);
}

TEST_CASE("real mode: a segment load is base = selector << 4, the cached limit stays") {
  Segment s{0x10, 0, 0xffffffffu, attr::kP | attr::kS | attr::kRW | attr::kDB | attr::kG, true};
  loadRealModeSegment(s, 0x1234);
  CHECK(s.selector == 0x1234);
  CHECK(s.base == 0x12340);
  CHECK(s.limit == 0xffffffffu);  // unreal mode: the 4 GiB limit from protected mode
  CHECK((s.attr & attr::kDB) != 0);
  CHECK(s.valid);
  loadRealModeSegment(s, 0xffff);
  CHECK(s.base == 0xffff0);  // FFFF:0010 is linear 0x100000 (A20 decides what that is)
}

TEST_CASE("real mode: a register protected mode left null becomes a real-mode data segment") {
  Segment s{0, 0, 0, 0, false};
  loadRealModeSegment(s, 0x40);
  CHECK(s.valid);
  CHECK(s.base == 0x400);
  CHECK(s.limit == 0xffff);
  CHECK(segmentLimitOk(s, 0xfffe, 2));
}

TEST_CASE("real mode: only the limit is checked") {
  // A readable code segment (CS after a return from protected mode): protected mode refuses a
  // write through it, real mode does not.
  Segment cs{0xf000, 0xf0000, 0xffff, attr::kP | attr::kS | attr::kCode | attr::kRW, true};
  CHECK(!segmentAccessOk(cs, 0x100, 2, true));
  CHECK(segmentLimitOk(cs, 0x100, 2));
  CHECK(segmentLimitOk(cs, 0xfffe, 2));
  CHECK(!segmentLimitOk(cs, 0xffff, 2));  // a word at FFFF crosses the limit: #GP/#SS
  CHECK(!segmentLimitOk(cs, 0x10000, 1));
  Segment big{0, 0, 0xffffffffu, attr::kP | attr::kS | attr::kRW, true};
  CHECK(segmentLimitOk(big, 0x200000, 4));
}

TEST_CASE("rom: mapped below 4 GiB, its last 128 KiB read-only below 1 MiB") {
  PhysMemory mem{4u << 20};
  std::vector<uint8_t> img = romImage(256u << 10);
  mem.write8(0xdffff, 0x11);
  mem.mapRom(img);
  uint64_t top = 1ull << 32;
  CHECK(mem.read8(top - img.size()) == img[0]);
  CHECK(mem.read8(top - 16) == img[img.size() - 16]);  // the reset vector
  CHECK(mem.read32(top - 4) == (img[img.size() - 4] | img[img.size() - 3] << 8 | img[img.size() - 2] << 16 |
                                uint32_t(img[img.size() - 1]) << 24));
  CHECK(mem.read8(top - img.size() - 1) == 0xff);  // below the ROM: nothing
  for (uint32_t off : {0u, 0x1234u, 0x1fff0u})
    CHECK(mem.read8(0xe0000 + off) == img[img.size() - (128u << 10) + off]);
  CHECK(mem.read8(0xdffff) == 0x11);  // RAM below the window is RAM
  // Writes are dropped, and the pages never get a writable host pointer.
  mem.write8(0xf0000, 0);
  mem.write32(0xffff0, 0);
  mem.write8(top - 1, 0);
  CHECK(mem.read8(0xf0000) == img[img.size() - (64u << 10)]);
  CHECK(mem.read8(0xffff0) == img[img.size() - 16]);
  CHECK(mem.read8(top - 1) == img[img.size() - 1]);
  CHECK(mem.isReadOnly(0xe0000));
  CHECK(mem.isReadOnly(0xfffff));
  CHECK(!mem.isReadOnly(0xdffff));
  CHECK(!mem.isReadOnly(0x100000));
  CHECK(mem.isWatched(0xf0000));
}

TEST_CASE("rom: a 64 KiB image covers only 0xF0000-0xFFFFF below 1 MiB") {
  PhysMemory mem{2u << 20};
  std::vector<uint8_t> img = romImage();
  mem.mapRom(img);
  CHECK(mem.read8(0xf0000) == img[0]);
  CHECK(mem.read8((1ull << 32) - 0x10000) == img[0]);
  CHECK(!mem.isReadOnly(0xeffff));
  mem.write8(0xeffff, 0x42);
  CHECK(mem.read8(0xeffff) == 0x42);
}

TEST_CASE("a20: closed, physical address bit 20 reads 0") {
  PhysMemory mem{4u << 20};
  auto cpu = std::make_unique<CpuState>();
  std::memset(cpu.get(), 0, sizeof(CpuState));
  Mmu mmu{*cpu, mem};
  uint64_t phys;
  uint32_t err;
  CHECK(mmu.a20());
  REQUIRE(mmu.translate(0x100600, Access::Write, false, &phys, &err));
  CHECK(phys == 0x100600);
  mmu.setA20(false);
  CHECK(!mmu.a20());
  REQUIRE(mmu.translate(0x100600, Access::Read, false, &phys, &err));
  CHECK(phys == 0x000600);
  REQUIRE(mmu.translate(0x300000, Access::Exec, false, &phys, &err));
  CHECK(phys == 0x200000);
  REQUIRE(mmu.translate(0xfffffff0u, Access::Exec, false, &phys, &err));
  CHECK(phys == 0xffeffff0u);  // the reset vector too (a BIOS opens A20 before it matters)
  mmu.setA20(true);
  REQUIRE(mmu.translate(0x100600, Access::Read, false, &phys, &err));
  CHECK(phys == 0x100600);
}

TEST_CASE("a20: closed, page-table reads and the result are masked too") {
  PhysMemory mem{4u << 20};
  auto cpu = std::make_unique<CpuState>();
  std::memset(cpu.get(), 0, sizeof(CpuState));
  Mmu mmu{*cpu, mem};
  // CR3 at 0x110000: with A20 closed the walk reads the directory at 0x010000 instead.
  mem.write32(0x010000, 0x020000 | 7);        // PDE 0 -> page table at 0x20000
  mem.write32(0x020000 + 4, 0x00134000 | 7);  // PTE 1 -> frame 0x134000
  mem.write32(0x110000, 0);                   // the directory A20 would select: empty
  cpu->cr0 = 0x80000001u;
  cpu->cr3 = 0x110000;
  mmu.setA20(false);
  uint64_t phys;
  uint32_t err;
  REQUIRE(mmu.translate(0x1234, Access::Read, false, &phys, &err));
  CHECK(phys == 0x034234);
}

TEST_CASE("rom: PAM shows the RAM beneath the window, or the ROM, and routes writes") {
  PhysMemory mem{2u << 20};
  mem.write32(0xf1000, 0x11111111);  // RAM before the ROM covers it (QEMU's RAM there: zero)
  std::vector<uint8_t> img = romImage();
  mem.mapRom(img);
  uint32_t rom_word = mem.read32(0xf1000);
  CHECK(rom_word != 0x11111111);
  // 3: read/write RAM.
  CHECK(mem.setShadow(0xf0000, 0x10000, true, true));
  CHECK(mem.read32(0xf1000) == 0x11111111);
  CHECK(!mem.isReadOnly(0xf1000));
  CHECK(!mem.isWatched(0xf1000));
  mem.write32(0xf1000, 0x22222222);
  CHECK(mem.read32(0xf1000) == 0x22222222);
  CHECK(!mem.setShadow(0xf0000, 0x10000, true, true));  // no change
  // 0: the ROM again; the RAM keeps its bytes aside, writes are dropped.
  CHECK(mem.setShadow(0xf0000, 0x10000, false, false));
  CHECK(mem.read32(0xf1000) == rom_word);
  mem.write32(0xf1000, 0x33333333);
  CHECK(mem.read32(0xf1000) == rom_word);
  // 2: the ROM shows, writes go to the RAM beneath.
  CHECK(!mem.setShadow(0xf0000, 0x10000, false, true));
  mem.write32(0xf1000, 0x44444444);
  CHECK(mem.read32(0xf1000) == rom_word);
  // 1: read-only RAM, with what the write-only mode put there.
  CHECK(mem.setShadow(0xf0000, 0x10000, true, false));
  CHECK(mem.read32(0xf1000) == 0x44444444);
  mem.write8(0xf1000, 0);
  CHECK(mem.read32(0xf1000) == 0x44444444);
  CHECK(mem.isReadOnly(0xf1000));
  // Outside the window PAM changes nothing: RAM.
  CHECK(!mem.setShadow(0xe0000, 0x4000, false, false));
  mem.write8(0xe0000, 0x5a);
  CHECK(mem.read8(0xe0000) == 0x5a);
}
