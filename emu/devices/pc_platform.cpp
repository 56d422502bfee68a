#include "emu/devices/pc_platform.h"

#include <algorithm>

namespace btvm {

PcPlatform::PcPlatform(NowFn now, uint64_t ram_bytes, std::function<void(const char*)> on_reset,
                       std::function<void()> on_power_off, Uart16550::Backend* serial, int64_t rtc_epoch)
    : pit(now, pic),
      rtc(now, pic, ram_bytes, rtc_epoch),
      uart(now, [this](bool high) { pic.setIrq(4, high); }, serial),
      i8042(pic, on_reset),
      acpi(now, pic, std::move(on_power_off)),
      now_(std::move(now)),
      on_reset_(std::move(on_reset)) {}

void PcPlatform::attach(IoBus& bus) {
  pic.attach(bus, [this] { update(); });
  pit.attach(bus);
  rtc.attach(bus);
  uart.attach(bus, 0x3f8);
  i8042.attach(bus);
  acpi.attach(bus, acpi_io::kPmBase);
  i8042.setA20Handler([this](bool on) { setA20(on); });
  // System control port A ("fast A20"): bit 1 gates A20, a rising bit 0 resets the CPU.
  bus.add(0x92, 1, [this](uint16_t, unsigned) -> uint32_t { return port92_; },
          [this](uint16_t, unsigned, uint32_t v) {
            bool reset = (v & 1) && !(port92_ & 1);
            port92_ = uint8_t(v & 0xfe);
            setA20(v & 0x02);
            if (reset) on_reset_("port 0x92 bit 0");
          });
  // Port 0xF0: the math coprocessor's "clear busy" latch (see fpu_ignne).
  bus.add(0xf0, 1, nullptr, [this](uint16_t, unsigned, uint32_t) {
    pic.setIrq(13, false);
    fpu_ignne = false;
  });
  // Reset control register: bit 2 starts the reset that bits 1 (hard) and 3 (full) qualify.
  bus.add(0xcf9, 1, nullptr, [this](uint16_t, unsigned size, uint32_t v) {
    if (size == 1 && (v & 0x04)) on_reset_("port 0xcf9");
  });
  pci.attach(bus);  // after 0xcf9: the bus gives the byte port to its first owner
}

void PcPlatform::biosSetup() { pic.slave().elcr |= uint8_t(1u << (acpi_io::kSciIrq - 8)); }

uint64_t PcPlatform::nextWakeNs() const {
  uint64_t t = kNever;
  if (pic.wouldInterrupt(0)) t = std::min(t, pit.nextIrqNs());
  if (pic.wouldInterrupt(8)) t = std::min(t, rtc.nextIrqNs());
  if (pic.wouldInterrupt(4)) t = std::min(t, uart.nextTimeoutNs());
  if (pic.wouldInterrupt(acpi_io::kSciIrq)) t = std::min(t, acpi.nextIrqNs());
  return t;
}

}  // namespace btvm
