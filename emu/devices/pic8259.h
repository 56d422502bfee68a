// The PC's interrupt controller: two Intel 8259A PICs, the slave cascaded on the master's IR2,
// at ports 0x20/0x21 and 0xa0/0xa1, plus the edge/level control registers at 0x4d0/0x4d1.
// Devices drive IRQ lines 0..15 with setIrq(); the dispatcher asks pending() at every
// instruction boundary it sees with IF=1 and takes the vector with acknowledge() (the INTA cycle).
// Modelled from the 8259A data sheet: ICW1-4, OCW1-3 (IRR/ISR reads, poll, special mask),
// fully nested priority with rotation, specific and non-specific EOI, automatic EOI,
// edge- and level-triggered inputs, spurious IR7.
#pragma once
#include <cstdint>
#include <functional>

namespace btvm {

class IoBus;

// Pic8259's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct Pic8259State {
  uint64_t delivered_[16] = {};
  uint64_t spurious_ = 0;
};

class Pic8259 : private Pic8259State {
 public:
  using State = Pic8259State;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  // One chip. Public so the unit tests can drive a chip alone.
  struct Chip {
    uint8_t irr = 0, isr = 0, imr = 0;
    uint8_t level = 0;          // input lines as the devices drive them
    uint8_t elcr = 0;           // 1 = level-triggered input (ELCR, or ICW1.LTIM for all lines)
    uint8_t vector_base = 0;    // ICW2 & 0xf8
    uint8_t lowest = 7;         // the line with the lowest priority (rotation)
    uint8_t init_step = 0;      // 0: operational; 2, 3, 4: the ICW expected next
    bool ic4 = false, single = false, ltim = false, auto_eoi = false, rotate_aeoi = false, sfnm = false;
    bool read_isr = false, poll = false, special_mask = false;

    // The line the chip would raise INT for now, or -1.
    int pendingLine() const;
    void setLine(unsigned line, bool high);
    // INTA: moves the line from IRR to ISR (or not, with AEOI) and returns it; 7 if spurious.
    unsigned acknowledge(bool* spurious);
    void writeCommand(uint8_t v);
    void writeData(uint8_t v);
    uint8_t readCommand();
    uint8_t readData() const { return imr; }

   private:
    int priorityOf(unsigned line) const { return int((line - lowest - 1) & 7); }  // 0 = highest
    int highestIn(uint8_t bits) const;
    void eoi(unsigned line, bool rotate);
  };

  Pic8259();
  // `sync` runs before every port access, so that lines devices raised since the last update
  // show in IRR/ISR reads and priority decisions.
  void attach(IoBus& bus, std::function<void()> sync);
  void setIrq(unsigned irq, bool high);
  void pulseIrq(unsigned irq) { setIrq(irq, true); setIrq(irq, false); }
  // Sees every line change before the PIC does: the board wires the same ISA lines to the I/O
  // APIC. (A copy of the PIC made by wouldInterrupt() has none.)
  std::function<void(unsigned irq, bool high)> line_observer;
  // Lines cut off from their devices (bit n: IRQ n): the HPET's legacy replacement route takes
  // IRQ0 and IRQ8 from the PIT and the RTC and drives them with setIrqUncut().
  uint16_t cut_lines = 0;
  void setIrqUncut(unsigned irq, bool high);
  // An unmasked request the CPU would be interrupted for (INTR asserted).
  bool pending() const { return master_.pendingLine() >= 0; }
  // Would raising line `irq` now interrupt the CPU (it is unmasked and not blocked by a
  // request in service of equal or higher priority)? Used to tell an idle guest from a dead one.
  bool wouldInterrupt(unsigned irq) const;
  // The INTA cycle: returns the vector and records the request as in service.
  uint8_t acknowledge();
  uint64_t delivered(unsigned irq) const { return delivered_[irq & 15]; }
  uint64_t spurious() const { return spurious_; }

  Chip& master() { return master_; }
  Chip& slave() { return slave_; }
  const Chip& master() const { return master_; }
  const Chip& slave() const { return slave_; }

 private:
  void cascade() { master_.setLine(2, slave_.pendingLine() >= 0); }
  Chip master_, slave_;
  std::function<void()> sync_;
};

}  // namespace btvm
