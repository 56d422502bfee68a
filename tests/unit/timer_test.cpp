// The 8254 PIT and the MC146818 RTC against their data sheets, on a clock the test moves by hand:
// count sequences per mode, OUT and IRQ0 timing, latch and read-back, channel 2's gate and
// OUT2 on port 0x61; the RTC's date at time 0, formats, periodic rate, register C.
#include <doctest/doctest.h>

#include "emu/devices/cmos_rtc.h"
#include "emu/devices/pic8259.h"
#include "emu/devices/pit8254.h"

using namespace btvm;

namespace {

// ns of the first instant the PIT has counted `ticks` clocks (1.193182 MHz).
uint64_t tickNs(uint64_t ticks) { return (ticks * 1000000000ull + Pit8254::kHz - 1) / Pit8254::kHz; }

struct Bench {
  uint64_t now = 0;
  Pic8259 pic;
  Pit8254 pit{[this] { return now; }, pic};
  CmosRtc rtc{[this] { return now; }, pic, 128ull << 20};
  Bench() {
    pic.master().imr = 0;
    pic.slave().imr = 0;
  }
  uint16_t latched(unsigned ch) {
    pit.writeControl(uint8_t(ch << 6));  // counter latch
    uint16_t lo = pit.readCounter(ch);
    return uint16_t(lo | (pit.readCounter(ch) << 8));
  }
  void program(unsigned ch, unsigned mode, uint16_t count) {
    pit.writeControl(uint8_t((ch << 6) | 0x30 | (mode << 1)));
    pit.writeCounter(ch, uint8_t(count));
    pit.writeCounter(ch, uint8_t(count >> 8));
  }
  uint8_t status(unsigned ch) {
    pit.writeControl(uint8_t(0xe0 | (2u << ch)));  // read-back, status only
    return pit.readCounter(ch);
  }
};

}  // namespace

TEST_CASE("pit: power-on state is the 18.2 Hz BIOS tick in mode 2") {
  Bench b;
  CHECK(b.status(0) == 0x34 + 0x80);     // OUT high, word access, mode 2, binary
  CHECK(b.pit.nextIrqNs() == tickNs(65536));
}

TEST_CASE("pit: mode 2 counts N..1 and raises IRQ0 once per period") {
  Bench b;
  b.program(0, 2, 100);
  CHECK(b.latched(0) == 100);
  b.now = tickNs(10);
  CHECK(b.latched(0) == 90);
  CHECK(b.pit.nextIrqNs() == tickNs(100));
  b.now = tickNs(99);
  b.pit.update(b.now);
  CHECK_FALSE(b.pic.pending());
  CHECK(b.latched(0) == 1);
  CHECK((b.status(0) & 0x80) == 0);      // OUT low for the clock at count 1
  b.now = tickNs(100);
  b.pit.update(b.now);
  CHECK(b.pic.pending());
  CHECK(b.latched(0) == 100);            // reloaded
  CHECK(b.pit.nextIrqNs() == tickNs(200));
  b.now = tickNs(1000);                   // several periods missed: one request, as an edge latch holds one
  b.pit.update(b.now);
  CHECK(b.pit.irqsRaised() == 2);
}

TEST_CASE("pit: mode 0 raises OUT once at terminal count; the LSB write stops the count") {
  Bench b;
  b.program(0, 0, 50);
  CHECK(b.status(0) == 0x30);            // OUT low, word access, mode 0
  b.now = tickNs(49);
  CHECK((b.status(0) & 0x80) == 0);
  b.now = tickNs(50);
  CHECK((b.status(0) & 0x80) == 0x80);
  b.pit.update(b.now);
  CHECK(b.pit.irqsRaised() == 1);
  CHECK(b.pit.nextIrqNs() == Pit8254::kNever);
  CHECK(b.latched(0) == 0);
  b.now = tickNs(60);
  CHECK(b.latched(0) == 65526);          // the counter wraps on and OUT stays high
}

TEST_CASE("pit: mode 3 counts down by two in each half period") {
  Bench b;
  b.program(0, 3, 10);
  CHECK(b.latched(0) == 10);
  b.now = tickNs(2);
  CHECK(b.latched(0) == 6);
  CHECK((b.status(0) & 0x80) == 0x80);   // first half high
  b.now = tickNs(6);
  CHECK((b.status(0) & 0x80) == 0);      // second half low
  CHECK(b.latched(0) == 8);
}

