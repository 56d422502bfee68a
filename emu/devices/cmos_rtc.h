// The PC's real-time clock and CMOS memory: a Motorola MC146818 at ports 0x70 (index, bit 7 masks
// NMI) and 0x71 (data), on IRQ8. Time and date in BCD or binary, 12- or 24-hour; periodic,
// alarm and update-ended interrupts with their flags in register C (reading C clears them and
// releases IRQ8); UIP during the last 244 us of each second; the CMOS bytes a BIOS leaves (base
// and extended memory sizes).
// The clock runs on btvm's virtual time from a fixed start date, so every run sees the same date.
#pragma once
#include <cstdint>

#include "emu/devices/devices.h"

namespace btvm {

class Pic8259;

// CmosRtc's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct CmosRtcState {
  uint8_t index_ = 0;
  uint8_t ram_[128] = {};
  uint8_t reg_a_ = 0x26, reg_b_ = 0x02, reg_c_ = 0;  // 32.768 kHz base, 1024 Hz rate, BCD, 24 h
  uint8_t alarm_[3] = {};                           // seconds, minutes, hours as written
  int64_t base_ = 0;                // epoch seconds at virtual time 0
  uint64_t periodic_done_ = 0;    // ns up to which periodic flags were raised
  int64_t second_done_ = 0;         // last second whose update cycle was run
  bool line_ = false;
  uint64_t irqs_ = 0;
};

class CmosRtc : private CmosRtcState {
 public:
  using State = CmosRtcState;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  static constexpr uint64_t kNever = UINT64_MAX;
  // 2026-01-01 00:00:00 UTC, the date at virtual time 0 unless the guest sets the clock.
  static constexpr int64_t kDefaultEpoch = 1767225600;

  CmosRtc(NowFn now, Pic8259& pic, uint64_t ram_bytes, int64_t epoch = kDefaultEpoch);
  void attach(IoBus& bus);
  // When the RTC next raises IRQ8, in virtual ns (kNever while IRQ8 is held or nothing is enabled).
  uint64_t nextIrqNs() const;
  void update(uint64_t now_ns);
  uint64_t irqsRaised() const { return irqs_; }

  uint8_t read(uint8_t index);   // public for the unit tests
  void write(uint8_t index, uint8_t v);

 private:
  int64_t seconds(uint64_t now_ns) const { return base_ + int64_t(now_ns / 1000000000u); }
  uint8_t encode(unsigned v) const;   // to BCD unless register B selects binary
  unsigned decode(uint8_t v) const;
  uint8_t timeField(uint8_t index, int64_t secs) const;
  void setTimeField(uint8_t index, uint8_t v);
  uint64_t periodicNs() const;        // 0 when off
  void raiseFlags(uint8_t flags);
  void updateLine();

  NowFn now_;
  Pic8259& pic_;
};

}  // namespace btvm
