// PCI configuration mechanism #1 (0xcf8 address, 0xcfc-0xcff data) and the devices behind it:
// QEMU pc's i440FX host bridge at 00:00.0 and PIIX3 ISA bridge at 00:01.0, nothing else. Each
// function is a 256-byte header image plus a mask of the bits software may write; everything
// else is read-only, and an absent function reads all-ones, as on real hardware.
// The byte port 0xcf9 inside the address register's range is the PIIX reset control register,
// which PcPlatform owns.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "emu/devices/devices.h"

namespace btvm {

// PciHost's mutable state, a plain copyable struct: what a machine snapshot saves and restores
// (emu/debug/snapshot.h). The class derives from it so its code names the fields directly.
struct PciHostState {
  struct Function {
    unsigned devfn;
    std::array<uint8_t, 256> config;
    std::array<uint8_t, 256> writable;  // bit mask of software-writable bits per byte
  };
  uint32_t address_ = 0;
  std::vector<Function> functions_;
};

class PciHost : private PciHostState {
 public:
  using State = PciHostState;
  const State& state() const { return *this; }
  void setState(const State& s) { static_cast<State&>(*this) = s; }

  PciHost();
  // Registers 0xcf8 (4 bytes, dword accesses only) and 0xcfc-0xcff. Call after the owner of 0xcf9
  // has registered it: the bus gives a port to the first range that holds it.
  void attach(IoBus& bus);

  uint32_t configRead(unsigned bus, unsigned devfn, unsigned offset, unsigned size) const;
  void configWrite(unsigned bus, unsigned devfn, unsigned offset, unsigned size, uint32_t value);
  uint32_t address() const { return address_; }

  // The host bridge's PAM registers (0x59-0x5f): for 0xF0000-0xFFFFF (PAM0 bits 5:4) and each
  // 16 KiB of 0xC0000-0xEFFFF (the nibbles of PAM1-6), bit 0 sends reads to RAM and bit 1
  // writes. Called with the seven registers after a write that changed one of them.
  std::function<void(const uint8_t* pam)> on_pam;
  static constexpr unsigned kPam0 = 0x59;

 private:
  const Function* find(unsigned bus, unsigned devfn) const;
};

}  // namespace btvm