TEST_CASE("pit: a latch holds the count until read; byte access modes; BCD") {
  Bench b;
  b.program(0, 2, 1000);
  b.now = tickNs(100);
  b.pit.writeControl(0x00);
  b.now = tickNs(500);
  b.pit.writeControl(0x00);              // ignored: the first latch is still unread
  CHECK(b.pit.readCounter(0) == (900 & 0xff));
  CHECK(b.pit.readCounter(0) == (900 >> 8));
  b.pit.writeControl(0x14);              // channel 0, LSB only, mode 2
  b.pit.writeCounter(0, 40);
  b.now = tickNs(505);
  CHECK(b.pit.readCounter(0) == 35);
  b.pit.writeControl(0x35);              // word access, mode 2, BCD
  b.pit.writeCounter(0, 0x34);
  b.pit.writeCounter(0, 0x12);           // 1234 decimal
  uint64_t start = b.now;
  b.now = start + tickNs(34);
  CHECK(b.latched(0) == 0x1200);
}

TEST_CASE("pit: channel 2's gate and OUT2 on port 0x61") {
  Bench b;
  CHECK((b.pit.readPortB() & 0x01) == 0);  // gate low after reset
  b.pit.writePortB(0x01);
  b.program(2, 0, 200);
  CHECK((b.pit.readPortB() & 0x20) == 0);
  b.now = tickNs(100);
  b.pit.writePortB(0x00);                  // gate low: mode 0 stops counting
  b.now = tickNs(5000);
  CHECK(b.latched(2) == 100);
  b.pit.writePortB(0x01);
  b.now = tickNs(5000 + 100);
  CHECK((b.pit.readPortB() & 0x21) == 0x21);  // OUT2 high at terminal count
}

TEST_CASE("rtc: the date at virtual time 0, in BCD and binary, 24 and 12 hours") {
  Bench b;
  CHECK(b.rtc.read(0x09) == 0x26);   // 2026-01-01, a Thursday (RTC weekday 5)
  CHECK(b.rtc.read(0x32) == 0x20);
  CHECK(b.rtc.read(0x08) == 0x01);
  CHECK(b.rtc.read(0x07) == 0x01);
  CHECK(b.rtc.read(0x06) == 0x05);
  CHECK(b.rtc.read(0x0d) == 0x80);
  b.now = (13ull * 3600 + 59 * 60 + 7) * 1000000000ull;
  CHECK(b.rtc.read(0x04) == 0x13);
  CHECK(b.rtc.read(0x02) == 0x59);
  b.rtc.write(0x0b, 0x04);            // binary, 12-hour
  CHECK(b.rtc.read(0x02) == 59);
  CHECK(b.rtc.read(0x04) == (0x80 | 1));
  b.rtc.write(0x0b, 0x02);
  b.rtc.write(0x09, 0x99);            // the guest sets the year
  CHECK(b.rtc.read(0x09) == 0x99);
  CHECK(b.rtc.read(0x32) == 0x20);
  CHECK(b.rtc.read(0x15) == 0x80);    // CMOS: 640 KiB base memory
  CHECK((b.rtc.read(0x34) | b.rtc.read(0x35) << 8) == (128 - 16) * 16);
}

TEST_CASE("rtc: periodic interrupt, register C, and IRQ8 held until C is read") {
  Bench b;
  CHECK(b.rtc.nextIrqNs() == CmosRtc::kNever);  // PIE off
  b.rtc.write(0x0a, 0x26);                      // 1024 Hz
  b.rtc.write(0x0b, 0x42);
  uint64_t period = 1000000000ull / 1024;
  CHECK(b.rtc.nextIrqNs() == period);
  b.now = period;
  b.rtc.update(b.now);
  CHECK(b.pic.pending());
  CHECK(b.rtc.nextIrqNs() == CmosRtc::kNever);  // no edge can come while IRQ8 is high
  CHECK(b.pic.acknowledge() == 0x70);           // the slave's reset vector base
  CHECK(b.rtc.read(0x0c) == 0xc0);
  CHECK(b.rtc.read(0x0c) == 0x00);
  b.now = 5 * period + 10;
  b.rtc.update(b.now);
  CHECK(b.rtc.irqsRaised() == 2);
}

TEST_CASE("rtc: UIP in the last 244 us of a second, update-ended flag each second") {
  Bench b;
  b.now = 999800000;
  CHECK((b.rtc.read(0x0a) & 0x80) == 0x80);
  b.now = 1000000000;
  CHECK((b.rtc.read(0x0a) & 0x80) == 0);
  CHECK((b.rtc.read(0x0c) & 0x10) == 0x10);
}
