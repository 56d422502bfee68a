#include "emu/devices/uart16550.h"

#include <algorithm>

namespace btvm {

namespace {

// LSR bits.
constexpr uint8_t kDr = 0x01, kOe = 0x02, kPe = 0x04, kFe = 0x08, kBi = 0x10, kThre = 0x20, kTemt = 0x40;
// MCR bits.
constexpr uint8_t kRts = 0x02;
// IER bits.
constexpr uint8_t kErbfi = 0x01, kEtbei = 0x02, kElsi = 0x04, kEdssi = 0x08;
// IIR interrupt identities (bits 3:0); bits 7:6 read 11 while the FIFOs are on.
constexpr uint8_t kIirNone = 0x01, kIirLineStatus = 0x06, kIirRxData = 0x04, kIirTimeout = 0x0c,
                  kIirThre = 0x02, kIirModem = 0x00;
// The modem the host side plays: it holds DCD, DSR and CTS up, RI down (as QEMU's stdio).
constexpr uint8_t kHostModemLines = 0xb0;
constexpr unsigned kTriggerLevels[4] = {1, 4, 8, 14};
constexpr uint64_t kBaseBaud = 115200;  // 1.8432 MHz / 16

}  // namespace

Uart16550::Uart16550(NowFn now, std::function<void(bool)> irq, Backend* backend)
    : now_(std::move(now)), irq_(std::move(irq)), backend_(backend) {}

void Uart16550::attach(IoBus& bus, uint16_t base) {
  bus.add(base, 8, [this, base](uint16_t port, unsigned) -> uint32_t { return read(port - base); },
          [this, base](uint16_t port, unsigned, uint32_t v) { write(port - base, uint8_t(v)); });
}

uint8_t Uart16550::read(unsigned reg) {
  bool dlab = lcr_ & 0x80;
  switch (reg & 7) {
    case 0: return dlab ? uint8_t(divisor_) : readRbr();
    case 1: return dlab ? uint8_t(divisor_ >> 8) : ier_;
    case 2: {
      uint8_t v = uint8_t(iir_ | (fifoOn() ? 0xc0 : 0));
      // Reading IIR while it shows THRE is what acknowledges that interrupt.
      if (iir_ == kIirThre) {
        thr_pending_ = false;
        updateIrq();
      }
      return v;
    }
    case 3: return lcr_;
    case 4: return mcr_;
    case 5: {
      // A guest that polls LSR.DR gets host input without needing interrupts.
      if (!(lsr_ & kDr)) takeHostInput(now_());
      uint8_t v = lsr_;
      if (lsr_ & (kOe | kBi)) {  // error bits clear on read
        lsr_ &= uint8_t(~(kOe | kBi));
        updateIrq();
      }
      return v;
    }
    case 6: {
      uint8_t v = uint8_t(modemLines() | (msr_ & 0x0f));
      if (msr_ & 0x0f) {  // delta bits clear on read
        msr_ &= 0xf0;
        updateIrq();
      }
      return v;
    }
    default: return scr_;
  }
}

void Uart16550::write(unsigned reg, uint8_t v) {
  bool dlab = lcr_ & 0x80;
  switch (reg & 7) {
    case 0:
      if (dlab) {
        divisor_ = uint16_t((divisor_ & 0xff00) | v);
        break;
      }
      // THR: the byte leaves at once, so THRE (and TEMT) drop and come straight back. The THRE
      // interrupt is cleared by the write and raised again: the line makes a new edge per byte.
      lsr_ &= uint8_t(~(kThre | kTemt));
      thr_pending_ = false;
      updateIrq();
      transmit(v);
      lsr_ |= kThre | kTemt;
      thr_pending_ = true;
      updateIrq();
      break;
    case 1:
      if (dlab) divisor_ = uint16_t((divisor_ & 0x00ff) | (v << 8));
      else writeIer(v);
      break;
    case 2: writeFcr(v); break;
    case 3: lcr_ = v; break;
    case 4: writeMcr(v); break;
    case 5: break;  // LSR: factory test only
    case 6: break;  // MSR: read only
    default: scr_ = v; break;
  }
}

void Uart16550::writeIer(uint8_t v) {
  uint8_t changed = uint8_t((ier_ ^ v) & 0x0f);
  ier_ = v & 0x0f;  // bits 7:4 read as zero on a 16550A (Linux's probe relies on it)
  // "THRE on enabling": turning ETBEI on while THR is empty raises the THRE interrupt at once
  // (Linux's 8250 driver starts transmission by this, and tests for it at startup).
  if (changed & kEtbei) thr_pending_ = (ier_ & kEtbei) && (lsr_ & kThre);
  if (changed & kErbfi) next_input_ = 0;
  if (changed) updateIrq();
}

void Uart16550::writeFcr(uint8_t v) {
  if ((v ^ fcr_) & 0x01) v |= 0x06;  // switching the FIFOs on or off resets both
  if (v & 0x02) {
    rx_.clear();
    lsr_ &= uint8_t(~(kDr | kBi));
    timeout_pending_ = false;
    timeout_at_ = kNever;
    next_input_ = 0;
  }
  if (v & 0x04) {  // as QEMU: a transmitter reset reports THR empty (and its interrupt)
    lsr_ |= kThre | kTemt;
    thr_pending_ = true;
  }
  fcr_ = v & 0xc9;  // the reset bits self-clear; bits 5:4 are reserved on a 16550A
  trigger_ = kTriggerLevels[v >> 6];
  updateIrq();
}

void Uart16550::writeMcr(uint8_t v) {
  bool was_loop = loopback();
  uint8_t before_mcr = mcr_;
  uint8_t before = modemLines();
  mcr_ = v & 0x1f;
  uint8_t after = modemLines();
  // Delta bits: DCTS, DDSR and DDCD on any change; TERI when RI falls (trailing edge).
  uint8_t changed = before ^ after;
  uint8_t deltas = uint8_t(((changed & 0x10) ? 0x01 : 0) | ((changed & 0x20) ? 0x02 : 0) |
                           ((before & 0x40) && !(after & 0x40) ? 0x04 : 0) | ((changed & 0x80) ? 0x08 : 0));
  msr_ = uint8_t(after | (msr_ & 0x0f) | deltas);
  if ((was_loop && !loopback()) || (~before_mcr & mcr_ & kRts)) next_input_ = 0;
  updateIrq();
}

// In loopback the outputs come back as inputs: RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD.
uint8_t Uart16550::modemLines() const {
  if (!loopback()) return kHostModemLines;
  return uint8_t(((mcr_ & 0x02) << 3) | ((mcr_ & 0x01) << 5) | ((mcr_ & 0x04) << 4) | ((mcr_ & 0x08) << 4));
}

uint8_t Uart16550::readRbr() {
  if (rx_.count) rbr_ = rx_.pop();
  timeout_pending_ = false;
  if (rx_.count) {
    timeout_at_ = now_() + 4 * charTimeNs();
  } else {
    lsr_ &= uint8_t(~(kDr | kBi));
    timeout_at_ = kNever;
    next_input_ = 0;  // room again: look at host input at the next update
  }
  updateIrq();
  return rbr_;
}

// The room QEMU advertises to its character backend: up to the trigger level, so that the
// guest gets its interrupt with the FIFO at the level it chose, then a byte at a time.
// Unlike QEMU, the host side honours RTS/CTS flow control: it sends only while the guest holds
// RTS up. Linux raises RTS when the tty is opened, after its startup has reset the FIFOs and
// drained RBR, so input piped before that waits in the pipe instead of being thrown away.
unsigned Uart16550::receiverRoom() const {
  if (loopback()) return 0;  // the serial input is disconnected in loopback
  if (!(mcr_ & kRts)) return 0;
  if (!fifoOn()) return (lsr_ & kDr) ? 0 : 1;
  if (rx_.count < trigger_) return trigger_ - rx_.count;
  return rx_.full() ? 0 : 1;
}

void Uart16550::receiveByte(uint8_t b, uint64_t now) {
  ++rx_count_;
  if (fifoOn()) {
    if (rx_.full()) lsr_ |= kOe;  // the new byte is lost
    else rx_.push(b);
    timeout_at_ = now + 4 * charTimeNs();
  } else {
    if (lsr_ & kDr) lsr_ |= kOe;  // RBR overwritten
    rx_.clear();
    rx_.push(b);
  }
  lsr_ |= kDr;
}

void Uart16550::takeHostInput(uint64_t now) {
  if (!backend_ || now < next_input_) return;
  if (input_every_ == 0) input_every_ = kInputPollNs;
  unsigned room = receiverRoom();
  if (room == 0) {
    next_input_ = now + input_every_;
    return;
  }
  uint8_t buf[kFifoSize];
  size_t n = backend_->receive(buf, room);
  input_every_ = n ? kInputPollNs : std::min(input_every_ * 2, kInputPollMaxNs);
  next_input_ = now + input_every_;
  for (size_t i = 0; i < n; ++i) receiveByte(buf[i], now);
  if (n) updateIrq();
}

void Uart16550::transmit(uint8_t b) {
  ++tx_count_;
  if (loopback()) {
    receiveByte(b, now_());
    return;
  }
  if (backend_) backend_->transmit(b);
}

void Uart16550::update(uint64_t now_ns) {
  if (timeout_at_ <= now_ns) {
    timeout_at_ = kNever;
    if (fifoOn() && rx_.count) {
      timeout_pending_ = true;
      updateIrq();
    }
  }
  takeHostInput(now_ns);
}

bool Uart16550::inputCanInterrupt() const {
  return backend_ && (ier_ & kErbfi) && receiverRoom() > 0 && backend_->inputOpen();
}

uint64_t Uart16550::nextTimeoutNs() const { return (ier_ & kErbfi) ? timeout_at_ : kNever; }

uint64_t Uart16550::nextEventNs() const {
  uint64_t t = nextTimeoutNs();
  if (inputCanInterrupt()) t = std::min(t, next_input_);
  return t;
}

// One character on the line: start bit, 5-8 data bits, parity, 1 or 2 stop bits, at
// 115200 / divisor baud.
uint64_t Uart16550::charTimeNs() const {
  unsigned bits = 1 + 5 + (lcr_ & 3) + ((lcr_ & 0x08) ? 1 : 0) + ((lcr_ & 0x04) ? 2 : 1);
  uint64_t div = divisor_ ? divisor_ : 0x10000;
  return bits * div * 1000000000ull / kBaseBaud;
}

// The sheet's priority: line status > received data (or character timeout) > THR empty >
// modem status. IIR shows the highest; the line is up while any enabled one is pending.
void Uart16550::updateIrq() {
  uint8_t id = kIirNone;
  if ((ier_ & kElsi) && (lsr_ & (kOe | kPe | kFe | kBi))) id = kIirLineStatus;
  else if ((ier_ & kErbfi) && (lsr_ & kDr) && (!fifoOn() || rx_.count >= trigger_)) id = kIirRxData;
  else if ((ier_ & kErbfi) && timeout_pending_) id = kIirTimeout;
  else if ((ier_ & kEtbei) && thr_pending_) id = kIirThre;
  else if ((ier_ & kEdssi) && (msr_ & 0x0f)) id = kIirModem;
  iir_ = id;
  bool high = id != kIirNone;
  if (high != line_) {
    line_ = high;
    if (irq_) irq_(high);
  }
}

}  // namespace btvm
