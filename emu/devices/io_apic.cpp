#include "emu/devices/io_apic.h"

namespace btvm {

using namespace ioapic;

namespace {
constexpr uint64_t kMasked = 1u << 16, kLevel = 1u << 15, kRemoteIrr = 1u << 14, kDeliveryStatus = 1u << 12;
// Bits the guest may write: vector, delivery mode, destination mode, polarity, trigger, mask,
// destination (Remote IRR and delivery status are the chip's).
constexpr uint64_t kWritable = 0xff000000000000ffull | 0xa700 | kMasked | (1u << 13);
uint32_t modeOf(uint64_t e) { return uint32_t(e >> 8) & 7; }
}  // namespace

IoApic::IoApic(std::function<void(uint8_t, bool)> deliver, std::function<void()> nmi)
    : deliver_(std::move(deliver)), nmi_(std::move(nmi)) {
  reset();
}

void IoApic::reset() {
  select_ = id_ = 0;
  for (uint64_t& e : redir_) e = kMasked;
}

uint32_t IoApic::read(uint32_t offset) {
  if (offset == 0) return select_;
  if (offset != 0x10) return 0;
  uint32_t r = select_ & 0xff;
  if (r == 0) return id_ << 24;
  if (r == 1) return kVersion;
  if (r == 2) return id_ << 24;  // arbitration ID follows the ID
  if (r >= 0x10 && r < 0x10 + 2 * kPins) {
    uint64_t e = redir_[(r - 0x10) / 2];
    return r & 1 ? uint32_t(e >> 32) : uint32_t(e);
  }
  return 0xffffffff;  // QEMU: a register that does not exist reads all-ones
}

void IoApic::write(uint32_t offset, uint32_t v) {
  if (offset == 0) {
    select_ = v & 0xff;
    return;
  }
  if (offset == 0x40) {  // EOI register: ends a level-triggered vector by hand
    eoi(uint8_t(v));
    return;
  }
  if (offset != 0x10) return;
  uint32_t r = select_;
  if (r == 0) {
    id_ = (v >> 24) & 0xf;
    return;
  }
  if (r < 0x10 || r >= 0x10 + 2 * kPins) return;
  unsigned pin = (r - 0x10) / 2;
  uint64_t& e = redir_[pin];
  uint64_t keep = e & (kRemoteIrr | kDeliveryStatus), merged;
  if (r & 1) merged = (e & 0xffffffffull) | uint64_t(v) << 32;
  else merged = (e & 0xffffffff00000000ull) | v;
  e = (merged & kWritable) | keep;
  if (!(e & kLevel)) e &= ~kRemoteIrr;  // an edge entry has no Remote IRR
  service(pin);  // unmasking a level entry whose line is high sends at once
}

void IoApic::setPin(unsigned pin, bool high) {
  if (pin >= kPins) return;
  uint32_t bit = 1u << pin;
  bool rising = high && !(level_ & bit);
  level_ = high ? level_ | bit : level_ & ~bit;
  uint64_t e = redir_[pin];
  if (e & kLevel) service(pin);
  else if (rising && !(e & kMasked)) {
    if (modeOf(e) == 4) nmi_();
    else if (modeOf(e) <= 1) deliver_(uint8_t(e), false);
  }
}

void IoApic::service(unsigned pin) {
  uint64_t& e = redir_[pin];
  if (!(e & kLevel) || (e & (kMasked | kRemoteIrr)) || !(level_ >> pin & 1)) return;
  if (modeOf(e) == 4) {
    nmi_();
    return;
  }
  if (modeOf(e) > 1) return;  // SMI, INIT, ExtINT: not for this board
  e |= kRemoteIrr;
  deliver_(uint8_t(e), true);
}

void IoApic::eoi(uint8_t vector) {
  for (unsigned pin = 0; pin < kPins; ++pin)
    if ((redir_[pin] & kRemoteIrr) && uint8_t(redir_[pin]) == vector) {
      redir_[pin] &= ~kRemoteIrr;
      service(pin);
    }
}

bool IoApic::wouldDeliver(unsigned pin) const {
  return pin < kPins && !(redir_[pin] & (kMasked | kRemoteIrr)) && modeOf(redir_[pin]) <= 1;
}

}  // namespace btvm
