// The i8042 keyboard controller as an OS drives it: status, command byte, self-tests, port
// enables, output port and reset, the keyboard's and mouse's replies, IRQ 1 and 12.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "emu/devices/i8042.h"
#include "emu/devices/pic8259.h"

using namespace btvm;

namespace {
struct KbdBench {
  Pic8259 pic;
  std::vector<std::string> resets;
  I8042 kbc{pic, [this](const char* how) { resets.push_back(how); }};
  bool irq1() { return pic.master().level & 0x02; }
  bool irq12() { return pic.slave().level & 0x10; }
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> v;
    while (kbc.readStatus() & I8042::kObf) v.push_back(kbc.readData());
    return v;
  }
  std::vector<uint8_t> command(uint8_t c) { kbc.writeCommand(c); return drain(); }
};
using Bytes = std::vector<uint8_t>;
}  // namespace

TEST_CASE("status: no data, not 0xff; CMD bit follows the last port written") {
  KbdBench b;
  uint8_t s = b.kbc.readStatus();
  CHECK(s != 0xff);
  CHECK((s & (I8042::kObf | I8042::kIbf)) == 0);
  CHECK((s & I8042::kSys) != 0);
  b.kbc.writeCommand(0xad);
  CHECK((b.kbc.readStatus() & I8042::kCmd) != 0);
  b.kbc.writeData(0xf4);
  CHECK((b.kbc.readStatus() & I8042::kCmd) == 0);
}

TEST_CASE("self-test 0xaa -> 0x55, interface tests 0xab and 0xa9 -> 0x00") {
  KbdBench b;
  CHECK(b.command(0xaa) == Bytes{0x55});
  CHECK(b.command(0xab) == Bytes{0x00});
  CHECK(b.command(0xa9) == Bytes{0x00});
}

TEST_CASE("command byte read 0x20 / write 0x60; 0xad/0xae and 0xa7/0xa8 flip the disable bits") {
  KbdBench b;
  b.kbc.writeCommand(0x60);
  b.kbc.writeData(0x47);
  CHECK(b.command(0x20) == Bytes{0x47});
  b.kbc.writeCommand(0xad);
  CHECK(b.command(0x20) == Bytes{0x57});
  b.kbc.writeCommand(0xae);
  b.kbc.writeCommand(0xa7);
  CHECK(b.command(0x20) == Bytes{0x67});
  b.kbc.writeCommand(0xa8);
  CHECK(b.command(0x20) == Bytes{0x47});
}

TEST_CASE("output port: 0xd0 reads A20 and reset-high, 0xd1 with bit 0 clear resets, 0xfe pulses reset") {
  KbdBench b;
  CHECK((b.command(0xd0)[0] & 0x03) == 0x03);
  b.kbc.writeCommand(0xd1);
  b.kbc.writeData(0x01);  // A20 off
  CHECK(!b.kbc.a20());
  CHECK(b.resets.empty());
  b.kbc.writeCommand(0xd1);
  b.kbc.writeData(0x03);
  CHECK(b.kbc.a20());
  CHECK(b.resets.empty());
  b.kbc.writeCommand(0xff);  // pulse nothing
  CHECK(b.resets.empty());
  b.kbc.writeCommand(0xfe);
  CHECK(b.resets.size() == 1);
  b.kbc.writeCommand(0xd1);
  b.kbc.writeData(0x02);
  CHECK(b.resets.size() == 2);
}

TEST_CASE("keyboard: reset FA AA, identify FA AB 41 (translated) or 83, LEDs, scan-code set, echo, unknown") {
  KbdBench b;
  b.kbc.writeData(0xff);
  CHECK(b.drain() == Bytes{0xfa, 0xaa});
  b.kbc.writeData(0xf2);
  CHECK(b.drain() == Bytes{0xfa, 0xab, 0x41});
  b.kbc.writeCommand(0x60);
  b.kbc.writeData(0x05);  // translation off
  b.kbc.writeData(0xf2);
  CHECK(b.drain() == Bytes{0xfa, 0xab, 0x83});
  b.kbc.writeData(0xed);
  CHECK(b.drain() == Bytes{0xfa});
  b.kbc.writeData(0x07);
  CHECK(b.drain() == Bytes{0xfa});
  b.kbc.writeData(0xf0);
  b.kbc.writeData(0x03);
  CHECK(b.drain() == Bytes{0xfa, 0xfa});
  b.kbc.writeData(0xf0);
  b.kbc.writeData(0x00);
  CHECK(b.drain() == Bytes{0xfa, 0xfa, 0x03});
  b.kbc.writeData(0xee);
  CHECK(b.drain() == Bytes{0xee});
  b.kbc.writeData(0x42);
  CHECK(b.drain() == Bytes{0xfe});
}

TEST_CASE("IRQ 1 per keyboard byte when enabled; each byte is a new edge; none when KBD_INT is off") {
  KbdBench b;
  CHECK(!b.irq1());
  b.kbc.writeData(0xff);
  CHECK(b.irq1());
  uint8_t irr_before = b.pic.master().irr;
  CHECK((irr_before & 0x02) != 0);
  b.pic.master().irr = 0;
  CHECK(b.kbc.readData() == 0xfa);
  CHECK(b.irq1());                          // AA follows
  CHECK((b.pic.master().irr & 0x02) != 0);  // as a fresh edge
  CHECK(b.kbc.readData() == 0xaa);
  CHECK(!b.irq1());
  b.kbc.writeCommand(0x60);
  b.kbc.writeData(0x44);                     // KBD_INT off
  b.kbc.writeData(0xee);
  CHECK(!b.irq1());
  CHECK(b.drain() == Bytes{0xee});
}

TEST_CASE("mouse port: 0xd3 loopback sets AUX_OBF and IRQ 12; 0xd4 commands; IntelliMouse IDs") {
  KbdBench b;
  b.kbc.writeCommand(0x60);
  b.kbc.writeData(0x47);  // KBD_INT, AUX_INT, SYS, XLATE; both ports enabled
  b.kbc.writeCommand(0xd3);
  b.kbc.writeData(0xa5);
  CHECK((b.kbc.readStatus() & (I8042::kObf | I8042::kAuxObf)) == (I8042::kObf | I8042::kAuxObf));
  CHECK(b.irq12());
  CHECK(!b.irq1());
  CHECK(b.kbc.readData() == 0xa5);
  CHECK(!b.irq12());
  auto mouse = [&](uint8_t v) { b.kbc.writeCommand(0xd4); b.kbc.writeData(v); };
  mouse(0xff);
  CHECK(b.drain() == Bytes{0xfa, 0xaa, 0x00});
  mouse(0xf2);
  CHECK(b.drain() == Bytes{0xfa, 0x00});
  for (uint8_t r : {200, 100, 80}) { mouse(0xf3); mouse(r); }
  b.drain();
  mouse(0xf2);
  CHECK(b.drain() == Bytes{0xfa, 0x03});
  for (uint8_t r : {200, 200, 80}) { mouse(0xf3); mouse(r); }
  b.drain();
  mouse(0xf2);
  CHECK(b.drain() == Bytes{0xfa, 0x04});
  mouse(0xe9);
  CHECK(b.drain() == Bytes{0xfa, 0x00, 0x02, 80});
}
