// The I/O APIC of the PC (82093AA as QEMU's ioapic.c presents it) at 0xfec00000: IOREGSEL at
// offset 0, IOWIN at 0x10, the EOI register at 0x40 (version 0x20); registers ID (0), version
// (1: 0x00170020 as QEMU's default, 24 redirection entries),
// arbitration (2) and the redirection table (0x10 + 2n: low dword, high dword). Pins see the
// ISA IRQ lines as QEMU's pc routes them (IRQ n on pin n, except IRQ0 on pin 2). An unmasked
// edge entry sends its vector on a rising edge; a level entry sends it while the line is high
// and Remote IRR is clear, sets Remote IRR, and the local APIC's EOI of that vector clears it
// (and sends again if the line is still high).
#pragma once
#include <cstdint>
#include <functional>

namespace btvm {

namespace ioapic {
constexpr uint64_t kBase = 0xfec00000;
constexpr unsigned kPins = 24;
constexpr uint32_t kVersion = 0x00170020;  // max redirection entry 23, version 0x20 (QEMU's)
// The pin an ISA IRQ reaches (the MADT's interrupt source override for IRQ0).
constexpr unsigned pinOfIsaIrq(unsigned irq) { return irq == 0 ? 2 : irq; }
}  // namespace ioapic

// IoApic's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct IoApicState {
  uint32_t select_ = 0, id_ = 0;
  uint64_t redir_[ioapic::kPins] = {};
  uint32_t level_ = 0;  // pin levels as the lines drive them
};

class IoApic : private IoApicState {
 public:
  using State = IoApicState;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  // `deliver(vector, level)` hands a fixed or lowest-priority message to the local APIC;
  // `nmi` an NMI-mode entry's message.
  IoApic(std::function<void(uint8_t vector, bool level)> deliver, std::function<void()> nmi);
  void reset();

  uint32_t read(uint32_t offset);
  void write(uint32_t offset, uint32_t value);

  void setPin(unsigned pin, bool high);
  // The local APIC ended level-triggered `vector` (or the guest wrote it to the EOI register).
  void eoi(uint8_t vector);
  // Would a rising edge on `pin` send a message now (unmasked, Remote IRR clear)?
  bool wouldDeliver(unsigned pin) const;
  uint64_t entry(unsigned pin) const { return redir_[pin]; }

 private:
  void service(unsigned pin);
  std::function<void(uint8_t, bool)> deliver_;
  std::function<void()> nmi_;
};

}  // namespace btvm
