// The PC's serial port: a National Semiconductor 16550A UART (COM1 at 0x3f8 on IRQ 4), written
// from the PC16550D data sheet, with QEMU's serial.c as the reference where the sheet leaves a
// choice (QEMU is what Linux and our guests are checked against):
//   - all registers: RBR/THR, IER, IIR (FIFO bits 7:6), FCR (enable, resets, trigger level),
//     LCR (DLAB), MCR (loopback, OUT1/OUT2), LSR (DR, OE, BI, THRE, TEMT), MSR (delta bits), SCR;
//   - 16-byte receive and transmit FIFOs; interrupts by the sheet's priority: line status >
//     received data / character timeout > THR empty > modem status;
//   - transmission is instantaneous (as in QEMU): a byte written to THR goes to the backend at
//     once and THRE comes back in the same OUT, so the THRE interrupt follows every write;
//   - the interrupt output is not gated by MCR.OUT2 (QEMU does not gate it either);
//   - the receiver takes from the host only what it has room for (QEMU's can_receive: up to the
//     trigger level, then one byte at a time), and only while the guest holds MCR.RTS up (RTS/CTS
//     flow control; QEMU ignores RTS), so piped input waits in the pipe until a driver is ready
//     and never overruns;
//   - no parity/framing errors (the host line has none); break only in loopback (LCR bit 6).
// Time (the character timeout) is read through a NowFn; the owner calls update() when the
// clock moves and stops translated code at nextEventNs().
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "emu/devices/devices.h"

namespace btvm {

// Uart16550's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct Uart16550State {
  static constexpr uint64_t kNever = UINT64_MAX;
  static constexpr unsigned kFifoSize = 16;
  // The receiver: a 16-entry ring; the one-byte RBR of 16450 mode uses its first slot. (The
  // transmitter needs no FIFO: bytes leave as they are written.)
  struct Fifo {
    uint8_t data[kFifoSize];
    unsigned head = 0, count = 0;
    bool full() const { return count == kFifoSize; }
    void push(uint8_t b) { data[(head + count++) % kFifoSize] = b; }
    uint8_t pop() {
      uint8_t b = data[head];
      head = (head + 1) % kFifoSize;
      --count;
      return b;
    }
    void clear() { head = count = 0; }
  };
  uint8_t ier_ = 0, iir_ = 0x01, fcr_ = 0, lcr_ = 0, mcr_ = 0x08, lsr_ = 0x60, msr_ = 0xb0, scr_ = 0;
  uint16_t divisor_ = 12;        // 9600 baud after reset, as QEMU and a PC BIOS leave it
  Fifo rx_;
  uint8_t rbr_ = 0;              // the byte last read (read again from an empty receiver)
  unsigned trigger_ = 1;         // receive FIFO trigger level (FCR bits 7:6)
  bool thr_pending_ = false;     // THRE interrupt raised and not yet cleared by IIR read or THR write
  bool timeout_pending_ = false; // character timeout interrupt
  uint64_t timeout_at_ = kNever; // when the character timeout fires if the FIFO stays untouched
  uint64_t next_input_ = 0;      // earliest time to look at host input again
  uint64_t input_every_ = 0;     // the current interval between those looks (0: the shortest)
  bool line_ = false;
  uint64_t tx_count_ = 0, rx_count_ = 0;
};

class Uart16550 : private Uart16550State {
 public:
  using State = Uart16550State;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  static constexpr uint64_t kNever = UINT64_MAX;
  static constexpr unsigned kFifoSize = 16;
  // How often the receiver looks for host input while it has room and its interrupt enabled:
  // every kInputPollNs after input came, then twice as long after each look that found none,
  // up to kInputPollMaxNs. Each look stops translated code (a budget exit, a host signal): at
  // a fixed 100 us a busy guest with an idle console made 10,000 of them per second, a tenth of
  // its time on this host; a person's first key after a pause now waits at most 3.2 ms of
  // guest time, and pasted text arrives at the fast rate.
  static constexpr uint64_t kInputPollNs = 100000;
  static constexpr uint64_t kInputPollMaxNs = kInputPollNs << 5;

  // The host side of the line.
  struct Backend {
    virtual ~Backend() = default;
    virtual void transmit(uint8_t byte) = 0;
    // Up to `max` bytes that arrived from the host, without blocking; 0 when there are none.
    virtual size_t receive(uint8_t* buf, size_t max) = 0;
    // False once the host side has no more input to give (end of file, or no input at all).
    virtual bool inputOpen() const = 0;
  };

  // `irq` drives the interrupt line (IRQ 4 through the PIC), called on every change.
  Uart16550(NowFn now, std::function<void(bool)> irq, Backend* backend);
  void attach(IoBus& bus, uint16_t base);

  // Register access by offset 0..7 (public for the unit tests).
  uint8_t read(unsigned reg);
  void write(unsigned reg, uint8_t v);

  // Host input is (or may be) there: take it at the next update() or LSR read, without waiting
  // for the next scheduled look.
  void inputReady() { next_input_ = 0; }
  // Fires the character timeout and takes host input when due.
  void update(uint64_t now_ns);
  // When update() next has work that may raise the line: the character timeout, or the next
  // look at host input while the receive interrupt is on. kNever if none.
  uint64_t nextEventNs() const;
  // When the character timeout fires, if the receive interrupt is on (a timer-like wake-up
  // for an idle guest); kNever if none.
  uint64_t nextTimeoutNs() const;
  // Could host input raise the line (receiver interrupt on, room in the receiver, input open)?
  // An idle guest for which this holds can be woken by typing.
  bool inputCanInterrupt() const;
  bool line() const { return line_; }
  uint64_t bytesTransmitted() const { return tx_count_; }
  uint64_t bytesReceived() const { return rx_count_; }

 private:

  bool fifoOn() const { return fcr_ & 0x01; }
  bool loopback() const { return mcr_ & 0x10; }
  unsigned receiverRoom() const;
  void receiveByte(uint8_t b, uint64_t now);
  void takeHostInput(uint64_t now);
  void transmit(uint8_t b);
  uint8_t readRbr();
  void writeIer(uint8_t v);
  void writeFcr(uint8_t v);
  void writeMcr(uint8_t v);
  uint8_t modemLines() const;  // MSR bits 7:4 as the modem (or loopback) drives them
  uint64_t charTimeNs() const;
  void updateIrq();

  NowFn now_;
  std::function<void(bool)> irq_;
  Backend* backend_;

};

}  // namespace btvm
