// The PC board around the CPU: the interrupt controller, the interval timer, the RTC/CMOS, the
// serial port COM1 (IRQ 4; COM2-4 absent, reading all-ones, as QEMU's default), the i8042
// keyboard controller, the ACPI PM registers and PM timer, PCI configuration space, and the
// reset lines (i8042, port 0x92 bit 0, port 0xcf9), QEMU's fw_cfg (0x510), all on the I/O bus;
// the local APIC, the I/O APIC and the HPET on the memory-mapped bus; all timed by btvm's clock. The ISA
// lines reach both the 8259 and the I/O APIC; the 8259's INTR reaches the CPU through the local
// APIC's LINT0 (virtual wire). The dispatcher brings the devices up to date with update(), asks
// for an interrupt (interruptPending/acknowledge) when the guest has IF=1, stops translated
// code at nextEventNs(), and lets an idle (HLT) guest sleep until nextWakeNs().
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>

#include "emu/devices/acpi_pm.h"
#include "emu/devices/cmos_rtc.h"
#include "emu/devices/devices.h"
#include "emu/devices/fw_cfg.h"
#include "emu/devices/hpet.h"
#include "emu/devices/io_apic.h"
#include "emu/devices/local_apic.h"
#include "emu/devices/mmio_bus.h"
#include "emu/devices/i8042.h"
#include "emu/devices/pci_host.h"
#include "emu/devices/pic8259.h"
#include "emu/devices/pit8254.h"
#include "emu/devices/uart16550.h"

namespace btvm {

// Everything on the board that the guest can change, as plain copyable values: what a machine
// snapshot holds of the devices (emu/debug/snapshot.h). fw_cfg's items, the buses' wiring and
// the callbacks are set at power-on and never change, so they are not in it.
struct PcPlatformState {
  Pic8259::State pic;
  Pic8259::Chip pic_master, pic_slave;
  uint16_t pic_cut_lines = 0;
  Pit8254::State pit;
  CmosRtc::State rtc;
  Uart16550::State uart;
  I8042::State i8042;
  AcpiPm::State acpi;
  PciHost::State pci;
  FwCfg::State fw_cfg;
  LocalApic::State lapic;
  IoApic::State ioapic;
  Hpet::State hpet;
  bool fpu_ignne = false;
  uint8_t port92 = 0;
};

class PcPlatform {
 public:
  static constexpr uint64_t kNever = UINT64_MAX;

  // `serial` is the host end of COM1; `rtc_epoch` the RTC's date at time 0 (Unix seconds);
  // `on_reset` and `on_power_off` end the run (the machine neither reboots nor sleeps);
  // `on_nmi` raises an NMI at the CPU (from the APICs).
  PcPlatform(NowFn now, uint64_t ram_bytes, std::function<void(const char* how)> on_reset,
             std::function<void()> on_power_off, Uart16550::Backend* serial,
             int64_t rtc_epoch = CmosRtc::kDefaultEpoch, std::function<void()> on_nmi = [] {});
  void attach(IoBus& bus, MmioBus& mmio);
  // What the BIOS programs before it hands over to a loaded kernel: the SCI (IRQ 9) set
  // level-triggered in the ELCR, as ACPI requires of a PIC-mode SCI (Linux rewrites the ELCR
  // with a warning, "ACPI: setting ELCR to 0200", if it finds anything else); the local APIC
  // software-enabled in virtual-wire mode (the 8259 through LINT0, NMI on LINT1). Under -bios
  // the ROM does this itself: the APIC stays as RESET leaves it, LINT0 masked.
  void biosSetup();
  // IA32_APIC_BASE was written: the local APIC's registers move or leave the bus.
  bool setApicBase(uint64_t v);
  // The devices' state (pc_platform_state.cpp). Restoring puts the local APIC's registers
  // where its base MSR says; the caller re-applies A20 and PAM, which belong to the MMU.
  PcPlatformState saveState() const;
  void restoreState(const PcPlatformState& s);

  void update() { updateAt(now_()); }
  // Brings the devices up to date and says whether the CPU's INTR is asserted: the local APIC
  // has a vector above its priority, or the 8259 has one and reaches the CPU (pcPassesThrough).
  bool interruptPending() {
    update();
    return lapic.pendingVector() >= 0 || (lapic.pcPassesThrough() && pic.pending());
  }
  // The INTA cycle: the local APIC's vector first, else the 8259's.
  uint8_t acknowledge() { return lapic.pendingVector() >= 0 ? lapic.acknowledge() : pic.acknowledge(); }
  // When a device next raises an interrupt line, whether or not the PIC lets it through.
  // (The UART's include its next look at host input while its receive interrupt is on.)
  uint64_t nextEventNs() const {
    return std::min({pit.nextIrqNs(), rtc.nextIrqNs(), acpi.nextIrqNs(), uart.nextEventNs(), lapic.nextEventNs(),
                     hpet.nextEventNs()});
  }
  // When a timer next raises a line that would interrupt the CPU; kNever if none will. Host
  // input is the other way to wake an idle guest (serialInputWakes).
  uint64_t nextWakeNs() const;
  // Would input from the host wake a guest halted with IF=1 (COM1's receive interrupt is on
  // and the PIC lets IRQ 4 through)?
  bool serialInputWakes() const { return uart.inputCanInterrupt() && lineWakes(4); }
  // Would ISA line `irq` rising now interrupt the CPU, through the 8259 or the I/O APIC?
  bool lineWakes(unsigned irq) const;

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
  FwCfg fw_cfg;
  LocalApic lapic;
  IoApic ioapic;
  Hpet hpet;
  // The A20 gate's line, driven by port 0x92 bit 1 and by the i8042's output port bit 1: as in
  // QEMU, the last write of either sets it. Called with the new level (the CPU masks bit 20).
  std::function<void(bool)> on_a20;

 private:
  void updateAt(uint64_t ns) {
    pit.update(ns);
    rtc.update(ns);
    uart.update(ns);
    acpi.update(ns);
    lapic.update(ns);
    hpet.update(ns);
  }
  MmioBus* mmio_ = nullptr;
  size_t lapic_range_ = 0;
  NowFn now_;
  std::function<void(const char*)> on_reset_;
  void setA20(bool on) { if (on_a20) on_a20(on); }
  uint8_t port92_ = 0x02;  // A20 on
};

}  // namespace btvm
