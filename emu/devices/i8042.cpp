#include "emu/devices/i8042.h"

#include "emu/devices/pic8259.h"

namespace btvm {

namespace {
constexpr uint8_t kAck = 0xfa, kResend = 0xfe, kSelfTestOk = 0xaa;
}

I8042::I8042(Pic8259& pic, std::function<void(const char*)> on_reset) : pic_(pic), on_reset_(std::move(on_reset)) {
  // What the BIOS leaves: keyboard interrupt on, POST passed, mouse port disabled, scan codes
  // translated to set 1.
  ram_[0] = kKbdInt | kSysFlag | kAuxDis | kXlate;
  status_ |= kSys;
}

void I8042::attach(IoBus& bus) {
  bus.add(0x60, 1, [this](uint16_t, unsigned) -> uint32_t { return readData(); },
          [this](uint16_t, unsigned, uint32_t v) { writeData(uint8_t(v)); });
  bus.add(0x64, 1, [this](uint16_t, unsigned) -> uint32_t { return readStatus(); },
          [this](uint16_t, unsigned, uint32_t v) { writeCommand(uint8_t(v)); });
}

uint8_t I8042::readStatus() const {
  uint8_t s = status_;
  if (!out_.empty()) s |= kObf | (out_.front().aux ? kAuxObf : 0);
  return s;
}

void I8042::push(uint8_t v, bool aux) {
  out_.push_back({v, aux});
  updateIrqs();
}

// IRQ 1 and 12 follow "a byte from that port is in the output buffer and its interrupt is
// enabled". Reading the data port lowers the line before the next byte moves in, so each byte
// is a fresh edge at the (edge-triggered) PIC.
void I8042::updateIrqs() {
  bool has = !out_.empty();
  bool kbd = has && !out_.front().aux && (ram_[0] & kKbdInt);
  bool aux = has && out_.front().aux && (ram_[0] & kAuxInt);
  if (kbd != irq1_) pic_.setIrq(1, irq1_ = kbd);
  if (aux != irq12_) pic_.setIrq(12, irq12_ = aux);
}

uint8_t I8042::readData() {
  if (out_.empty()) return 0x00;  // the last byte stays latched on real parts; nothing is older
  uint8_t v = out_.front().value;
  out_.pop_front();
  if (irq1_) pic_.setIrq(1, irq1_ = false);
  if (irq12_) pic_.setIrq(12, irq12_ = false);
  updateIrqs();
  return v;
}

void I8042::writeOutputPort(uint8_t v) {
  out_port_ = v;
  if (on_a20_) on_a20_(v & 0x02);
  if (!(v & 0x01)) on_reset_("keyboard controller output port (reset line)");
}

void I8042::writeCommand(uint8_t v) {
  status_ |= kCmd;
  pending_ = 0;
  if (v >= 0x20 && v < 0x40) { push(ram_[v & 0x1f], false); return; }  // read controller RAM
  if (v >= 0x60 && v < 0x80) { pending_ = v; return; }                  // write controller RAM
  switch (v) {
    case 0xa7: ram_[0] |= kAuxDis; break;
    case 0xa8: ram_[0] &= uint8_t(~kAuxDis); break;
    case 0xa9: push(0x00, false); break;  // mouse interface test: no error
    case 0xaa:                            // self-test: passed; the controller is left as after reset
      status_ |= kSys;
      push(0x55, false);
      break;
    case 0xab: push(0x00, false); break;  // keyboard interface test: no error
    case 0xad: ram_[0] |= kKbdDis; break;
    case 0xae: ram_[0] &= uint8_t(~kKbdDis); break;
    case 0xc0: push(0x80, false); break;  // input port: keyboard not inhibited
    case 0xd0: {                          // read output port, with the buffer-full lines
      uint8_t p = uint8_t((out_port_ & 0x03) | 0xcc);
      bool has = !out_.empty();
      p = uint8_t((p & ~0x30) | (has && !out_.front().aux ? 0x10 : 0) | (has && out_.front().aux ? 0x20 : 0));
      push(p, false);
      break;
    }
    case 0xd1: case 0xd2: case 0xd3: case 0xd4: pending_ = v; break;
    case 0xdd: writeOutputPort(out_port_ & uint8_t(~0x02)); break;  // A20 off
    case 0xdf: writeOutputPort(out_port_ | 0x02); break;            // A20 on
    default:
      // 0xf0-0xff pulse the output port bits whose mask bit is 0; bit 0 is the reset line.
      if (v >= 0xf0 && !(v & 0x01)) on_reset_("keyboard controller command 0xfe");
      break;
  }
}

void I8042::writeData(uint8_t v) {
  status_ &= uint8_t(~kCmd);
  uint8_t cmd = pending_;
  pending_ = 0;
  if (cmd >= 0x60 && cmd < 0x80) {
    ram_[cmd & 0x1f] = v;
    if (cmd == 0x60) {
      status_ = uint8_t((status_ & ~kSys) | (v & kSysFlag));
      updateIrqs();
    }
    return;
  }
  switch (cmd) {
    case 0xd1: writeOutputPort(v); return;
    case 0xd2: push(v, false); return;                 // as if the keyboard sent it
    case 0xd3: push(v, true); return;                  // as if the mouse sent it (loopback)
    case 0xd4:  // to the mouse, which the write also enables (as for the keyboard below)
      ram_[0] &= uint8_t(~kAuxDis);
      mouseCommand(v);
      return;
    default: break;
  }
  // Data with no controller command goes to the keyboard, which the write also enables.
  ram_[0] &= uint8_t(~kKbdDis);
  keyboardCommand(v);
}

void I8042::keyboardCommand(uint8_t v) {
  uint8_t arg_of = kbd_pending_;
  kbd_pending_ = 0;
  if (arg_of == 0xed || arg_of == 0xf3) { push(kAck, false); return; }  // LEDs, typematic: accepted
  if (arg_of == 0xf0) {
    push(kAck, false);
    if (v == 0) {
      // Report the set; with translation on, the controller translates the number as a scan code.
      static constexpr uint8_t kXlated[4] = {0, 0x43, 0x41, 0x3f};
      push((ram_[0] & kXlate) ? kXlated[kbd_set_] : kbd_set_, false);
    } else if (v <= 3) {
      kbd_set_ = v;
    }
    return;
  }
  switch (v) {
    case 0xed: case 0xf0: case 0xf3: kbd_pending_ = v; push(kAck, false); break;
    case 0xee: push(0xee, false); break;  // echo
    case 0xf2:                            // identify: MF2 keyboard, AB 83 (AB 41 translated)
      push(kAck, false);
      push(0xab, false);
      push((ram_[0] & kXlate) ? 0x41 : 0x83, false);
      break;
    // Enable, disable (and default), default: no keys are ever sent, so only the set matters.
    case 0xf4: push(kAck, false); break;
    case 0xf5: case 0xf6: kbd_set_ = 2; push(kAck, false); break;
    case 0xf7: case 0xf8: case 0xf9: case 0xfa: push(kAck, false); break;
    case 0xff:  // reset: ACK, then the basic assurance test passed
      kbd_set_ = 2;
      push(kAck, false);
      push(kSelfTestOk, false);
      break;
    default: push(kResend, false); break;
  }
}

void I8042::mouseCommand(uint8_t v) {
  uint8_t arg_of = mouse_pending_;
  mouse_pending_ = 0;
  if (mouse_wrap_ && v != 0xec && v != 0xff) { push(v, true); return; }  // wrap mode echoes
  if (arg_of == 0xe8) { mouse_res_ = v & 3; push(kAck, true); return; }
  if (arg_of == 0xf3) {
    mouse_rate_ = v;
    rates_[0] = rates_[1];
    rates_[1] = rates_[2];
    rates_[2] = v;
    // IntelliMouse: rates 200, 100, 80 give ID 3; then 200, 200, 80 give ID 4 (Explorer).
    if (rates_[0] == 200 && rates_[1] == 100 && rates_[2] == 80) mouse_id_ = 3;
    if (mouse_id_ == 3 && rates_[0] == 200 && rates_[1] == 200 && rates_[2] == 80) mouse_id_ = 4;
    push(kAck, true);
    return;
  }
  switch (v) {
    case 0xe6: mouse_status_ &= uint8_t(~0x10); push(kAck, true); break;  // scaling 1:1
    case 0xe7: mouse_status_ |= 0x10; push(kAck, true); break;            // scaling 2:1
    case 0xe8: case 0xf3: mouse_pending_ = v; push(kAck, true); break;
    case 0xe9:  // status request: status, resolution, rate
      push(kAck, true);
      push(mouse_status_, true);
      push(mouse_res_, true);
      push(mouse_rate_, true);
      break;
    case 0xea: mouse_status_ &= uint8_t(~0x40); push(kAck, true); break;  // stream mode
    case 0xf0: mouse_status_ |= 0x40; push(kAck, true); break;            // remote mode
    case 0xeb:  // read data: no movement
      push(kAck, true);
      push(0x08, true);
      push(0x00, true);
      push(0x00, true);
      if (mouse_id_) push(0x00, true);
      break;
    case 0xec: mouse_wrap_ = false; push(kAck, true); break;
    case 0xee: mouse_wrap_ = true; push(kAck, true); break;
    case 0xf2: push(kAck, true); push(mouse_id_, true); break;
    case 0xf4: mouse_status_ |= 0x20; push(kAck, true); break;
    case 0xf5: mouse_status_ &= uint8_t(~0x20); push(kAck, true); break;
    case 0xf6:
      mouse_status_ = 0;
      mouse_rate_ = 100;
      mouse_res_ = 2;
      push(kAck, true);
      break;
    case 0xff:  // reset: ACK, self-test passed, ID 0
      mouse_status_ = 0;
      mouse_rate_ = 100;
      mouse_res_ = 2;
      mouse_id_ = 0;
      mouse_wrap_ = false;
      push(kAck, true);
      push(kSelfTestOk, true);
      push(0x00, true);
      break;
    default: push(kResend, true); break;
  }
}

}  // namespace btvm
