// The board's devices saved and restored as one value (machine snapshots, emu/debug/snapshot.h).
#include "emu/devices/pc_platform.h"

namespace btvm {

PcPlatformState PcPlatform::saveState() const {
  PcPlatformState s;
  s.pic = pic.state();
  s.pic_master = pic.master();
  s.pic_slave = pic.slave();
  s.pic_cut_lines = pic.cut_lines;
  s.pit = pit.state();
  s.rtc = rtc.state();
  s.uart = uart.state();
  s.i8042 = i8042.state();
  s.acpi = acpi.state();
  s.pci = pci.state();
  s.fw_cfg = fw_cfg.state();
  s.lapic = lapic.state();
  s.ioapic = ioapic.state();
  s.hpet = hpet.state();
  s.fpu_ignne = fpu_ignne;
  s.port92 = port92_;
  return s;
}

void PcPlatform::restoreState(const PcPlatformState& s) {
  pic.setState(s.pic);
  pic.master() = s.pic_master;
  pic.slave() = s.pic_slave;
  pic.cut_lines = s.pic_cut_lines;
  pit.setState(s.pit);
  rtc.setState(s.rtc);
  uart.setState(s.uart);
  i8042.setState(s.i8042);
  acpi.setState(s.acpi);
  pci.setState(s.pci);
  fw_cfg.setState(s.fw_cfg);
  lapic.setState(s.lapic);
  ioapic.setState(s.ioapic);
  hpet.setState(s.hpet);
  fpu_ignne = s.fpu_ignne;
  port92_ = s.port92;
  // The MMIO bus keeps where the APIC's page is: follow the restored base MSR.
  if (mmio_) mmio_->move(lapic_range_, lapic.mmioBase(), lapic.hardwareEnabled());
}

}  // namespace btvm
