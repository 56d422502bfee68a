#include "emu/devices/acpi_pm.h"

#include "emu/devices/pic8259.h"

namespace btvm {

namespace {
// Timer ticks since power-on; exact integer arithmetic (no drift over long runs).
uint64_t ticksAt(uint64_t ns) {
  return uint64_t((unsigned __int128)ns * AcpiPm::kTimerHz / 1000000000u);
}
// TMR_STS sets whenever bit 23 of the count changes, i.e. every 2^23 ticks.
uint64_t halfPeriods(uint64_t ns) { return ticksAt(ns) >> 23; }
}  // namespace

AcpiPm::AcpiPm(NowFn now, Pic8259& pic, std::function<void()> on_power_off)
    : now_(std::move(now)), pic_(pic), on_power_off_(std::move(on_power_off)) {}

uint32_t AcpiPm::timerAt(uint64_t ns) { return uint32_t(ticksAt(ns) & 0xffffff); }

void AcpiPm::attach(IoBus& bus, uint16_t base) {
  // Accesses of any size are split into bytes: the registers are byte-addressable and a 16-bit
  // write of W1C status bits means the same byte by byte.
  bus.add(base, 12,
          [this, base](uint16_t port, unsigned size) {
            uint32_t v = 0;
            for (unsigned i = 0; i < size; ++i) v |= uint32_t(readByte(port - base + i)) << (8 * i);
            return v;
          },
          [this, base](uint16_t port, unsigned size, uint32_t v) {
            for (unsigned i = 0; i < size; ++i) writeByte(port - base + i, uint8_t(v >> (8 * i)));
          });
}

uint16_t AcpiPm::status(uint64_t ns) const {
  return uint16_t(sts_ | (halfPeriods(ns) != tmr_period_seen_ ? kTmr : 0));
}

void AcpiPm::updateSci(uint64_t ns) {
  bool level = (status(ns) & en_) != 0;
  if (level != sci_) {
    sci_ = level;
    pic_.setIrq(acpi_io::kSciIrq, level);
  }
}

// Only the timer's status changes with time; the other events change the SCI when they are
// raised or cleared. So with TMR_EN off there is nothing to do here, and the dispatcher's
// frequent updates stay cheap.
void AcpiPm::update(uint64_t ns) {
  if (en_ & kTmr) updateSci(ns);
}

uint64_t AcpiPm::nextIrqNs() const {
  if (!(en_ & kTmr) || sci_) return kNever;
  // The first ns at which the tick count reaches the next multiple of 2^23.
  uint64_t target = (tmr_period_seen_ + 1) << 23;
  return uint64_t(((unsigned __int128)target * 1000000000u + kTimerHz - 1) / kTimerHz);
}

void AcpiPm::raiseEvent(uint16_t status_bit) {
  sts_ |= status_bit;
  updateSci(now_());
}

uint8_t AcpiPm::readByte(unsigned off) {
  uint64_t ns = now_();
  switch (off) {
    case 0: return uint8_t(status(ns));
    case 1: return uint8_t(status(ns) >> 8);
    case 2: return uint8_t(en_);
    case 3: return uint8_t(en_ >> 8);
    case 4: return uint8_t(cnt_ | kSciEn);  // always in ACPI mode
    case 5: return uint8_t(cnt_ >> 8);      // SLP_EN reads 0
    case 8: case 9: case 10: return uint8_t(timerAt(ns) >> (8 * (off - 8)));
    default: return 0;                      // 6-7 reserved, 11 the timer's top byte
  }
}

void AcpiPm::writeByte(unsigned off, uint8_t v) {
  uint64_t ns = now_();
  switch (off) {
    case 0:
      if (v & kTmr) tmr_period_seen_ = halfPeriods(ns);
      sts_ &= uint16_t(~(v & 0xfe));
      break;
    case 1: sts_ &= uint16_t(~(uint16_t(v) << 8)); break;
    case 2: en_ = uint16_t((en_ & 0xff00) | (v & (kTmr | kGbl))); break;
    case 3: en_ = uint16_t((en_ & 0x00ff) | ((uint16_t(v) << 8) & (kPwrBtn | kSlpBtn | kRtc))); break;
    case 4: cnt_ = uint16_t((cnt_ & 0xff00) | v | kSciEn); break;
    case 5: {
      uint16_t hi = uint16_t(v) << 8;
      cnt_ = uint16_t((cnt_ & 0x00ff) | (hi & ~kSlpEn));
      unsigned slp_typ = (hi >> 10) & 7;
      // Only S5 exists (the DSDT offers nothing else); other sleep types are ignored.
      if ((hi & kSlpEn) && slp_typ == acpi_io::kSlpTypS5) on_power_off_();
      break;
    }
    default: break;  // the timer is read-only
  }
  updateSci(ns);
}

}  // namespace btvm
