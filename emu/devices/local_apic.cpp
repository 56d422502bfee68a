#include "emu/devices/local_apic.h"

namespace btvm {

using namespace lapic;

namespace {
// Register offsets (each a dword at a 16-byte boundary).
enum : uint32_t {
  kId = 0x20, kVer = 0x30, kTpr = 0x80, kApr = 0x90, kPpr = 0xa0, kEoi = 0xb0, kLdr = 0xd0, kDfr = 0xe0,
  kSpiv = 0xf0, kIsr = 0x100, kTmr = 0x180, kIrr = 0x200, kEsr = 0x280, kIcrLo = 0x300, kIcrHi = 0x310,
  kLvtFirst = 0x320, kLvtLast = 0x370, kInitialCount = 0x380, kCurrentCount = 0x390, kDivide = 0x3e0,
};
// Writable bits of each LVT entry: vector, delivery mode (LINT only: the others are fixed),
// polarity and trigger mode (LINT only), mask, timer mode (timer only; TSC-deadline absent).
constexpr uint32_t kLvtWritable[kLvtCount] = {
    0x000300ff,  // timer: vector, mask, periodic
    0x000107ff,  // thermal: vector, mode, mask
    0x000107ff,  // performance counters
    0x0001a7ff,  // LINT0: vector, mode, polarity, trigger, mask
    0x0001a7ff,  // LINT1
    0x000100ff,  // error: vector, mask
};
constexpr uint32_t kTimerPeriodic = 1u << 17;
constexpr uint32_t kLevelTrigger = 1u << 15;
constexpr uint32_t kSpivEnable = 0x100;
constexpr uint32_t kEsrSendIllegal = 1u << 5, kEsrReceiveIllegal = 1u << 6;
uint32_t modeOf(uint32_t lvt) { return (lvt >> 8) & 7; }
}  // namespace

LocalApic::LocalApic(NowFn now, std::function<void()> nmi, std::function<void(uint8_t)> eoi_broadcast)
    : now_(std::move(now)), nmi_(std::move(nmi)), eoi_broadcast_(std::move(eoi_broadcast)) {
  reset();
}

void LocalApic::reset() {
  base_msr_ = kDefaultBase | kBaseBsp | kBaseEnable;
  id_ = tpr_ = ldr_ = esr_ = esr_pending_ = icr_lo_ = icr_hi_ = divide_ = initial_ = 0;
  dfr_ = 0xffffffff;
  spiv_ = 0xff;
  for (int i = 0; i < 8; ++i) isr_[i] = tmr_[i] = irr_[i] = 0;
  for (uint32_t& l : lvt_) l = kLvtMasked;
  timer_next_ = kNever;
}

void LocalApic::biosSetup() {
  spiv_ = kSpivEnable | 0xff;
  lvt_[kLvtLint0] = kModeExtInt << 8;  // the 8259 in virtual-wire mode
  lvt_[kLvtLint1] = kModeNmi << 8;     // the board's NMI
}

bool LocalApic::setBaseMsr(uint64_t v) {
  constexpr uint64_t kReserved = ~0xffffff000ull & ~kBaseEnable & ~kBaseBsp;  // 36-bit addresses
  if (v & kReserved) return false;
  base_msr_ = (v & ~kBaseBsp) | (base_msr_ & kBaseBsp);  // BSP is the hardware's to say
  if (!hardwareEnabled()) {  // as if software-disabled: the LVT masked, nothing accepted
    spiv_ &= ~kSpivEnable;
    for (uint32_t& l : lvt_) l |= kLvtMasked;
  }
  return true;
}

int LocalApic::highest(const uint32_t* bits) {
  for (int i = 7; i >= 0; --i)
    if (bits[i]) return i * 32 + 31 - __builtin_clz(bits[i]);
  return -1;
}

uint32_t LocalApic::ppr() const {
  int isrv = highest(isr_);
  uint32_t isr_class = isrv < 0 ? 0 : uint32_t(isrv) & 0xf0;
  return (tpr_ & 0xf0) >= isr_class ? tpr_ & 0xff : isr_class;
}

uint32_t LocalApic::read(uint32_t offset) {
  uint32_t reg = offset & 0xff0;
  if (reg >= kIsr && reg < kIsr + 0x80) return isr_[(reg - kIsr) >> 4];
  if (reg >= kTmr && reg < kTmr + 0x80) return tmr_[(reg - kTmr) >> 4];
  if (reg >= kIrr && reg < kIrr + 0x80) return irr_[(reg - kIrr) >> 4];
  if (reg >= kLvtFirst && reg <= kLvtLast) return lvt_[(reg - kLvtFirst) >> 4];
  switch (reg) {
    case kId: return id_ << 24;
    case kVer: return kVersion;
    case kTpr: return tpr_;
    case kApr: return 0;
    case kPpr: return ppr();
    case kLdr: return ldr_;
    case kDfr: return dfr_;
    case kSpiv: return spiv_;
    case kEsr: return esr_;
    case kIcrLo: return icr_lo_;  // delivery status (bit 12) always idle: IPIs complete at once
    case kIcrHi: return icr_hi_;
    case kInitialCount: return initial_;
    case kCurrentCount: return currentCount(now_());
    case kDivide: return divide_;
    default: return 0;  // EOI and reserved registers read zero
  }
}

void LocalApic::write(uint32_t offset, uint32_t v) {
  uint32_t reg = offset & 0xff0;
  if (reg >= kLvtFirst && reg <= kLvtLast) {
    int i = int((reg - kLvtFirst) >> 4);
    update(now_());  // a timer that expired under the old entry fires under the old entry
    lvt_[i] = v & kLvtWritable[i];
    if (!softwareEnabled()) lvt_[i] |= kLvtMasked;
    return;
  }
  switch (reg) {
    case kId: id_ = v >> 24; break;
    case kTpr: tpr_ = v & 0xff; break;
    case kEoi: eoi(); break;
    case kLdr: ldr_ = v & 0xff000000u; break;
    case kDfr: dfr_ = v | 0x0fffffffu; break;
    case kSpiv:
      spiv_ = v & 0x3ff;
      if (!softwareEnabled())
        for (uint32_t& l : lvt_) l |= kLvtMasked;
      break;
    case kEsr:  // a write latches the errors seen since the last one
      esr_ = esr_pending_;
      esr_pending_ = 0;
      break;
    case kIcrLo:
      icr_lo_ = v & 0x000cdfff;
      sendIpi();
      break;
    case kIcrHi: icr_hi_ = v & 0xff000000u; break;
    case kInitialCount:
      initial_ = v;
      startTimer(now_());
      break;
    case kDivide: {
      uint64_t now = now_();
      update(now);
      uint32_t left = currentCount(now);
      divide_ = v & 0xb;
      // The count goes on from where it is, at the new rate.
      if (timer_next_ != kNever) timer_next_ = now + (uint64_t(left) << divideShift());
      timer_start_ = timer_next_ == kNever ? now : timer_next_ - (uint64_t(initial_) << divideShift());
      break;
    }
    default: break;  // read-only and reserved registers ignore writes
  }
}

void LocalApic::accept(uint8_t vector, bool level) {
  if (vector < 16) {  // vectors 0-15 are illegal on the APIC bus
    error(kEsrReceiveIllegal);
    return;
  }
  set(irr_, vector);
  if (level) set(tmr_, vector);
  else clear(tmr_, vector);
}

void LocalApic::error(uint32_t bits) {
  esr_pending_ |= bits;
  raiseLvt(kLvtError);
}

bool LocalApic::pcPassesThrough() const {
  uint32_t l = lvt_[kLvtLint0];
  return !hardwareEnabled() || (!(l & kLvtMasked) && modeOf(l) == kModeExtInt);
}

void LocalApic::setLint(int pin, bool high) {
  bool rising = high && !lint_level_[pin];
  lint_level_[pin] = high;
  if (rising && hardwareEnabled()) raiseLvt(pin == 0 ? kLvtLint0 : kLvtLint1);
}

void LocalApic::raiseLvt(int i) {
  uint32_t l = lvt_[i];
  if (l & kLvtMasked) return;
  switch (modeOf(l)) {
    case kModeFixed: accept(uint8_t(l), (i == kLvtLint0 || i == kLvtLint1) && (l & kLevelTrigger)); break;
    case kModeNmi: nmi_(); break;
    default: break;  // ExtINT is the 8259's path (pcPassesThrough); SMI and INIT are not modelled
  }
}

int LocalApic::pendingVector() {
  if (!hardwareEnabled() || !softwareEnabled()) return -1;
  int v = highest(irr_);
  if (v < 0 || uint32_t(v & 0xf0) <= (ppr() & 0xf0)) return -1;
  return v;
}

uint8_t LocalApic::acknowledge() {
  int v = pendingVector();
  if (v < 0) return uint8_t(spiv_);  // the spurious vector: nothing to take after all
  clear(irr_, uint8_t(v));
  set(isr_, uint8_t(v));
  return uint8_t(v);
}

void LocalApic::eoi() {
  int v = highest(isr_);
  if (v < 0) return;
  clear(isr_, uint8_t(v));
  if (test(tmr_, uint8_t(v))) {
    clear(tmr_, uint8_t(v));
    eoi_broadcast_(uint8_t(v));
  }
}

void LocalApic::sendIpi() {
  uint32_t mode = (icr_lo_ >> 8) & 7, shorthand = (icr_lo_ >> 18) & 3, dest = icr_hi_ >> 24;
  bool logical = icr_lo_ & (1u << 11);
  bool to_self;
  switch (shorthand) {
    case 1: case 2: to_self = true; break;  // self, all including self
    case 3: to_self = false; break;         // all excluding self: nobody else is there
    default:
      // Flat logical model only (the cluster model needs several CPUs to mean anything).
      to_self = logical ? ((ldr_ >> 24) & dest) != 0 : (dest == id_ || dest == 0xff);
  }
  if (!to_self) return;  // INIT, SIPI, ... to absent CPUs: accepted by nobody, done at once
  switch (mode) {
    case 0: case 1:  // fixed, lowest priority
      if ((icr_lo_ & 0xff) < 16) error(kEsrSendIllegal);
      else accept(uint8_t(icr_lo_), false);
      break;
    case kModeNmi: nmi_(); break;
    default: break;  // INIT/SIPI to self would reset this CPU: not modelled
  }
}

unsigned LocalApic::divideShift() const {
  unsigned d = (divide_ & 3) | ((divide_ >> 1) & 4);
  return (d + 1) & 7;  // 0: divide by 2, ..., 6: by 128, 7: by 1
}

void LocalApic::startTimer(uint64_t now) {
  timer_start_ = now;
  timer_next_ = initial_ ? now + (uint64_t(initial_) << divideShift()) : kNever;
}

uint32_t LocalApic::currentCount(uint64_t now) const {
  if (!initial_) return 0;
  uint64_t ticks = (now - timer_start_) >> divideShift();
  if (lvt_[kLvtTimer] & kTimerPeriodic) return initial_ - uint32_t(ticks % initial_);
  return ticks >= initial_ ? 0 : initial_ - uint32_t(ticks);
}

uint64_t LocalApic::nextEventNs() const {
  if (timer_next_ == kNever || (lvt_[kLvtTimer] & kLvtMasked)) return kNever;
  return timer_next_;
}

void LocalApic::update(uint64_t now) {
  if (timer_next_ == kNever || now < timer_next_) return;
  raiseLvt(kLvtTimer);  // expirations missed while masked or not looked at fold into one
  if (lvt_[kLvtTimer] & kTimerPeriodic) {
    uint64_t period = uint64_t(initial_) << divideShift();
    timer_next_ += ((now - timer_next_) / period + 1) * period;
  } else {
    timer_next_ = kNever;
  }
}

}  // namespace btvm
