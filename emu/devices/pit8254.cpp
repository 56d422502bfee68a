#include "emu/devices/pit8254.h"

#include "emu/devices/pic8259.h"

namespace btvm {

namespace {

uint32_t toBcd(uint32_t v) {
  return (v % 10) | ((v / 10 % 10) << 4) | ((v / 100 % 10) << 8) | ((v / 1000 % 10) << 12);
}

uint32_t fromBcd(uint32_t v) {
  return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;
}

uint64_t nsToTick(uint64_t ns) { return uint64_t((unsigned __int128)ns * Pit8254::kHz / 1000000000u); }

// The first ns at which nsToTick() reaches `tick`.
uint64_t tickToNs(uint64_t tick) {
  return uint64_t(((unsigned __int128)tick * 1000000000u + Pit8254::kHz - 1) / Pit8254::kHz);
}

}  // namespace

Pit8254::Pit8254(NowFn now, Pic8259& pic) : now_(std::move(now)), pic_(pic) {
  // As QEMU resets it and SeaBIOS leaves it for a Multiboot kernel: channel 0 in mode 2 with a
  // count of 65536 (the 18.2 Hz BIOS tick, read back as status 0x34), channels 1 and 2 in mode 3,
  // channel 2's gate low.
  for (Channel& c : ch_) c.counting = true;
  ch_[0].mode = 2;
  ch_[2].gate = false;
}

void Pit8254::attach(IoBus& bus) {
  bus.add(0x40, 4,
          [this](uint16_t port, unsigned) -> uint32_t { return port == 0x43 ? 0xff : readCounter(port - 0x40); },
          [this](uint16_t port, unsigned, uint32_t v) {
            if (port == 0x43) writeControl(uint8_t(v));
            else writeCounter(port - 0x40, uint8_t(v));
          });
  bus.add(0x61, 1, [this](uint16_t, unsigned) -> uint32_t { return readPortB(); },
          [this](uint16_t, unsigned, uint32_t v) { writePortB(uint8_t(v)); });
}

uint64_t Pit8254::tickNow() const { return nsToTick(now_()); }

uint64_t Pit8254::elapsed(const Channel& c, uint64_t tick) const {
  bool runs = c.gate || (c.mode == 1 || c.mode == 5);  // modes 1 and 5: the gate only triggers
  return c.acc + (runs && tick > c.since ? tick - c.since : 0);
}

uint32_t Pit8254::value(const Channel& c, uint64_t e) const {
  uint32_t n = c.reload;
  uint32_t modulus = c.bcd ? 10000 : 65536;
  uint32_t v;
  switch (c.mode) {
    case 2: v = n - uint32_t(e % n); break;
    case 3: {  // counts down by two, through each half of the period
      uint32_t p = uint32_t(e % n), high = (n + 1) / 2;
      uint32_t in_half = p < high ? p : p - high;
      v = (n & ~1u) - 2 * in_half;
      if (v == 0) v = 2;
      break;
    }
    default: v = uint32_t((uint64_t(n) + modulus - e % modulus) % modulus); break;  // 0, 1, 4, 5
  }
  v %= modulus;
  return c.bcd ? toBcd(v) : v;
}

bool Pit8254::out(const Channel& c, uint64_t e) const {
  if (!c.counting) return c.mode != 0;  // after the control word: low in mode 0, high otherwise
  uint32_t n = c.reload;
  switch (c.mode) {
    case 0:
    case 1: return e >= n;
    case 2: return !c.gate || n < 2 || e % n != n - 1;
    case 3: return !c.gate || e % n < (n + 1) / 2;
    default: return e != n;  // 4, 5: one clock low at the terminal count
  }
}

uint64_t Pit8254::nextRise(const Channel& c, uint64_t after) const {
  if (!c.counting) return kNever;
  uint64_t n = c.reload;
  switch (c.mode) {
    case 0:
    case 1: return after < n ? n : kNever;
    case 2:
    case 3: return (after / n + 1) * n;  // OUT rises as each period begins again
    default: return after < n + 1 ? n + 1 : kNever;
  }
}

void Pit8254::load(Channel& c, uint32_t n) {
  uint32_t full = c.bcd ? 10000 : 65536;
  c.reload = n == 0 ? full : (c.bcd ? fromBcd(n) : n);
  if (c.reload == 0) c.reload = full;
  c.counting = true;
  c.since = tickNow();
  c.acc = 0;
  c.edges_done = 0;
}

void Pit8254::setGate(Channel& c, bool high) {
  if (high == c.gate) return;
  uint64_t t = tickNow();
  if (!high) {
    c.acc = elapsed(c, t);
    c.gate = false;
    return;
  }
  c.gate = true;
  if (c.mode == 0 || c.mode == 4) {  // counting resumes where it stopped
    c.since = t;
  } else if (c.counting) {  // modes 1, 2, 3, 5: a rising gate reloads and restarts the count
    c.since = t;
    c.acc = 0;
    c.edges_done = 0;
  }
}

void Pit8254::latchCount(Channel& c) {
  if (c.count_latched) return;  // a second latch before the first is read is ignored
  c.latch = uint16_t(value(c, elapsed(c, tickNow())));
  c.count_latched = true;
  c.latch_msb = c.access == 2;
}

void Pit8254::latchStatus(Channel& c) {
  if (c.status_latched) return;
  bool o = out(c, elapsed(c, tickNow()));
  c.status = uint8_t((o ? 0x80 : 0) | (c.counting ? 0 : 0x40) | (c.access << 4) | (c.mode << 1) | (c.bcd ? 1 : 0));
  c.status_latched = true;
}

void Pit8254::writeControl(uint8_t v) {
  unsigned sel = v >> 6;
  if (sel == 3) {  // read-back: bit 5 clear latches counts, bit 4 clear latches statuses
    for (unsigned i = 0; i < 3; ++i) {
      if (!(v & (2u << i))) continue;
      if (!(v & 0x10)) latchStatus(ch_[i]);
      if (!(v & 0x20)) latchCount(ch_[i]);
    }
    return;
  }
  Channel& c = ch_[sel];
  unsigned access = (v >> 4) & 3;
  if (access == 0) {
    latchCount(c);
    return;
  }
  uint8_t mode = (v >> 1) & 7;
  if (mode > 5) mode -= 4;  // 6 and 7 are 2 and 3
  if (sel == 0) update(now_());  // rises of the old program are reported before it goes
  bool gate = c.gate;
  c = Channel{};
  c.gate = gate;
  c.mode = mode;
  c.access = uint8_t(access);
  c.bcd = v & 1;
}

void Pit8254::writeCounter(unsigned ch, uint8_t v) {
  Channel& c = ch_[ch];
  if (ch == 0) update(now_());
  switch (c.access) {
    case 1: load(c, v); break;
    case 2: load(c, uint32_t(v) << 8); break;
    default:
      if (!c.write_msb) {
        c.lsb = v;
        c.write_msb = true;
        if (c.mode == 0) c.counting = false;  // mode 0: writing the LSB stops the count
      } else {
        c.write_msb = false;
        load(c, c.lsb | (uint32_t(v) << 8));
      }
      break;
  }
}

uint8_t Pit8254::readCounter(unsigned ch) {
  if (ch > 2) return 0xff;
  Channel& c = ch_[ch];
  if (c.status_latched) {
    c.status_latched = false;
    return c.status;
  }
  if (c.count_latched) {
    uint8_t b = c.latch_msb ? uint8_t(c.latch >> 8) : uint8_t(c.latch);
    if (c.access == 3 && !c.latch_msb) c.latch_msb = true;
    else c.count_latched = false;
    return b;
  }
  uint32_t v = value(c, elapsed(c, tickNow()));
  bool msb = c.access == 2 || (c.access == 3 && c.read_msb);
  if (c.access == 3) c.read_msb = !c.read_msb;
  return msb ? uint8_t(v >> 8) : uint8_t(v);
}

void Pit8254::writePortB(uint8_t v) {
  setGate(ch_[2], v & 1);
  speaker_ = v & 2;
  port_b_other_ = v & 0x0c;
}

uint8_t Pit8254::readPortB() {
  uint64_t ns = now_();
  bool refresh = (ns / 15085) & 1;  // the DRAM refresh request toggles every 15.085 us
  bool out2 = out(ch_[2], elapsed(ch_[2], nsToTick(ns)));
  return uint8_t((ch_[2].gate ? 1 : 0) | (speaker_ ? 2 : 0) | port_b_other_ | (refresh ? 0x10 : 0) |
                 (out2 ? 0x20 : 0));
}

uint64_t Pit8254::nextIrqNs() const {
  const Channel& c = ch_[0];
  if (!c.gate) return kNever;
  uint64_t rise = nextRise(c, c.edges_done);
  if (rise == kNever) return kNever;
  return tickToNs(c.since + (rise - c.acc));
}

void Pit8254::update(uint64_t now_ns) {
  Channel& c = ch_[0];
  uint64_t e = elapsed(c, nsToTick(now_ns));
  if (e <= c.edges_done) return;
  uint64_t rise = nextRise(c, c.edges_done);
  c.edges_done = e;
  if (rise != kNever && rise <= e) {
    ++irqs_;
    pic_.pulseIrq(0);
  }
}

}  // namespace btvm
