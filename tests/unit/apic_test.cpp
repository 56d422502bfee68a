// The local APIC and the I/O APIC against the SDM and QEMU's pc, on a clock the test moves by
// hand: registers and their reset values, priority (TPR/PPR, ISR, EOI), the timer's modes and
// divider, self-IPIs, NMI delivery, virtual wire, and the I/O APIC's redirection with Remote IRR.
#include <doctest/doctest.h>

#include "emu/devices/devices.h"
#include "emu/devices/io_apic.h"
#include "emu/devices/local_apic.h"
#include "emu/devices/pc_platform.h"

using namespace btvm;

namespace {

enum : uint32_t {
  kId = 0x20, kVer = 0x30, kTpr = 0x80, kPpr = 0xa0, kEoi = 0xb0, kLdr = 0xd0, kDfr = 0xe0, kSpiv = 0xf0,
  kIsr = 0x100, kTmr = 0x180, kIrr = 0x200, kEsr = 0x280, kIcrLo = 0x300, kIcrHi = 0x310, kLvtTimer = 0x320,
  kLvtLint0 = 0x350, kLvtLint1 = 0x360, kLvtError = 0x370, kInit = 0x380, kCur = 0x390, kDiv = 0x3e0,
};

struct Bench {
  uint64_t now = 0;
  int nmis = 0;
  std::vector<uint8_t> eois;
  LocalApic apic{[this] { return now; }, [this] { ++nmis; }, [this](uint8_t v) { eois.push_back(v); }};
  Bench() { apic.write(kSpiv, 0x1ff); }
  bool inReg(uint32_t base, uint8_t v) { return apic.read(base + (v >> 5) * 0x10) >> (v & 31) & 1; }
  void advance(uint64_t ns) {
    now += ns;
    apic.update(now);
  }
};

}  // namespace

TEST_CASE("lapic: reset values, ID and version as QEMU's, DFR/LDR, SPIV masks the LVT") {
  Bench b;
  b.apic.reset();
  CHECK(b.apic.baseMsr() == 0xfee00900u);  // enabled BSP at the default base
  CHECK(b.apic.read(kVer) == 0x00050014u);
  CHECK(b.apic.read(kId) == 0);
  CHECK(b.apic.read(kDfr) == 0xffffffffu);
  CHECK(b.apic.read(kSpiv) == 0xff);
  for (uint32_t r = 0x320; r <= 0x370; r += 0x10) CHECK(b.apic.read(r) == 0x10000u);
  CHECK_FALSE(b.apic.pcPassesThrough());  // LINT0 masked, APIC enabled: the 8259 is cut off
  b.apic.write(kLvtLint0, 0x700);         // software-disabled: the mask stays
  CHECK(b.apic.read(kLvtLint0) == 0x10700u);
  b.apic.write(kSpiv, 0x1ff);
  b.apic.write(kLvtLint0, 0x700);
  CHECK(b.apic.pcPassesThrough());
  b.apic.write(kSpiv, 0xff);  // software disable masks every LVT entry
  CHECK(b.apic.read(kLvtLint0) == 0x10700u);
  b.apic.write(kId, 0x05000000);
  CHECK(b.apic.read(kId) == 0x05000000u);
  b.apic.write(kLdr, 0x010000ff);
  CHECK(b.apic.read(kLdr) == 0x01000000u);
  b.apic.write(kDfr, 0);
  CHECK(b.apic.read(kDfr) == 0x0fffffffu);
}

TEST_CASE("lapic: IA32_APIC_BASE disables the APIC (virtual wire), refuses reserved bits") {
  Bench b;
  CHECK_FALSE(b.apic.setBaseMsr(0xfee00900ull | 0x400));
  CHECK(b.apic.setBaseMsr(0xfee00000));  // enable clear; BSP kept by the hardware
  CHECK(b.apic.baseMsr() == 0xfee00100u);
  CHECK(b.apic.pcPassesThrough());
  b.apic.accept(0x40, false);
  CHECK(b.apic.pendingVector() == -1);
}

