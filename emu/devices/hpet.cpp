#include "emu/devices/hpet.h"

namespace btvm {

using namespace hpet;

namespace {
enum : uint32_t { kCap = 0x000, kConfig = 0x010, kIsr = 0x020, kCounter = 0x0f0, kTimer0 = 0x100 };
// Timer configuration bits.
constexpr uint64_t kLevel = 1u << 1, kIntEnable = 1u << 2, kPeriodic = 1u << 3, kPeriodicCap = 1u << 4,
                   kSizeCap = 1u << 5, kSetVal = 1u << 6, k32Bit = 1u << 8;
constexpr uint64_t kWritable = kLevel | kIntEnable | kPeriodic | kSetVal | k32Bit | (0x1fu << 9);
constexpr uint64_t kNsPerTick = kPeriodFs / 1000000;  // 10
}  // namespace

Hpet::Hpet(NowFn now, std::function<void(unsigned, bool)> legacy_line, std::function<void(unsigned, bool)> pin,
           std::function<void(bool)> legacy_mode)
    : now_(std::move(now)), legacy_line_(std::move(legacy_line)), pin_(std::move(pin)),
      legacy_mode_(std::move(legacy_mode)) {
  for (Timer& t : timers_) t.config = kPeriodicCap | kSizeCap | uint64_t(kRouteCap) << 32;
}

uint64_t Hpet::counterAt(uint64_t now) const {
  return enabled() ? counter_ + (now - enable_ns_) / kNsPerTick : counter_;
}

uint64_t Hpet::reg64(uint32_t reg, uint64_t now) const {
  if (reg == kCap) return kCapabilities;
  if (reg == kConfig) return config_;
  if (reg == kIsr) return isr_;
  if (reg == kCounter) return counterAt(now);
  if (reg >= kTimer0 && reg < kTimer0 + 0x20 * kTimers) {
    const Timer& t = timers_[(reg - kTimer0) / 0x20];
    switch ((reg - kTimer0) % 0x20) {
      case 0x00: return t.config;
      case 0x08: return t.config & k32Bit ? uint32_t(t.cmp) : t.cmp;
      default: return 0;  // FSB route: no FSB delivery
    }
  }
  return 0;
}

uint32_t Hpet::read(uint32_t offset) {
  uint64_t now = now_();
  update(now);
  uint64_t v = reg64(offset & ~7u, now);
  return uint32_t(offset & 4 ? v >> 32 : v);
}

void Hpet::write(uint32_t offset, uint32_t value) {
  uint64_t now = now_();
  update(now);
  uint32_t reg = offset & ~7u;
  if (reg >= kTimer0 && reg < kTimer0 + 0x20 * kTimers && (reg - kTimer0) % 0x20 == 0x08) {
    writeComparator(timers_[(reg - kTimer0) / 0x20], offset & 4, value);
    arm((reg - kTimer0) / 0x20, now);
    return;
  }
  uint64_t old = reg64(reg, now);
  // A 32-bit write changes its half of the 64-bit register.
  uint64_t v = offset & 4 ? (old & 0xffffffffull) | uint64_t(value) << 32 : (old & ~0xffffffffull) | value;
  writeReg64(reg, v, now);
}

void Hpet::writeReg64(uint32_t reg, uint64_t v, uint64_t now) {
  if (reg == kConfig) {
    uint64_t was = config_;
    counter_ = counterAt(now);
    enable_ns_ = now;
    config_ = v & 3;
    if ((was ^ config_) & 2) legacy_mode_(legacy());
    for (unsigned i = 0; i < kTimers; ++i) arm(i, now);
    return;
  }
  if (reg == kIsr) {  // write 1 to clear a level-triggered timer's status (and its line)
    for (unsigned i = 0; i < kTimers; ++i)
      if ((v >> i & 1) && (isr_ >> i & 1)) {
        isr_ &= ~(1ull << i);
        setLine(i, false);
      }
    return;
  }
  if (reg == kCounter) {  // writable while halted (the specification's rule)
    if (!enabled()) counter_ = v;
    return;
  }
  if (reg < kTimer0 || reg >= kTimer0 + 0x20 * kTimers) return;
  unsigned i = (reg - kTimer0) / 0x20;
  Timer& t = timers_[i];
  switch ((reg - kTimer0) % 0x20) {
    case 0x00: {
      uint64_t was = t.config;
      t.config = (t.config & ~kWritable) | (v & kWritable);
      if (!(t.config & kLevel) || !(t.config & kIntEnable)) {  // an edge timer holds no line
        if ((was & kLevel) && (isr_ >> i & 1)) setLine(i, false);
        isr_ &= ~(1ull << i);
      }
      break;
    }
    default: return;  // the comparator is written by halves (writeComparator); FSB: none
  }
  arm(i, now);
}

// A periodic timer's write sets the period; the comparator too only with SETVAL, which the
// write clears. Each half is its own write (QEMU's rule), so a write of the high half does not
// turn the low half into a period. In 32-bit mode the high half stays 0.
void Hpet::writeComparator(Timer& t, bool high, uint32_t value) {
  auto put = [&](uint64_t old) {
    return high ? (old & 0xffffffffull) | uint64_t(value) << 32 : (old & ~0xffffffffull) | value;
  };
  if (!(t.config & kPeriodic) || (t.config & kSetVal)) t.cmp = put(t.cmp);
  t.period = put(t.period);
  if (t.config & k32Bit) {
    t.cmp = uint32_t(t.cmp);
    t.period = uint32_t(t.period);
  }
  t.config &= ~kSetVal;
}

void Hpet::arm(unsigned i, uint64_t now) {
  Timer& t = timers_[i];
  t.next_ns = kNever;
  if (!enabled()) return;
  uint64_t cur = counterAt(now);
  uint64_t mask = t.config & k32Bit ? 0xffffffffull : ~0ull;
  uint64_t ticks = (t.cmp - cur) & mask;  // the counter matches after this many ticks (wrapping)
  if (ticks > (~0ull - now) / kNsPerTick) return;  // beyond the end of time
  // The counter reaches cur + ticks at this instant (counter_ + (ns - enable_ns_) / 10).
  t.next_ns = enable_ns_ + (cur + ticks - counter_) * kNsPerTick;
  if (t.next_ns < now) t.next_ns = now;
}

void Hpet::fire(unsigned i, uint64_t now) {
  Timer& t = timers_[i];
  if (t.config & kIntEnable) {
    if (t.config & kLevel) {
      isr_ |= 1ull << i;
      setLine(i, true);
    } else {
      setLine(i, true);
      setLine(i, false);
    }
  }
  if ((t.config & kPeriodic) && t.period) {
    // The comparator steps by whole periods past the counter (periods missed fold into one).
    uint64_t mask = t.config & k32Bit ? 0xffffffffull : ~0ull;
    uint64_t behind = (counterAt(now) - t.cmp) & mask;
    t.cmp = (t.cmp + (behind / t.period + 1) * t.period) & mask;
    arm(i, now);
  } else {
    // One-shot: the next match is after a full wrap (32-bit mode: 43 s; 64-bit: never).
    t.next_ns = kNever;
    if (t.config & k32Bit) t.next_ns = now + (1ull << 32) * kNsPerTick;
  }
}

void Hpet::setLine(unsigned i, bool high) {
  if (legacy() && i < 2) legacy_line_(i == 0 ? 0 : 8, high);
  else pin_(unsigned(timers_[i].config >> 9) & 0x1f, high);
}

uint64_t Hpet::nextEventNs() const {
  uint64_t t = kNever;
  for (const Timer& tm : timers_)
    if ((tm.config & kIntEnable) && tm.next_ns < t) t = tm.next_ns;
  return t;
}

uint64_t Hpet::nextWakeNs(const std::function<bool(bool isa, unsigned line)>& wakes) const {
  uint64_t t = kNever;
  for (unsigned i = 0; i < kTimers; ++i) {
    const Timer& tm = timers_[i];
    if (!(tm.config & kIntEnable) || tm.next_ns >= t) continue;
    bool isa = legacy() && i < 2;
    if (wakes(isa, isa ? (i == 0 ? 0 : 8) : unsigned(tm.config >> 9) & 0x1f)) t = tm.next_ns;
  }
  return t;
}

void Hpet::update(uint64_t now) {
  for (unsigned i = 0; i < kTimers; ++i)
    while (timers_[i].next_ns <= now) fire(i, now);
}

}  // namespace btvm
