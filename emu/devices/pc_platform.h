// The PC board around the CPU: the interrupt controller, the interval timer, the RTC/CMOS, the
// serial port COM1 (IRQ 4; COM2-4 absent, reading all-ones, as QEMU's default), the i8042
// keyboard controller, the ACPI PM registers and PM timer, PCI configuration space, and the
// reset lines (i8042, port 0x92 bit 0, port 0xcf9), all on the I/O bus and all timed by btvm's
// clock. The dispatcher brings the devices up to date with update(),
// asks the PIC for an interrupt when the guest has IF=1, stops translated code at
// nextEventNs(), and lets an idle (HLT) guest sleep until nextWakeNs().
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>

#include "emu/devices/acpi_pm.h"
#include "emu/devices/cmos_rtc.h"
#include "emu/devices/devices.h"
#include "emu/devices/i8042.h"
#include "emu/devices/pci_host.h"
#include "emu/devices/pic8259.h"
#include "emu/devices/pit8254.h"
#include "emu/devices/uart16550.h"

namespace btvm {

class PcPlatform {
 public:
  static constexpr uint64_t kNever = UINT64_MAX;

  // `serial` is the host end of COM1; `rtc_epoch` the RTC's date at time 0 (Unix seconds);
  // `on_reset` and `on_power_off` end the run (the machine neither reboots nor sleeps).
  PcPlatform(NowFn now, uint64_t ram_bytes, std::function<void(const char* how)> on_reset,
             std::function<void()> on_power_off, Uart16550::Backend* serial,
             int64_t rtc_epoch = CmosRtc::kDefaultEpoch);
  void attach(IoBus& bus);
  // What the BIOS programs before it hands over to a loaded kernel: the SCI (IRQ 9) set
  // level-triggered in the ELCR, as ACPI requires of a PIC-mode SCI. (Linux rewrites the ELCR
  // with a warning, "ACPI: setting ELCR to 0200", if it finds anything else.)
  void biosSetup();

  void update() { updateAt(now_()); }
  // Brings the devices up to date and says whether the PIC now asserts INTR.
  bool interruptPending() {
    update();
    return pic.pending();
  }
  // When a device next raises an interrupt line, whether or not the PIC lets it through.
  // (The UART's include its next look at host input while its receive interrupt is on.)
  uint64_t nextEventNs() const {
    return std::min({pit.nextIrqNs(), rtc.nextIrqNs(), acpi.nextIrqNs(), uart.nextEventNs()});
  }
  // When a timer next raises a line that would interrupt the CPU; kNever if none will. Host
  // input is the other way to wake an idle guest (serialInputWakes).
  uint64_t nextWakeNs() const;
  // Would input from the host wake a guest halted with IF=1 (COM1's receive interrupt is on
  // and the PIC lets IRQ 4 through)?
  bool serialInputWakes() const { return uart.inputCanInterrupt() && pic.wouldInterrupt(4); }

  Pic8259 pic;
  Pit8254 pit;
  CmosRtc rtc;
  // IGNNE#: set once FERR# has raised IRQ13 for a pending x87 error (CR0.NE=0), cleared by a
  // write to port 0xF0, which also lowers IRQ13 (the PC/AT wiring; QEMU's ioportF0 does the same).
  bool fpu_ignne = false;
  Uart16550 uart;  // COM1
  I8042 i8042;
  AcpiPm acpi;
  PciHost pci;
  // The A20 gate's line, driven by port 0x92 bit 1 and by the i8042's output port bit 1: as in
  // QEMU, the last write of either sets it. Called with the new level (the CPU masks bit 20).
  std::function<void(bool)> on_a20;

 private:
  void updateAt(uint64_t ns) {
    pit.update(ns);
    rtc.update(ns);
    uart.update(ns);
    acpi.update(ns);
  }
  NowFn now_;
  std::function<void(const char*)> on_reset_;
  void setA20(bool on) { if (on_a20) on_a20(on); }
  uint8_t port92_ = 0x02;  // A20 on
};

}  // namespace btvm
