// The PC's interval timer: an Intel 8254 PIT at ports 0x40-0x43 clocked at 1.193182 MHz, with
// channel 0 on IRQ0, and system control port B (0x61) wired to channel 2's gate and output
// (the speaker timer, which Linux uses to calibrate the TSC).
// Time is btvm's virtual clock (ns): counters are computed from it when read, and the
// dispatcher asks nextIrqNs() to stop translated code when OUT0 next rises.
// Modelled from the 8254 data sheet: modes 0-5, binary and BCD, LSB/MSB/word access,
// counter latch and read-back commands, gate control of channel 2.
#pragma once
#include <cstdint>

#include "emu/devices/devices.h"

namespace btvm {

class Pic8259;

// Pit8254's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct Pit8254State {
  struct Channel {
    uint8_t mode = 3, access = 3;
    bool bcd = false;
    uint32_t reload = 65536;  // N, with a written 0 meaning 65536 (10000 in BCD)
    bool counting = false;    // a count was loaded
    bool gate = true;
    uint64_t since = 0;       // tick at which the gate last rose or the count was loaded
    uint64_t acc = 0;         // ticks counted before `since` (mode 0/4 paused by the gate)
    uint64_t edges_done = 0;  // elapsed ticks up to which OUT's rises were reported (channel 0)
    bool write_msb = false;   // word access: the next byte written is the MSB
    uint8_t lsb = 0;
    bool read_msb = false;    // word access: the next live byte read is the MSB
    bool count_latched = false, status_latched = false;
    uint16_t latch = 0;
    uint8_t status = 0;
    bool latch_msb = false;
  };
  Channel ch_[3];
  bool speaker_ = false;
  uint8_t port_b_other_ = 0;  // bits 2-3 of port B, kept as written
  uint64_t irqs_ = 0;
};

class Pit8254 : private Pit8254State {
 public:
  using State = Pit8254State;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  static constexpr uint64_t kHz = 1193182;
  static constexpr uint64_t kNever = UINT64_MAX;

  Pit8254(NowFn now, Pic8259& pic);
  void attach(IoBus& bus);
  // When OUT0 next rises (raising IRQ0), in virtual ns; kNever if it never will.
  uint64_t nextIrqNs() const;
  // Raises IRQ0 if OUT0 rose since the last update (several rises in between make one request:
  // the PIC latches an edge once).
  void update(uint64_t now_ns);
  uint64_t irqsRaised() const { return irqs_; }

  // Port-level access, public for the unit tests.
  void writeControl(uint8_t v);
  void writeCounter(unsigned ch, uint8_t v);
  uint8_t readCounter(unsigned ch);
  void writePortB(uint8_t v);
  uint8_t readPortB();

 private:

  uint64_t tickNow() const;
  uint64_t elapsed(const Channel& c, uint64_t tick) const;
  uint32_t value(const Channel& c, uint64_t e) const;
  bool out(const Channel& c, uint64_t e) const;
  uint64_t nextRise(const Channel& c, uint64_t after) const;  // in elapsed ticks, or kNever
  void load(Channel& c, uint32_t n);
  void setGate(Channel& c, bool high);
  void latchCount(Channel& c);
  void latchStatus(Channel& c);

  NowFn now_;
  Pic8259& pic_;
};

}  // namespace btvm
