#include "emu/devices/pc_platform.h"

#include <algorithm>

namespace btvm {

namespace {
uint32_t sizeMask(unsigned size) { return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }
}  // namespace

PcPlatform::PcPlatform(NowFn now, uint64_t ram_bytes, std::function<void(const char*)> on_reset,
                       std::function<void()> on_power_off, Uart16550::Backend* serial, int64_t rtc_epoch,
                       std::function<void()> on_nmi)
    : pit(now, pic),
      rtc(now, pic, ram_bytes, rtc_epoch),
      uart(now, [this](bool high) { pic.setIrq(4, high); }, serial),
      i8042(pic, on_reset),
      acpi(now, pic, std::move(on_power_off)),
      fw_cfg(ram_bytes),
      lapic(now, on_nmi, [this](uint8_t vector) { ioapic.eoi(vector); }),
      ioapic([this](uint8_t vector, bool level) { lapic.accept(vector, level); }, on_nmi),
      hpet(
          now, [this](unsigned irq, bool high) { pic.setIrqUncut(irq, high); },
          [this](unsigned pin, bool high) { ioapic.setPin(pin, high); },
          [this](bool legacy) { pic.cut_lines = legacy ? uint16_t(1u << 0 | 1u << 8) : 0; }),
      now_(std::move(now)),
      on_reset_(std::move(on_reset)) {}

void PcPlatform::attach(IoBus& bus, MmioBus& mmio) {
  pic.line_observer = [this](unsigned irq, bool high) { ioapic.setPin(ioapic::pinOfIsaIrq(irq), high); };
  fw_cfg.attach(bus);
  mmio_ = &mmio;
  lapic_range_ = mmio.add(
      lapic.mmioBase(), 0x1000,
      [this](uint32_t off, unsigned size) -> uint32_t { return lapic.read(off & ~3u) >> (8 * (off & 3)) & sizeMask(size); },
      [this](uint32_t off, unsigned size, uint32_t v) {
        if (size == 4) lapic.write(off, v);  // narrower writes are dropped, as QEMU's
      });
  mmio.add(ioapic::kBase, 0x44,
           [this](uint32_t off, unsigned size) -> uint32_t { return ioapic.read(off & ~3u) >> (8 * (off & 3)) & sizeMask(size); },
           [this](uint32_t off, unsigned, uint32_t v) { ioapic.write(off, v); });
  mmio.add(hpet::kBase, 0x400,
           [this](uint32_t off, unsigned size) -> uint32_t { return hpet.read(off & ~3u) >> (8 * (off & 3)) & sizeMask(size); },
           [this](uint32_t off, unsigned size, uint32_t v) {
             if (size == 4) hpet.write(off, v);  // registers are written as whole dwords
           });
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
  // Port 0x80, the POST-code port: Linux writes it as an I/O delay (outb_p), over a million times
  // a boot. QEMU's pc keeps a device there that drops writes and reads all-ones; so does btvm,
  // so that those writes are not counted and logged (-d unimp) as accesses to nothing.
  bus.add(0x80, 1, [](uint16_t, unsigned size) -> uint32_t { return sizeMask(size); },
          [](uint16_t, unsigned, uint32_t) {});
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

void PcPlatform::biosSetup() {
  pic.slave().elcr |= uint8_t(1u << (acpi_io::kSciIrq - 8));
  lapic.biosSetup();
}

bool PcPlatform::setApicBase(uint64_t v) {
  if (!lapic.setBaseMsr(v)) return false;
  if (mmio_) mmio_->move(lapic_range_, lapic.mmioBase(), lapic.hardwareEnabled());
  return true;
}

bool PcPlatform::lineWakes(unsigned irq) const {
  if (pic.cut_lines >> irq & 1) return false;  // the HPET has the line (legacy replacement)
  return (lapic.pcPassesThrough() && pic.wouldInterrupt(irq)) || ioapic.wouldDeliver(ioapic::pinOfIsaIrq(irq));
}

uint64_t PcPlatform::nextWakeNs() const {
  uint64_t t = kNever;
  if (lineWakes(0)) t = std::min(t, pit.nextIrqNs());
  if (lineWakes(8)) t = std::min(t, rtc.nextIrqNs());
  if (lineWakes(4)) t = std::min(t, uart.nextTimeoutNs());
  if (lineWakes(acpi_io::kSciIrq)) t = std::min(t, acpi.nextIrqNs());
  // The APIC timer (its vector may still wait behind TPR: the wake-up then finds nothing, and
  // the dispatcher's guard against empty wake-ups ends a guest that sleeps on it forever).
  if (lapic.softwareEnabled()) t = std::min(t, lapic.nextEventNs());
  t = std::min(t, hpet.nextWakeNs([this](bool isa, unsigned line) {
    return isa ? (lapic.pcPassesThrough() && pic.wouldInterrupt(line)) || ioapic.wouldDeliver(ioapic::pinOfIsaIrq(line))
               : ioapic.wouldDeliver(line);
  }));
  return t;
}

}  // namespace btvm
