// PCI configuration mechanism #1 (0xcf8 address, 0xcfc-0xcff data) and the devices behind it:
// QEMU pc's i440FX host bridge at 00:00.0 and PIIX3 ISA bridge at 00:01.0, nothing else. Each
// function is a 256-byte header image plus a mask of the bits software may write; everything
// else is read-only, and an absent function reads all-ones, as on real hardware.
// The byte port 0xcf9 inside the address register's range is the PIIX reset control register,
// which PcPlatform owns.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "emu/devices/devices.h"

namespace btvm {

class PciHost {
 public:
  PciHost();
  // Registers 0xcf8 (4 bytes, dword accesses only) and 0xcfc-0xcff. Call after the owner of 0xcf9
  // has registered it: the bus gives a port to the first range that holds it.
  void attach(IoBus& bus);

  uint32_t configRead(unsigned bus, unsigned devfn, unsigned offset, unsigned size) const;
  void configWrite(unsigned bus, unsigned devfn, unsigned offset, unsigned size, uint32_t value);
  uint32_t address() const { return address_; }

 private:
  struct Function {
    unsigned devfn;
    std::array<uint8_t, 256> config;
    std::array<uint8_t, 256> writable;  // bit mask of software-writable bits per byte
  };
  const Function* find(unsigned bus, unsigned devfn) const;
  uint32_t address_ = 0;
  std::vector<Function> functions_;
};

}  // namespace btvm
