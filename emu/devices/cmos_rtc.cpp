#include "emu/devices/cmos_rtc.h"

#include <algorithm>

#include "emu/devices/pic8259.h"

namespace btvm {

namespace {

constexpr uint64_t kNsPerSec = 1000000000u;
constexpr uint8_t kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c, kRegD = 0x0d, kCentury = 0x32;
constexpr uint8_t kSet = 0x80, kPie = 0x40, kAie = 0x20, kUie = 0x10, kBinary = 0x04, k24h = 0x02;
constexpr uint8_t kIrqf = 0x80, kPf = 0x40, kAf = 0x20, kUf = 0x10;

struct Civil {
  int year;
  unsigned month, day, hour, minute, second, weekday;  // weekday 1 = Sunday, as the RTC counts
};

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
unsigned monthDays(int y, unsigned m) {
  static const unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// The RTC holds years 1970..2169 at most (two digits plus a century byte); plain loops suffice.
Civil toCivil(int64_t secs) {
  secs = std::max<int64_t>(secs, 0);
  Civil c{};
  int64_t days = secs / 86400, rest = secs % 86400;
  c.hour = unsigned(rest / 3600);
  c.minute = unsigned(rest / 60 % 60);
  c.second = unsigned(rest % 60);
  c.weekday = unsigned((days + 4) % 7) + 1;  // 1970-01-01 was a Thursday
  c.year = 1970;
  while (days >= (leap(c.year) ? 366 : 365)) days -= leap(c.year++) ? 366 : 365;
  c.month = 1;
  while (days >= monthDays(c.year, c.month)) days -= monthDays(c.year, c.month++);
  c.day = unsigned(days) + 1;
  return c;
}

int64_t fromCivil(const Civil& c) {
  int64_t days = 0;
  for (int y = 1970; y < c.year; ++y) days += leap(y) ? 366 : 365;
  for (unsigned m = 1; m < c.month && m <= 12; ++m) days += monthDays(c.year, m);
  days += int64_t(std::max(c.day, 1u)) - 1;
  return days * 86400 + int64_t(c.hour) * 3600 + int64_t(c.minute) * 60 + int64_t(c.second);
}

}  // namespace

CmosRtc::CmosRtc(NowFn now, Pic8259& pic, uint64_t ram_bytes, int64_t epoch)
    : now_(std::move(now)), pic_(pic) {
  base_ = second_done_ = epoch;
  // What a PC BIOS (and QEMU) stores: 640 KiB base memory, extended memory in KiB above 1 MiB
  // (capped at 0xffff), memory above 16 MiB in 64 KiB units, one CPU.
  uint64_t kib = ram_bytes >> 10;
  uint32_t ext = uint32_t(std::min<uint64_t>(kib > 1024 ? kib - 1024 : 0, 0xffff));
  uint32_t above16 = uint32_t(std::min<uint64_t>(ram_bytes > (16u << 20) ? (ram_bytes - (16u << 20)) >> 16 : 0, 0xffff));
  ram_[0x15] = 0x80;
  ram_[0x16] = 0x02;
  ram_[0x17] = ram_[0x30] = uint8_t(ext);
  ram_[0x18] = ram_[0x31] = uint8_t(ext >> 8);
  ram_[0x34] = uint8_t(above16);
  ram_[0x35] = uint8_t(above16 >> 8);
}

void CmosRtc::attach(IoBus& bus) {
  bus.add(0x70, 2,
          [this](uint16_t port, unsigned) -> uint32_t { return port == 0x70 ? 0xff : read(index_); },
          [this](uint16_t port, unsigned, uint32_t v) {
            if (port == 0x70) index_ = uint8_t(v) & 0x7f;  // bit 7 masks NMI, which nothing raises
            else write(index_, uint8_t(v));
          });
}

uint8_t CmosRtc::encode(unsigned v) const {
  return (reg_b_ & kBinary) ? uint8_t(v) : uint8_t(((v / 10) << 4) | (v % 10));
}

unsigned CmosRtc::decode(uint8_t v) const { return (reg_b_ & kBinary) ? v : (v >> 4) * 10 + (v & 0xf); }

uint8_t CmosRtc::timeField(uint8_t index, int64_t secs) const {
  Civil c = toCivil(secs);
  switch (index) {
    case 0x00: return encode(c.second);
    case 0x02: return encode(c.minute);
    case 0x04:
      if (reg_b_ & k24h) return encode(c.hour);
      return uint8_t(encode(c.hour % 12 == 0 ? 12 : c.hour % 12) | (c.hour >= 12 ? 0x80 : 0));
    case 0x06: return encode(c.weekday);
    case 0x07: return encode(c.day);
    case 0x08: return encode(c.month);
    case 0x09: return encode(unsigned(c.year % 100));
    default: return encode(unsigned(c.year / 100));  // kCentury
  }
}

void CmosRtc::setTimeField(uint8_t index, uint8_t v) {
  uint64_t ns = now_();
  Civil c = toCivil(seconds(ns));
  switch (index) {
    case 0x00: c.second = std::min(decode(v), 59u); break;
    case 0x02: c.minute = std::min(decode(v), 59u); break;
    case 0x04: {
      unsigned h = decode(v & 0x7f);
      if (!(reg_b_ & k24h)) h = (h % 12) + ((v & 0x80) ? 12 : 0);
      c.hour = std::min(h, 23u);
      break;
    }
    case 0x06: return;  // the day of the week follows from the date
    case 0x07: c.day = std::clamp(decode(v), 1u, 31u); break;
    case 0x08: c.month = std::clamp(decode(v), 1u, 12u); break;
    case 0x09: c.year = c.year / 100 * 100 + int(decode(v) % 100); break;
    default: c.year = int(decode(v) % 100) * 100 + c.year % 100; break;
  }
  c.year = std::clamp(c.year, 1970, 2169);
  c.day = std::min(c.day, monthDays(c.year, c.month));
  base_ = fromCivil(c) - int64_t(ns / kNsPerSec);
  second_done_ = seconds(ns);
}

uint8_t CmosRtc::read(uint8_t index) {
  uint64_t ns = now_();
  update(ns);
  switch (index) {
    case 0x00: case 0x02: case 0x04: case 0x06: case 0x07: case 0x08: case 0x09: case kCentury:
      return timeField(index, seconds(ns));
    case 0x01: return alarm_[0];
    case 0x03: return alarm_[1];
    case 0x05: return alarm_[2];
    case kRegA: {
      bool uip = !(reg_b_ & kSet) && ns % kNsPerSec >= kNsPerSec - 244000;
      return uint8_t(reg_a_ | (uip ? 0x80 : 0));
    }
    case kRegB: return reg_b_;
    case kRegC: {
      uint8_t v = reg_c_;
      reg_c_ = 0;
      updateLine();
      return v;
    }
    case kRegD: return 0x80;  // valid RAM and time: the battery is good
    default: return ram_[index & 0x7f];
  }
}

void CmosRtc::write(uint8_t index, uint8_t v) {
  uint64_t ns = now_();
  update(ns);
  switch (index) {
    case 0x00: case 0x02: case 0x04: case 0x06: case 0x07: case 0x08: case 0x09: case kCentury:
      setTimeField(index, v);
      break;
    case 0x01: alarm_[0] = v; break;
    case 0x03: alarm_[1] = v; break;
    case 0x05: alarm_[2] = v; break;
    case kRegA:
      reg_a_ = v & 0x7f;  // UIP is read-only
      periodic_done_ = ns;  // a new rate starts its periods now
      break;
    case kRegB:
      reg_b_ = (v & kSet) ? uint8_t(v & ~kUie) : v;  // SET stops updates and clears UIE
      updateLine();  // enabling a source whose flag is already up raises IRQ8 at once
      break;
    case kRegC: case kRegD: break;  // read-only
    default: ram_[index & 0x7f] = v; break;
  }
}

// Register A: divider bits 6-4 must let the 32.768 kHz base run; rate bits 3-0 select
// 32768 >> (rate - 1) Hz, with rates 1 and 2 giving 256 and 128 Hz.
uint64_t CmosRtc::periodicNs() const {
  unsigned rate = reg_a_ & 0x0f;
  if (rate == 0 || (reg_a_ & 0x60) == 0x60) return 0;
  uint64_t units = rate <= 2 ? (rate == 1 ? 128u : 256u) : 1u << (rate - 1);  // of 1/32768 s
  return units * kNsPerSec / 32768u;
}

void CmosRtc::raiseFlags(uint8_t flags) {
  reg_c_ |= flags;
  updateLine();
}

void CmosRtc::updateLine() {
  if (reg_c_ & reg_b_ & (kPf | kAf | kUf)) reg_c_ |= kIrqf;
  bool high = reg_c_ & kIrqf;
  if (high == line_) return;
  line_ = high;
  if (high) ++irqs_;
  pic_.setIrq(8, high);
}

void CmosRtc::update(uint64_t now_ns) {
  if (uint64_t period = periodicNs()) {
    if (now_ns / period > periodic_done_ / period) raiseFlags(kPf);
    periodic_done_ = now_ns;
  }
  int64_t s = seconds(now_ns);
  if (s <= second_done_) return;
  second_done_ = s;
  if (reg_b_ & kSet) return;
  uint8_t flags = kUf;
  bool alarm = true;
  for (int i = 0; i < 3; ++i) {
    uint8_t want = alarm_[i];
    if ((want & 0xc0) == 0xc0) continue;  // "don't care"
    if (want != timeField(uint8_t(2 * i), s)) alarm = false;
  }
  if (alarm) flags |= kAf;
  raiseFlags(flags);
}

uint64_t CmosRtc::nextIrqNs() const {
  if (line_) return kNever;  // IRQ8 stays high until register C is read: no new edge before
  uint64_t next = kNever;
  if (uint64_t period = periodicNs(); period && (reg_b_ & kPie))
    next = (periodic_done_ / period + 1) * period;
  if ((reg_b_ & (kUie | kAie)) && !(reg_b_ & kSet))
    next = std::min(next, uint64_t(second_done_ + 1 - base_) * kNsPerSec);
  return next;
}

}  // namespace btvm
