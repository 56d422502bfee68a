// The ACPI fixed hardware of the PIIX4 PM function, at the I/O block the FADT names (0x600):
// PM1a status/enable (0x600/0x602), PM1a control (0x604) and the 24-bit PM timer (0x608).
// The timer runs at 3.579545 MHz of btvm's virtual clock. An enabled PM1 event raises the SCI on
// IRQ 9 (level, as ACPI requires). SLP_EN with SLP_TYP = S5 powers the machine off.
#pragma once
#include <cstdint>
#include <functional>

#include "emu/devices/devices.h"

namespace btvm {

// The ACPI power-management I/O block, where QEMU's PIIX4 PM function (programmed by SeaBIOS)
// puts it: PM1a event block (status, enable), PM1a control, PM timer.
namespace acpi_io {
constexpr uint16_t kPmBase = 0x600;
constexpr uint16_t kPm1aEvt = kPmBase + 0, kPm1aCnt = kPmBase + 4, kPmTmr = kPmBase + 8;
constexpr unsigned kSciIrq = 9;
constexpr unsigned kSlpTypS5 = 0;  // \_S5's SLP_TYP: QEMU's PIIX4 powers off on SLP_TYP 0
}  // namespace acpi_io

class Pic8259;

// AcpiPm's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct AcpiPmState {
  uint16_t sts_ = 0, en_ = 0, cnt_ = 1;  // SCI_EN (AcpiPm::kSciEn)
  uint64_t tmr_period_seen_ = 0;  // timer bit-23 half-periods elapsed when TMR_STS was last cleared
  bool sci_ = false;
};

class AcpiPm : private AcpiPmState {
 public:
  using State = AcpiPmState;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  static constexpr uint64_t kNever = UINT64_MAX;
  static constexpr uint64_t kTimerHz = 3579545;
  // PM1 status/enable bits (ACPI 4.7.3.1).
  static constexpr uint16_t kTmr = 1u << 0, kGbl = 1u << 5, kPwrBtn = 1u << 8, kSlpBtn = 1u << 9,
                            kRtc = 1u << 10, kWak = 1u << 15;
  // PM1 control bits (ACPI 4.7.3.2).
  static constexpr uint16_t kSciEn = 1u << 0, kSlpEn = 1u << 13;

  AcpiPm(NowFn now, Pic8259& pic, std::function<void()> on_power_off);
  void attach(IoBus& bus, uint16_t base);

  // The PM timer's 24-bit count at virtual time `ns`.
  static uint32_t timerAt(uint64_t ns);
  void update(uint64_t ns);
  // When TMR_STS next sets with TMR_EN on (the only event that comes from time); else kNever.
  uint64_t nextIrqNs() const;
  // Host-side events (none wired yet): set a status bit, e.g. kPwrBtn.
  void raiseEvent(uint16_t status_bit);

  uint8_t readByte(unsigned off);
  void writeByte(unsigned off, uint8_t v);

 private:
  uint16_t status(uint64_t ns) const;
  void updateSci(uint64_t ns);
  NowFn now_;
  Pic8259& pic_;
  std::function<void()> on_power_off_;
};

}  // namespace btvm
