// The HPET against the IA-PC HPET specification and QEMU's pc: capabilities, the 100 MHz
// counter, one-shot and periodic comparators, 32-bit mode, level status, legacy replacement.
#include <doctest/doctest.h>

#include <vector>

#include "emu/devices/hpet.h"

using namespace btvm;

namespace {
struct Bench {
  uint64_t now = 0;
  std::vector<std::pair<unsigned, bool>> isa, pins;
  bool legacy = false;
  Hpet h{[this] { return now; }, [this](unsigned l, bool v) { isa.emplace_back(l, v); },
         [this](unsigned p, bool v) { pins.emplace_back(p, v); }, [this](bool on) { legacy = on; }};
  void advance(uint64_t ns) {
    now += ns;
    h.update(now);
  }
  int rises(const std::vector<std::pair<unsigned, bool>>& v, unsigned line) {
    int n = 0;
    for (auto [l, high] : v) n += l == line && high;
    return n;
  }
};
}  // namespace

TEST_CASE("hpet: capabilities as QEMU's (3 timers, 64-bit, legacy capable, 10 ns period)") {
  Bench b;
  CHECK(b.h.read(0x0) == 0x8086a201u);
  CHECK(b.h.read(0x4) == 10000000u);
  CHECK((b.h.read(0x100) & 0x30) == 0x30);  // periodic and 64-bit capable
  CHECK(b.h.read(0x104) == hpet::kRouteCap);
}

TEST_CASE("hpet: the counter runs at 100 MHz only while enabled, writable while halted") {
  Bench b;
  b.advance(1000);
  CHECK(b.h.read(0xf0) == 0);
  b.h.write(0xf0, 500);
  b.h.write(0x10, 1);  // enable
  b.advance(1000);
  CHECK(b.h.read(0xf0) == 600);
  b.h.write(0xf0, 0);  // ignored while running
  CHECK(b.h.read(0xf0) == 600);
  b.h.write(0x10, 0);
  b.advance(1000);
  CHECK(b.h.read(0xf0) == 600);
}

TEST_CASE("hpet: one-shot edge on an I/O APIC pin; periodic with SETVAL; 32-bit mode wraps") {
  Bench b;
  b.h.write(0x100, (20u << 9) | 0x4);  // timer 0: route pin 20, interrupt on, edge
  b.h.write(0x108, 100);               // counter 100: 1000 ns
  b.h.write(0x10c, 0);
  b.h.write(0x10, 1);
  CHECK(b.h.nextEventNs() == 1000);
  b.advance(999);
  CHECK(b.pins.empty());
  b.advance(1);
  CHECK(b.rises(b.pins, 20) == 1);
  b.advance(100000);
  CHECK(b.rises(b.pins, 20) == 1);  // one-shot
  // Timer 1 periodic: SETVAL lets one write (a half) reach the comparator; every write sets
  // the period.
  uint32_t cfg = (21u << 9) | 0x4 | 0x8;
  b.h.write(0x120, cfg | 0x40);
  b.h.write(0x12c, 0);
  CHECK((b.h.read(0x120) & 0x40) == 0);  // SETVAL clears itself
  b.h.write(0x120, cfg | 0x40);
  uint32_t cur = b.h.read(0xf0);
  b.h.write(0x128, cur + 50);
  b.h.write(0x128, 50);  // the period alone (no SETVAL)
  b.advance(500);
  CHECK(b.rises(b.pins, 21) == 1);
  for (int i = 0; i < 3; ++i) b.advance(500);
  CHECK(b.rises(b.pins, 21) == 4);
  CHECK(b.h.read(0x128) == cur + 250);
  // Timer 2 in 32-bit mode: a comparator below the counter matches after the wrap.
  b.h.write(0x140, (22u << 9) | 0x4 | 0x100);
  b.h.write(0x148, 0);
  CHECK(b.h.nextEventNs() <= b.now + (1ull << 32) * 10);
}

TEST_CASE("hpet: level mode sets the status bit and holds the line until it is cleared") {
  Bench b;
  b.h.write(0x100, (23u << 9) | 0x4 | 0x2);
  b.h.write(0x108, 10);
  b.h.write(0x10c, 0);
  b.h.write(0x10, 1);
  b.advance(100);
  CHECK(b.h.read(0x20) == 1);
  REQUIRE(!b.pins.empty());
  CHECK(b.pins.back() == std::make_pair(23u, true));
  b.h.write(0x20, 1);
  CHECK(b.h.read(0x20) == 0);
  CHECK(b.pins.back() == std::make_pair(23u, false));
}

TEST_CASE("hpet: legacy replacement routes timers 0 and 1 to IRQ0 and IRQ8 and cuts the PIT off") {
  Bench b;
  b.h.write(0x10, 3);
  CHECK(b.legacy);
  b.h.write(0x100, 0x4 | 0x8 | 0x40 | 0x100);  // periodic, 32-bit (as Linux programs it)
  b.h.write(0x108, 100);
  b.h.write(0x108, 100);
  b.h.write(0x120, 0x4);
  b.h.write(0x128, 300);
  b.h.write(0x12c, 0);
  for (int i = 0; i < 3; ++i) b.advance(1000);
  CHECK(b.rises(b.isa, 0) == 3);
  CHECK(b.rises(b.isa, 8) == 1);
  CHECK(b.pins.empty());
  b.h.write(0x10, 1);
  CHECK_FALSE(b.legacy);
}
