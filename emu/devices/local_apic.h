// The CPU's local APIC in xAPIC mode (SDM vol. 3 ch. 11; QEMU's hw/intc/apic.c is the
// reference for what a PC guest sees): ID, version 0x00050014 (6 LVT entries), TPR/APR/PPR,
// EOI, LDR/DFR, SPIV, the 256-bit ISR/TMR/IRR, ESR, the LVT (timer, thermal, performance,
// LINT0, LINT1, error), the ICR (fixed and NMI to self, self-IPI; INIT and SIPI to absent CPUs
// complete at once) and the timer (one-shot and periodic, divide configuration, current count)
// on btvm's clock at 1 GHz before the divider, as QEMU's.
//
// Interrupts reach the CPU two ways. Fixed ones (timer, LVT error, self-IPI, the I/O APIC) wait
// in IRR and are taken by priority against PPR (pendingVector/acknowledge, EOI). The 8259's INTR
// arrives on LINT0: with the APIC off (IA32_APIC_BASE bit 11 clear) or LINT0 unmasked in ExtINT
// mode it goes straight to the CPU (virtual-wire mode), its vector from the 8259, outside the
// APIC's priorities; that is pcPassesThrough().
#pragma once
#include <cstdint>
#include <functional>

#include "emu/devices/devices.h"

namespace btvm {

namespace lapic {
constexpr uint64_t kDefaultBase = 0xfee00000;
constexpr uint64_t kBaseBsp = 1u << 8, kBaseEnable = 1u << 11;
constexpr uint32_t kVersion = 0x00050014;  // integrated APIC, max LVT entry 5
constexpr uint32_t kLvtMasked = 1u << 16;
// LVT delivery modes (bits 8-10).
constexpr uint32_t kModeFixed = 0, kModeNmi = 4, kModeInit = 5, kModeExtInt = 7;
enum Lvt { kLvtTimer, kLvtThermal, kLvtPerf, kLvtLint0, kLvtLint1, kLvtError, kLvtCount };
}  // namespace lapic

// LocalApic's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct LocalApicState {
  static constexpr uint64_t kNever = UINT64_MAX;
  uint64_t base_msr_ = 0;
  uint32_t id_ = 0, tpr_ = 0, ldr_ = 0, dfr_ = 0, spiv_ = 0, esr_ = 0, esr_pending_ = 0;
  uint32_t isr_[8] = {}, tmr_[8] = {}, irr_[8] = {};
  uint32_t lvt_[lapic::kLvtCount] = {};
  uint32_t icr_lo_ = 0, icr_hi_ = 0;
  uint32_t divide_ = 0, initial_ = 0;
  uint64_t timer_start_ = 0;     // when the count was loaded (ns)
  uint64_t timer_next_ = kNever; // when it next reaches zero
  bool lint_level_[2] = {};
};

class LocalApic : private LocalApicState {
 public:
  using State = LocalApicState;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  static constexpr uint64_t kNever = UINT64_MAX;
  // `nmi` raises an NMI at the CPU (LINT1 or LINT0 in NMI mode, an NMI IPI to self);
  // `eoi_broadcast` tells the I/O APIC a level-triggered vector was ended.
  LocalApic(NowFn now, std::function<void()> nmi, std::function<void(uint8_t vector)> eoi_broadcast);

  // Power-on state (SDM 11.4.7.1): base 0xfee00000, enabled, BSP; software-disabled (SPIV 0xff),
  // every LVT masked.
  void reset();
  // What a PC BIOS (SeaBIOS) leaves: software-enabled, LINT0 ExtINT (the 8259), LINT1 NMI.
  void biosSetup();

  uint64_t baseMsr() const { return base_msr_; }
  // WRMSR of IA32_APIC_BASE; returns false for reserved bits (the caller raises #GP).
  bool setBaseMsr(uint64_t v);
  bool hardwareEnabled() const { return base_msr_ & lapic::kBaseEnable; }
  uint64_t mmioBase() const { return base_msr_ & 0xfffff000ull; }

  uint32_t read(uint32_t offset);
  void write(uint32_t offset, uint32_t value);

  // A fixed interrupt from the bus (I/O APIC, IPI): sets IRR (and TMR for level).
  void accept(uint8_t vector, bool level);
  // The 8259's INTR reaches the CPU: the APIC is off, or LINT0 is unmasked in ExtINT mode.
  bool pcPassesThrough() const;
  // LINT0/LINT1 pins driven by the board (a level change); NMI mode raises an NMI on a rising edge.
  void setLint(int pin, bool high);

  // Highest vector in IRR that PPR lets through, or -1.
  int pendingVector();
  // The CPU takes it: IRR -> ISR; returns the vector.
  uint8_t acknowledge();
  // When the timer next fires (kNever when stopped or masked).
  uint64_t nextEventNs() const;
  void update(uint64_t now);

  uint32_t lvt(int i) const { return lvt_[i]; }
  bool softwareEnabled() const { return spiv_ & 0x100; }

 private:
  static int highest(const uint32_t* bits);
  static bool test(const uint32_t* bits, uint8_t v) { return bits[v >> 5] >> (v & 31) & 1; }
  static void set(uint32_t* bits, uint8_t v) { bits[v >> 5] |= 1u << (v & 31); }
  static void clear(uint32_t* bits, uint8_t v) { bits[v >> 5] &= ~(1u << (v & 31)); }
  uint32_t ppr() const;
  void eoi();
  void sendIpi();
  void raiseLvt(int i);
  void error(uint32_t bits);
  void startTimer(uint64_t now);
  unsigned divideShift() const;
  uint32_t currentCount(uint64_t now) const;

  NowFn now_;
  std::function<void()> nmi_;
  std::function<void(uint8_t)> eoi_broadcast_;
};

}  // namespace btvm
