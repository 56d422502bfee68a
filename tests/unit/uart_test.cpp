// The 16550A against the PC16550D data sheet (and QEMU where the sheet leaves a choice): reset
// values, Linux's 8250 probe, THRE interrupt rules, receive in 16450 and FIFO modes with the
// trigger level and character timeout, the interrupt priorities, loopback and modem-status
// deltas, and host input taken only as far as the receiver has room.
#include <doctest/doctest.h>

#include <algorithm>

#include <deque>
#include <string>

#include "emu/devices/uart16550.h"

using namespace btvm;

namespace {

enum Reg { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct FakeHost : Uart16550::Backend {
  std::string sent;
  std::deque<uint8_t> input;
  bool open = true;
  size_t largest_read = 0;
  void transmit(uint8_t b) override { sent.push_back(char(b)); }
  size_t receive(uint8_t* buf, size_t max) override {
    largest_read = std::max(largest_read, max);
    size_t n = 0;
    while (n < max && !input.empty()) {
      buf[n++] = input.front();
      input.pop_front();
    }
    return n;
  }
  bool inputOpen() const override { return open || !input.empty(); }
  void type(const std::string& s) { input.insert(input.end(), s.begin(), s.end()); }
};

struct Board {
  uint64_t t = 0;
  FakeHost host;
  int edges = 0;  // rising edges of the interrupt line
  bool line = false;
  Uart16550 uart{[this] { return t; }, [this](bool h) { edges += h && !line; line = h; }, &host};
  uint8_t in(Reg r) { return uart.read(r); }
  void out(Reg r, uint8_t v) { uart.write(r, v); }
  // 115200 8N1, as Linux sets the console.
  void linuxLine() {
    out(LCR, 0x80);
    out(DLL, 1);
    out(DLM, 0);
    out(LCR, 0x03);
  }
  uint8_t iirId() { return in(IIR) & 0x0f; }
};

constexpr uint64_t kCharNs = 10 * 1000000000ull / 115200;  // 8N1 at 115200: 10 bits

}  // namespace

TEST_CASE("uart: reset values as QEMU resets them") {
  Board b;
  CHECK(b.in(IER) == 0x00);
  CHECK(b.in(IIR) == 0x01);  // no interrupt, FIFOs off
  CHECK(b.in(LCR) == 0x00);
  CHECK(b.in(MCR) == 0x08);  // OUT2
  CHECK(b.in(LSR) == 0x60);  // THRE, TEMT
  CHECK(b.in(MSR) == 0xb0);  // DCD, DSR, CTS from the host side
  b.out(LCR, 0x80);
  CHECK(b.in(DLL) == 12);  // 9600 baud
  CHECK(b.in(DLM) == 0);
  CHECK_FALSE(b.line);
}

TEST_CASE("uart: Linux's 8250 autoconfig finds a 16550A") {
  Board b;
  // Scratch register holds any byte.
  b.out(SCR, 0xa5);
  CHECK(b.in(SCR) == 0xa5);
  // IER: bits 3:0 stick, bits 7:4 read zero (XScale UUE test must fail).
  b.out(IER, 0x00);
  CHECK((b.in(IER) & 0x0f) == 0x00);
  b.out(IER, 0x0f);
  CHECK((b.in(IER) & 0x0f) == 0x0f);
  b.out(IER, 0x40);
  CHECK(b.in(IER) == 0x00);
  // Loopback test: MCR = LOOP | OUT2 | RTS gives MSR bits 7:4 = DCD | CTS.
  b.out(MCR, 0x1a);
  CHECK((b.in(MSR) & 0xf0) == 0x90);
  b.out(MCR, 0x08);
  // FIFO detection: IIR bits 7:6 = 11 once FCR enables the FIFOs.
  b.out(FCR, 0x01);
  CHECK((b.in(IIR) >> 6) == 3);
  // Not a 16750: IIR bit 5 stays 0 even if the 64-byte bit is written.
  b.out(FCR, 0x21);
  CHECK((b.in(IIR) & 0x20) == 0);
  // Not a 16650: with LCR = 0xbf, register 2 reads IIR (non-zero), not an EFR of 0.
  b.out(LCR, 0xbf);
  CHECK(b.in(IIR) != 0);
  b.out(LCR, 0x00);
  b.out(FCR, 0x00);
  CHECK((b.in(IIR) & 0xc0) == 0);
}

TEST_CASE("uart: transmit is immediate; THRE and TEMT stay set") {
  Board b;
  b.out(THR, 'h');
  b.out(THR, 'i');
  CHECK(b.host.sent == "hi");
  CHECK((b.in(LSR) & 0x60) == 0x60);
  CHECK(b.uart.bytesTransmitted() == 2);
  b.out(LCR, 0x80);
  b.out(THR, 0x03);  // DLAB: the divisor, not a byte on the line
  CHECK(b.host.sent == "hi");
}

TEST_CASE("uart: THRE interrupt on enabling, cleared by IIR read, raised again per byte") {
  Board b;
  b.out(IER, 0x02);  // ETBEI with THR empty: interrupt at once
  CHECK(b.line);
  CHECK(b.iirId() == 0x02);  // reading IIR that shows THRE acknowledges it
  CHECK_FALSE(b.line);
  CHECK(b.iirId() == 0x01);
  b.out(THR, 'x');  // THR empty again after the byte: a new THRE interrupt, a new edge
  CHECK(b.line);
  CHECK(b.edges == 2);
  b.out(IER, 0x00);  // disabling drops it
  CHECK_FALSE(b.line);
  // Linux's UART_BUG_THRE test: after IER 0 -> THRI, THRE must be asserted again.
  b.out(IER, 0x02);
  CHECK(b.iirId() == 0x02);
  b.out(IER, 0x00);
  b.out(IER, 0x02);
  CHECK((b.in(IIR) & 0x01) == 0);
  // Rewriting IER with ETBEI already set is no new edge of ETBEI: nothing re-raised.
  b.out(IER, 0x03);
  CHECK(b.iirId() == 0x01);
}

TEST_CASE("uart: 16450 mode receive, overrun and the line-status interrupt") {
  Board b;
  b.out(MCR, 0x18);  // loopback: bytes written come back to the receiver
  b.out(IER, 0x01);
  CHECK_FALSE(b.line);
  b.out(THR, 'a');
  CHECK(b.host.sent.empty());  // not on the line in loopback
  CHECK(b.line);
  CHECK(b.iirId() == 0x04);  // received data available
  CHECK((b.in(LSR) & 0x01) == 0x01);
  b.out(THR, 'b');  // RBR still full: overrun, the new byte replaces it
  b.out(IER, 0x05);
  CHECK(b.iirId() == 0x06);  // line status outranks received data
  CHECK((b.in(LSR) & 0x03) == 0x03);  // DR and OE ...
  CHECK((b.in(LSR) & 0x02) == 0x00);  // ... OE cleared by the read
  CHECK(b.iirId() == 0x04);
  CHECK(b.in(RBR) == 'b');
  CHECK((b.in(LSR) & 0x01) == 0);
  CHECK(b.iirId() == 0x01);
  CHECK_FALSE(b.line);
}

TEST_CASE("uart: FIFO trigger level and character timeout") {
  Board b;
  b.linuxLine();
  b.out(FCR, 0x87);  // FIFO on, both reset, trigger 8
  b.out(MCR, 0x18);
  b.out(IER, 0x01);
  for (char ch : std::string("1234567")) b.out(THR, uint8_t(ch));
  CHECK((b.in(LSR) & 0x01) == 0x01);
  CHECK_FALSE(b.line);  // 7 < 8: no received-data interrupt yet
  CHECK(b.uart.nextEventNs() == 4 * kCharNs);
  b.t = 4 * kCharNs - 1;
  b.uart.update(b.t);
  CHECK_FALSE(b.line);
  b.t = 4 * kCharNs;
  b.uart.update(b.t);
  CHECK(b.line);
  CHECK(b.in(IIR) == 0xcc);  // character timeout, FIFO bits set
  CHECK(b.in(RBR) == '1');   // reading clears the timeout and restarts its clock
  CHECK_FALSE(b.line);
  b.out(THR, '8');
  b.out(THR, '9');
  CHECK(b.iirId() == 0x04);  // 8 in the FIFO: trigger level reached
  std::string got;
  while (b.in(LSR) & 0x01) got.push_back(char(b.in(RBR)));
  CHECK(got == "23456789");
  CHECK(b.iirId() == 0x01);
  // 17 bytes into the 16-byte FIFO: the 17th is lost and OE set.
  for (int i = 0; i < 17; ++i) b.out(THR, uint8_t('A' + i));
  CHECK((b.in(LSR) & 0x02) == 0x02);
  got.clear();
  while (b.in(LSR) & 0x01) got.push_back(char(b.in(RBR)));
  CHECK(got == "ABCDEFGHIJKLMNOP");
  // FCR receiver reset empties the FIFO.
  b.out(THR, 'z');
  b.out(FCR, 0x83);
  CHECK((b.in(LSR) & 0x01) == 0);
}

TEST_CASE("uart: interrupt priority line status > data > THRE > modem status") {
  Board b;
  b.out(MCR, 0x18);  // loopback
  b.out(IER, 0x0f);
  // Modem status: leaving loopback changes CTS/DSR/DCD as seen by the UART (delta bits).
  b.out(MCR, 0x08);
  b.in(IIR);  // acknowledge THRE
  CHECK(b.iirId() == 0x00);
  CHECK((b.in(MSR) & 0x0f) != 0);  // deltas, cleared by the read
  CHECK(b.iirId() == 0x01);
  // All four at once.
  b.out(MCR, 0x18);
  b.out(THR, 'a');
  b.out(THR, 'b');  // overrun
  CHECK(b.iirId() == 0x06);
  b.in(LSR);
  CHECK(b.iirId() == 0x04);
  b.in(RBR);
  CHECK(b.iirId() == 0x02);  // THR empty (from the last write)
  CHECK(b.iirId() == 0x00);  // then the modem status deltas of entering loopback
  b.in(MSR);
  CHECK(b.iirId() == 0x01);
}

TEST_CASE("uart: loopback MSR follows MCR and sets delta bits, TERI on RI's fall") {
  Board b;
  b.out(MCR, 0x10);
  b.in(MSR);
  b.out(MCR, 0x10 | 0x01);  // DTR -> DSR
  CHECK(b.in(MSR) == (0x20 | 0x02));
  b.out(MCR, 0x10 | 0x04);  // OUT1 -> RI rises (no TERI), DSR falls (DDSR)
  CHECK(b.in(MSR) == (0x40 | 0x02));
  b.out(MCR, 0x10);  // RI falls: TERI
  CHECK(b.in(MSR) == 0x04);
  b.out(MCR, 0x10 | 0x02 | 0x08);  // RTS -> CTS, OUT2 -> DCD
  CHECK(b.in(MSR) == (0x10 | 0x80 | 0x01 | 0x08));
}

TEST_CASE("uart: host input is taken only as far as the receiver has room, in order") {
  Board b;
  b.linuxLine();
  b.out(FCR, 0x81);  // trigger 8
  b.out(IER, 0x01);
  b.host.type("!");
  b.uart.update(b.t);
  CHECK(b.host.input.size() == 1);  // RTS down: the host holds its bytes
  CHECK_FALSE(b.uart.inputCanInterrupt());
  b.out(MCR, 0x0b);  // DTR, RTS, OUT2 as a driver opening the port
  CHECK(b.uart.inputCanInterrupt());
  b.uart.update(b.t);
  CHECK(b.in(RBR) == '!');
  std::string text;
  for (int i = 0; i < 100; ++i) text.push_back(char(' ' + i % 90));
  b.host.type(text);
  CHECK(b.uart.inputCanInterrupt());
  b.uart.update(b.t);
  CHECK(b.line);  // 8 bytes: trigger level
  std::string got;
  int rounds = 0;
  while (got.size() < text.size() && rounds++ < 1000) {
    while (b.in(LSR) & 0x01) got.push_back(char(b.in(RBR)));
    b.t += 1;
    b.uart.update(b.t);
  }
  CHECK(got == text);
  CHECK(b.host.largest_read <= 16);
  CHECK(b.uart.bytesReceived() == text.size() + 1);  // and the "!"
  CHECK((b.in(LSR) & 0x02) == 0);  // never an overrun
  // 16450 mode: one byte at a time.
  b.out(FCR, 0x00);
  b.host.type("xy");
  b.uart.inputReady();
  b.uart.update(b.t);
  CHECK(b.host.input.size() == 1);
  CHECK(b.in(RBR) == 'x');
  CHECK(b.in(RBR) == 'x');  // an empty receiver reads the last byte again
  CHECK((b.in(LSR) & 0x01) == 0x01);  // LSR read took 'y' (a polling guest needs no interrupt)
  CHECK(b.in(RBR) == 'y');
  // No input in loopback: the serial input is disconnected.
  b.host.type("q");
  b.out(MCR, 0x18);
  b.uart.inputReady();
  b.uart.update(b.t);
  CHECK(b.host.input.size() == 1);
  CHECK_FALSE(b.uart.inputCanInterrupt());
  b.out(MCR, 0x0b);
  b.host.open = false;
  b.uart.update(b.t);
  CHECK(b.in(RBR) == 'q');
  CHECK_FALSE(b.uart.inputCanInterrupt());  // end of input: nothing more can come
  CHECK(b.uart.nextEventNs() == Uart16550::kNever);
}

TEST_CASE("uart: the receiver looks for host input on its poll schedule only") {
  Board b;
  b.out(MCR, 0x0b);
  b.out(IER, 0x01);
  b.uart.update(0);  // looked: nothing there, so the next look is twice the shortest interval away
  uint64_t next = 2 * Uart16550::kInputPollNs;
  CHECK(b.uart.nextEventNs() == next);
  b.host.type("k");
  b.uart.update(next - 1);
  CHECK_FALSE(b.line);
  b.uart.update(next);
  CHECK(b.line);
  // Input came: the next look is the shortest interval away again.
  CHECK(b.uart.state().next_input_ == next + Uart16550::kInputPollNs);
  CHECK(b.in(RBR) == 'k');
}

TEST_CASE("uart: looks that find no input back off, up to the longest interval") {
  Board b;
  b.out(MCR, 0x0b);
  b.out(IER, 0x01);
  uint64_t t = 0, every = Uart16550::kInputPollNs;
  for (int i = 0; i < 10; ++i) {
    b.uart.update(t);
    every = std::min(every * 2, Uart16550::kInputPollMaxNs);
    CHECK(b.uart.nextEventNs() == t + every);
    t += every;
  }
  CHECK(every == Uart16550::kInputPollMaxNs);
  b.host.type("ab");
  b.uart.update(t);
  CHECK(b.uart.state().next_input_ == t + Uart16550::kInputPollNs);
  CHECK(b.in(RBR) == 'a');
}

TEST_CASE("uart: input piped before Linux opens ttyS0 survives its boot and open sequence") {
  Board b;
  b.host.type("echo hi\n");
  // Boot console output: IER saved and cleared, THRE polled in LSR, bytes written (MCR 0x08).
  b.linuxLine();
  b.out(IER, 0x00);
  for (char ch : std::string("[    0.000000] Linux version\n")) {
    while (!(b.in(LSR) & 0x20)) {}
    b.out(THR, uint8_t(ch));
  }
  b.t += 1000000;
  b.uart.update(b.t);
  // serial8250_do_startup: clear the FIFOs, read the interrupt registers, 8N1, OUT2 (and DTR
  // that the console set up), the THRE test, the reads "for luck", then RLSI|RDI and the FIFO.
  b.out(FCR, 0x01);
  b.out(FCR, 0x07);
  b.out(FCR, 0x00);
  b.in(LSR), b.in(RBR), b.in(IIR), b.in(MSR);
  CHECK(b.in(LSR) != 0xff);
  b.out(LCR, 0x03);
  b.out(MCR, 0x09);
  b.out(IER, 0x02);
  uint8_t iir1 = b.in(IIR);
  b.out(IER, 0x00);
  b.out(IER, 0x02);
  uint8_t iir = b.in(IIR);
  b.out(IER, 0x00);
  CHECK((iir1 & 0x01) == 0);  // no UART_BUG_THRE
  CHECK((iir & 0x01) == 0);
  b.in(LSR), b.in(RBR), b.in(IIR), b.in(MSR);
  b.out(IER, 0x05);
  b.out(FCR, 0x81);
  b.t += 1000000;
  b.uart.update(b.t);
  CHECK(b.host.input.size() == 8);  // nothing taken yet: RTS is still down
  // uart_port_dtr_rts: the tty is open, input flows, all of it.
  b.out(MCR, 0x0b);
  b.uart.update(b.t);
  std::string got;
  for (int round = 0; round < 4 && got.size() < 8; ++round) {
    b.t += 4 * kCharNs;
    b.uart.update(b.t);
    if (b.line)
      while (b.in(LSR) & 0x01) got.push_back(char(b.in(RBR)));
  }
  CHECK(got == "echo hi\n");
}
