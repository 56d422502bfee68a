// The HPET (IA-PC HPET specification 1.0a; QEMU's hw/timer/hpet.c is the reference for what a
// pc guest sees) at 0xfed00000: a 64-bit main counter at 100 MHz of btvm's clock (period
// 10,000,000 fs), three comparators (64-bit, one-shot or periodic, 32-bit mode, edge or level
// with the status register), and the legacy replacement route: with LEG_RT_CNF timer 0 drives
// ISA IRQ0 and timer 1 IRQ8 while the PIT's and the RTC's lines are cut off. Otherwise a timer
// drives the I/O APIC pin its INT_ROUTE_CNF names. No FSB (MSI) delivery.
#pragma once
#include <cstdint>
#include <functional>

#include "emu/devices/devices.h"

namespace btvm {

namespace hpet {
constexpr uint64_t kBase = 0xfed00000;
constexpr unsigned kTimers = 3;
constexpr uint64_t kPeriodFs = 10000000;  // 10 ns: 100 MHz
// Revision 1, 3 timers, 64-bit counter, legacy route capable, vendor 0x8086, period.
constexpr uint64_t kCapabilities = 0x8086a001ull | uint64_t(kTimers - 1) << 8 | kPeriodFs << 32;
constexpr uint32_t kRouteCap = 0x00ff0104;  // timers may use I/O APIC pins 2, 8 and 16-23
}  // namespace hpet

// Hpet's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct HpetState {
  static constexpr uint64_t kNever = UINT64_MAX;
  struct Timer {
    uint64_t config = 0, cmp = ~0ull, period = 0;
    uint64_t next_ns = kNever;  // when the counter next matches cmp (armed and enabled)
  };
  uint64_t config_ = 0, isr_ = 0;
  uint64_t counter_ = 0;   // the counter while halted, or its value at enable_ns_
  uint64_t enable_ns_ = 0;
  Timer timers_[hpet::kTimers];
};

class Hpet : private HpetState {
 public:
  using State = HpetState;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  static constexpr uint64_t kNever = UINT64_MAX;
  // `legacy_line(irq, high)` drives ISA IRQ0/IRQ8 (past the cut-off); `pin(n, high)` an I/O
  // APIC pin; `legacy_mode(on)` cuts the PIT and RTC off their lines or reconnects them.
  Hpet(NowFn now, std::function<void(unsigned, bool)> legacy_line, std::function<void(unsigned, bool)> pin,
       std::function<void(bool)> legacy_mode);

  uint32_t read(uint32_t offset);
  void write(uint32_t offset, uint32_t value);
  // When a timer next raises its line (kNever: none armed with its interrupt on).
  uint64_t nextEventNs() const;
  // The same, for lines `wakes(isa, line)` says would interrupt the CPU (an ISA IRQ in legacy
  // mode, else an I/O APIC pin).
  uint64_t nextWakeNs(const std::function<bool(bool isa, unsigned line)>& wakes) const;
  void update(uint64_t now);

 private:
  bool enabled() const { return config_ & 1; }
  bool legacy() const { return config_ & 2; }
  uint64_t counterAt(uint64_t now) const;
  uint64_t reg64(uint32_t reg, uint64_t now) const;
  void writeReg64(uint32_t reg, uint64_t v, uint64_t now);
  void writeComparator(Timer& t, bool high, uint32_t value);
  void arm(unsigned i, uint64_t now);
  void fire(unsigned i, uint64_t now);
  void setLine(unsigned i, bool high);

  NowFn now_;
  std::function<void(unsigned, bool)> legacy_line_, pin_;
  std::function<void(bool)> legacy_mode_;
};

}  // namespace btvm
