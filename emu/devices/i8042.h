// The i8042 keyboard controller at 0x60 (data) and 0x64 (status / command), with a PS/2
// keyboard on its first port and a PS/2 mouse (IntelliMouse Explorer, as QEMU's) on the second.
// No keys are pressed and the mouse never moves: the devices only answer commands, which is
// what an OS needs to find them. Written from the 8042 and PS/2 descriptions (IBM PS/2
// Technical Reference); QEMU's hw/input/pckbd.c and ps2.c were read for what it reports.
//
// Output port bit 0 low resets the CPU (command 0xd1 or a 0xf0-0xff pulse, e.g. 0xfe); bit 1
// drives the A20 gate (0xd1, and the 0xdd / 0xdf shortcuts QEMU and many chipsets accept).
#pragma once
#include <cstdint>
#include <deque>
#include <functional>

#include "emu/devices/devices.h"

namespace btvm {

class Pic8259;

// I8042's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct I8042State {
  struct Byte {
    uint8_t value;
    bool aux;
  };
  std::deque<Byte> out_;         // the output buffer and the bytes the devices queue behind it
  uint8_t ram_[32] = {};         // controller RAM; byte 0 is the command byte
  uint8_t status_ = 0x10;        // SYS and CMD bits (UNLOCKED at reset); OBF/AUX_OBF come from out_
  uint8_t pending_ = 0;          // controller command waiting for its data byte (0: none)
  uint8_t out_port_ = 0x03;      // bit 0 not in reset, bit 1 A20
  bool irq1_ = false, irq12_ = false;

  // Keyboard.
  uint8_t kbd_pending_ = 0;      // command waiting for its argument (0xed, 0xf0, 0xf3)
  uint8_t kbd_set_ = 2;
  // Mouse.
  uint8_t mouse_pending_ = 0;    // 0xe8, 0xf3 waiting for an argument
  uint8_t mouse_id_ = 0;         // 0 plain PS/2, 3 IntelliMouse, 4 IntelliMouse Explorer
  uint8_t mouse_rate_ = 100, mouse_res_ = 2, mouse_status_ = 0;
  uint8_t rates_[3] = {};        // last three sample rates: the IntelliMouse unlock sequences
  bool mouse_wrap_ = false;
};

class I8042 : private I8042State {
 public:
  using State = I8042State;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  // Status register bits.
  static constexpr uint8_t kObf = 0x01, kIbf = 0x02, kSys = 0x04, kCmd = 0x08, kUnlocked = 0x10, kAuxObf = 0x20;
  // Command byte (controller RAM byte 0) bits.
  static constexpr uint8_t kKbdInt = 0x01, kAuxInt = 0x02, kSysFlag = 0x04, kKbdDis = 0x10, kAuxDis = 0x20,
                           kXlate = 0x40;

  I8042(Pic8259& pic, std::function<void(const char* how)> on_reset);
  void attach(IoBus& bus);

  uint8_t readStatus() const;
  uint8_t readData();
  void writeCommand(uint8_t v);
  void writeData(uint8_t v);
  uint8_t commandByte() const { return ram_[0]; }
  bool a20() const { return out_port_ & 0x02; }
  // Called with the A20 line's new level whenever the output port is written.
  void setA20Handler(std::function<void(bool)> f) { on_a20_ = std::move(f); }

 private:
  void push(uint8_t v, bool aux);
  void updateIrqs();
  void keyboardCommand(uint8_t v);
  void mouseCommand(uint8_t v);
  void writeOutputPort(uint8_t v);

  Pic8259& pic_;
  std::function<void(const char*)> on_reset_;
  std::function<void(bool)> on_a20_;
};

}  // namespace btvm
