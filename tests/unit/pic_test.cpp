// The 8259A pair against its data sheet: initialization words, fully nested priority, EOI
// forms, rotation, automatic EOI, spurious IR7, the cascade, level mode and the poll command.
#include <doctest/doctest.h>

#include "emu/devices/devices.h"
#include "emu/devices/pic8259.h"

using namespace btvm;

namespace {

struct Board {
  IoBus bus;
  Pic8259 pic;
  Board() {
    pic.attach(bus, [] {});
    // What a kernel writes: master at 0x20, slave at 0x28, 8086 mode, everything unmasked.
    for (auto [port, v] : {std::pair{0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04}, {0x21, 0x01},
                           {0xa0, 0x11}, {0xa1, 0x28}, {0xa1, 0x02}, {0xa1, 0x01}, {0x21, 0x00}, {0xa1, 0x00}})
      out(uint16_t(port), uint8_t(v));
  }
  void out(uint16_t port, uint8_t v) { bus.write(port, 1, v); }
  uint8_t in(uint16_t port) {
    uint32_t v = 0;
    bus.read(port, 1, &v);
    return uint8_t(v);
  }
  uint8_t isr(uint16_t cmd) { out(cmd, 0x0b); return in(cmd); }
  uint8_t irr(uint16_t cmd) { out(cmd, 0x0a); return in(cmd); }
};

}  // namespace

TEST_CASE("pic: reset state is what SeaBIOS leaves, ICW1-4 remap the vectors") {
  Pic8259 fresh;
  CHECK(fresh.master().vector_base == 0x08);
  CHECK(fresh.slave().vector_base == 0x70);
  Board b;
  CHECK(b.in(0x21) == 0x00);
  b.out(0x21, 0x5a);
  CHECK(b.in(0x21) == 0x5a);  // OCW1 reads back
  b.out(0x21, 0x00);
  b.pic.pulseIrq(1);
  CHECK(b.irr(0x20) == 0x02);
  CHECK(b.pic.acknowledge() == 0x21);
  CHECK(b.isr(0x20) == 0x02);
  CHECK(b.irr(0x20) == 0x00);  // edge request moved from IRR to ISR
}

TEST_CASE("pic: fully nested priority, non-specific and specific EOI") {
  Board b;
  b.pic.pulseIrq(5);
  b.pic.pulseIrq(3);
  CHECK(b.pic.acknowledge() == 0x23);  // IR3 outranks IR5
  CHECK_FALSE(b.pic.pending());        // IR5 waits while IR3 is in service
  b.pic.pulseIrq(1);
  CHECK(b.pic.pending());              // IR1 outranks the IR3 in service: it nests
  CHECK(b.pic.acknowledge() == 0x21);
  CHECK(b.isr(0x20) == 0x0a);
  b.out(0x20, 0x20);                   // non-specific EOI ends the highest: IR1
  CHECK(b.isr(0x20) == 0x08);
  b.out(0x20, 0x63);                   // specific EOI for IR3
  CHECK(b.isr(0x20) == 0x00);
  CHECK(b.pic.acknowledge() == 0x25);
}

TEST_CASE("pic: masked requests stay in IRR; special mask mode lets lower levels through") {
  Board b;
  b.out(0x21, 0x01);
  b.pic.pulseIrq(0);
  CHECK_FALSE(b.pic.pending());
  CHECK(b.irr(0x20) == 0x01);
  CHECK_FALSE(b.pic.wouldInterrupt(0));
  CHECK(b.pic.wouldInterrupt(4));
  b.out(0x21, 0x00);
  CHECK(b.pic.acknowledge() == 0x20);
  b.pic.pulseIrq(6);
  CHECK_FALSE(b.pic.pending());        // IR0 in service blocks IR6
  b.out(0x21, 0x01);                   // mask IR0 and enter special mask mode
  b.out(0x20, 0x68);
  CHECK(b.pic.pending());
  CHECK(b.pic.acknowledge() == 0x26);
}

TEST_CASE("pic: rotation on EOI and set priority") {
  Board b;
  b.pic.pulseIrq(3);
  CHECK(b.pic.acknowledge() == 0x23);
  b.out(0x20, 0xa0);  // rotate on non-specific EOI: IR3 becomes the lowest
  b.pic.pulseIrq(3);
  b.pic.pulseIrq(4);
  CHECK(b.pic.acknowledge() == 0x24);  // IR4 is now the highest
  b.out(0x20, 0x20);
  b.out(0x20, 0xc7);  // set priority: IR7 lowest, so IR0 highest again
  b.pic.pulseIrq(0);
  CHECK(b.pic.acknowledge() == 0x20);
}

TEST_CASE("pic: automatic EOI leaves ISR clear") {
  Board b;
  b.out(0x20, 0x11);
  b.out(0x21, 0x20);
  b.out(0x21, 0x04);
  b.out(0x21, 0x03);  // ICW4: AEOI
  b.pic.pulseIrq(0);
  CHECK(b.pic.acknowledge() == 0x20);
  CHECK(b.isr(0x20) == 0x00);
  b.pic.pulseIrq(0);
  CHECK(b.pic.pending());  // nothing in service blocks the next one
}

TEST_CASE("pic: a request that went away before INTA gives spurious IR7 without ISR") {
  Board b;
  b.pic.master().elcr = 0x08;  // IR3 level-triggered: IRR follows the line
  b.pic.setIrq(3, true);
  CHECK(b.irr(0x20) == 0x08);
  b.pic.setIrq(3, false);
  CHECK(b.irr(0x20) == 0x00);
  CHECK(b.pic.acknowledge() == 0x27);
  CHECK(b.isr(0x20) == 0x00);
  CHECK(b.pic.spurious() == 1);
}

TEST_CASE("pic: the slave cascades through master IR2") {
  Board b;
  b.pic.pulseIrq(10);
  CHECK(b.irr(0xa0) == 0x04);
  CHECK(b.pic.acknowledge() == 0x2a);
  CHECK(b.isr(0xa0) == 0x04);
  CHECK(b.isr(0x20) == 0x04);   // the cascade line is in service on the master too
  b.pic.pulseIrq(9);
  CHECK_FALSE(b.pic.pending()); // IR2 in service on the master holds further slave requests
  b.out(0xa0, 0x20);
  b.out(0x20, 0x20);
  CHECK(b.pic.acknowledge() == 0x29);
  CHECK(b.pic.delivered(10) == 1);
  CHECK(b.pic.delivered(9) == 1);
}

TEST_CASE("pic: the poll command acknowledges by software") {
  Board b;
  b.out(0x20, 0x0c);
  CHECK(b.in(0x20) == 0x00);  // nothing requested
  b.pic.pulseIrq(5);
  b.out(0x20, 0x0c);
  CHECK(b.in(0x20) == 0x85);
  CHECK(b.isr(0x20) == 0x20);
  CHECK_FALSE(b.pic.pending());
}