TEST_CASE("lapic: fixed interrupts by priority class against TPR and ISR, EOI ends the highest") {
  Bench b;
  b.apic.accept(0x31, false);
  b.apic.accept(0x52, false);
  CHECK(b.inReg(kIrr, 0x31));
  CHECK(b.apic.pendingVector() == 0x52);
  b.apic.write(kTpr, 0x50);  // class 5 and below wait
  CHECK(b.apic.read(kPpr) == 0x50);
  CHECK(b.apic.pendingVector() == -1);
  b.apic.write(kTpr, 0x4f);
  CHECK(b.apic.acknowledge() == 0x52);
  CHECK(b.inReg(kIsr, 0x52));
  CHECK_FALSE(b.inReg(kIrr, 0x52));
  CHECK(b.apic.read(kPpr) == 0x50);        // the ISR's class is above TPR's
  CHECK(b.apic.pendingVector() == -1);     // 0x31 waits for the EOI
  b.apic.write(kEoi, 0);
  CHECK_FALSE(b.inReg(kIsr, 0x52));
  CHECK(b.apic.read(kPpr) == 0x4f);
  CHECK(b.apic.pendingVector() == -1);     // class 3 <= TPR class 4
  b.apic.write(kTpr, 0);
  CHECK(b.apic.pendingVector() == 0x31);
  CHECK(b.eois.empty());  // edge interrupts broadcast no EOI
}

TEST_CASE("lapic: a level-triggered vector sets TMR and its EOI is broadcast") {
  Bench b;
  b.apic.accept(0x60, true);
  CHECK(b.inReg(kTmr, 0x60));
  CHECK(b.apic.acknowledge() == 0x60);
  b.apic.write(kEoi, 0);
  REQUIRE(b.eois.size() == 1);
  CHECK(b.eois[0] == 0x60);
  CHECK_FALSE(b.inReg(kTmr, 0x60));
}

TEST_CASE("lapic: illegal vectors set ESR, latched by a write") {
  Bench b;
  b.apic.write(kLvtError, 0xfe);
  b.apic.accept(0x05, false);
  CHECK(b.apic.read(kEsr) == 0);
  b.apic.write(kEsr, 0);
  CHECK(b.apic.read(kEsr) == 0x40);
  CHECK(b.apic.pendingVector() == 0xfe);  // the LVT error interrupt
}

TEST_CASE("lapic: timer one-shot counts down at 1 GHz / divider and fires once") {
  Bench b;
  b.apic.write(kDiv, 0x3);  // divide by 16
  b.apic.write(kLvtTimer, 0x40);
  b.apic.write(kInit, 1000);
  CHECK(b.apic.read(kCur) == 1000);
  CHECK(b.apic.nextEventNs() == 16000);
  b.advance(1600);
  CHECK(b.apic.read(kCur) == 900);
  CHECK(b.apic.pendingVector() == -1);
  b.advance(16000 - 1600 - 1);
  CHECK(b.apic.pendingVector() == -1);
  b.advance(1);
  CHECK(b.apic.pendingVector() == 0x40);
  CHECK(b.apic.read(kCur) == 0);
  CHECK(b.apic.nextEventNs() == LocalApic::kNever);
  b.apic.write(kDiv, 0xb);  // divide by 1
  b.apic.write(kInit, 10);
  CHECK(b.apic.nextEventNs() == b.now + 10);
  b.apic.write(kInit, 0);  // a zero count stops the timer
  CHECK(b.apic.nextEventNs() == LocalApic::kNever);
}

TEST_CASE("lapic: timer periodic reloads, masked it counts without interrupting") {
  Bench b;
  b.apic.write(kDiv, 0x0);  // divide by 2
  b.apic.write(kLvtTimer, 0x20041);
  b.apic.write(kInit, 50);  // period 100 ns
  b.advance(100);
  CHECK(b.apic.acknowledge() == 0x41);
  b.apic.write(kEoi, 0);
  CHECK(b.apic.nextEventNs() == 200);
  b.advance(30);
  CHECK(b.apic.read(kCur) == 35);
  b.advance(70);
  CHECK(b.apic.pendingVector() == 0x41);
  b.apic.acknowledge();
  b.apic.write(kEoi, 0);
  b.apic.write(kLvtTimer, 0x30041);  // masked
  CHECK(b.apic.nextEventNs() == LocalApic::kNever);
  b.advance(250);
  CHECK(b.apic.pendingVector() == -1);
  CHECK(b.apic.read(kCur) == 25);
}

TEST_CASE("lapic: ICR self-IPI, shorthands, NMI, INIT/SIPI to absent CPUs") {
  Bench b;
  b.apic.write(kIcrHi, 0);
  b.apic.write(kIcrLo, 0x4050);  // fixed, physical, to APIC 0 (this one)
  CHECK(b.apic.pendingVector() == 0x50);
  CHECK((b.apic.read(kIcrLo) & 0x1000) == 0);  // delivered
  b.apic.write(kIcrLo, 0x44061);  // self shorthand
  CHECK(b.inReg(kIrr, 0x61));
  b.apic.write(kIcrLo, 0xc4070);  // all excluding self: nobody
  CHECK_FALSE(b.inReg(kIrr, 0x70));
  b.apic.write(kIcrHi, 0x01000000);
  b.apic.write(kIcrLo, 0x4500);  // INIT to APIC 1 (absent)
  b.apic.write(kIcrLo, 0x4608);  // SIPI
  CHECK((b.apic.read(kIcrLo) & 0x1000) == 0);
  CHECK(b.nmis == 0);
  b.apic.write(kIcrLo, 0x44400);  // NMI to self
  CHECK(b.nmis == 1);
  b.apic.write(kLvtLint1, 0x400);
  b.apic.setLint(1, true);
  CHECK(b.nmis == 2);
}

TEST_CASE("ioapic: version, redirection, edge and level with Remote IRR cleared by EOI") {
  std::vector<std::pair<uint8_t, bool>> got;
  IoApic io([&](uint8_t v, bool level) { got.emplace_back(v, level); }, [] {});
  auto reg = [&](uint32_t r) {
    io.write(0, r);
    return io.read(0x10);
  };
  auto set = [&](uint32_t r, uint32_t v) {
    io.write(0, r);
    io.write(0x10, v);
  };
  CHECK(reg(1) == 0x00170020u);
  CHECK(reg(0x10) == 0x10000u);  // masked
  set(0x10 + 2 * 2, 0x30);      // pin 2: edge, vector 0x30
  io.setPin(2, true);
  io.setPin(2, true);  // no new edge
  io.setPin(2, false);
  io.setPin(2, true);
  CHECK(got.size() == 2);
  got.clear();
  set(0x10 + 2 * 9, 0x18000 | 0x39);  // pin 9 level, masked
  io.setPin(9, true);
  CHECK(got.empty());
  set(0x10 + 2 * 9, 0x8000 | 0x39);  // unmasking with the line high sends at once
  REQUIRE(got.size() == 1);
  CHECK(got[0] == std::make_pair(uint8_t(0x39), true));
  CHECK((reg(0x10 + 2 * 9) & 0x4000) != 0);  // Remote IRR
  io.eoi(0x39);                       // still high: sent again
  CHECK(got.size() == 2);
  io.setPin(9, false);
  io.write(0x40, 0x39);  // the EOI register (version 0x20)
  CHECK(got.size() == 2);
  CHECK((reg(0x10 + 2 * 9) & 0x4000) == 0);
  set(0x11, 0xff000000u);
  CHECK(reg(0x11) == 0xff000000u);
}

TEST_CASE("platform: the 8259 through LINT0 ExtINT, the PIT on I/O APIC pin 2, the local APIC first") {
  uint64_t now = 0;
  IoBus bus;
  MmioBus mmio;
  PcPlatform p([&] { return now; }, 64ull << 20, [](const char*) {}, [] {}, nullptr);
  p.attach(bus, mmio);
  p.lapic.biosSetup();
  bus.write(0x21, 1, 0xfe);  // unmask IRQ0 only (the 8259 keeps its power-on vector base)
  uint32_t v;
  // Port 0x80 (Linux's I/O delay) has a device, as in QEMU: writes go nowhere, reads all-ones.
  CHECK(bus.write(0x80, 1, 0x12));
  CHECK(bus.read(0x80, 1, &v));
  CHECK(v == 0xffu);
  CHECK(mmio.read(0xfee00030, 4, &v));
  CHECK(v == 0x00050014u);
  CHECK_FALSE(mmio.read(0xfeb00000, 4, &v));  // nobody there
  CHECK(v == 0xffffffffu);
  now = p.pit.nextIrqNs();
  CHECK(p.interruptPending());  // through the 8259 (virtual wire)
  p.acknowledge();
  // Mask LINT0: the 8259 no longer reaches the CPU; route pin 2 through the I/O APIC instead.
  mmio.write(0xfee00350, 4, 0x10700);
  mmio.write(0xfec00000, 4, 0x14);
  mmio.write(0xfec00010, 4, 0x30);
  now = p.pit.nextIrqNs();
  CHECK(p.interruptPending());
  CHECK(p.acknowledge() == 0x30);
  // Moving the APIC's base moves its registers.
  CHECK(p.setApicBase(0xfe000900));
  CHECK(mmio.read(0xfe000030, 4, &v));
  CHECK_FALSE(mmio.read(0xfee00030, 4, &v));
}
