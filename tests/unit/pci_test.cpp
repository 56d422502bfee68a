// PCI configuration mechanism #1: the address register, data-port accesses of every size at
// every offset, the two functions QEMU's pc has first (i440FX, PIIX3), absent functions,
// read-only fields.
#include <doctest/doctest.h>

#include "emu/devices/devices.h"
#include "emu/devices/pci_host.h"

using namespace btvm;

namespace {
struct PciBench {
  PciHost pci;
  IoBus bus;
  int resets = 0;
  PciBench() {
    bus.add(0xcf9, 1, nullptr, [this](uint16_t, unsigned, uint32_t) { ++resets; });  // as PcPlatform does
    pci.attach(bus);
  }
  uint32_t in(uint16_t port, unsigned size) {
    uint32_t v;
    bus.read(port, size, &v);
    return v;
  }
  void select(unsigned devfn, unsigned reg) { bus.write(0xcf8, 4, 0x80000000u | (devfn << 8) | reg); }
  uint32_t cfg(unsigned devfn, unsigned off, unsigned size) {
    select(devfn, off & 0xfc);
    return in(uint16_t(0xcfc + (off & 3)), size);
  }
  void setCfg(unsigned devfn, unsigned off, unsigned size, uint32_t v) {
    select(devfn, off & 0xfc);
    bus.write(uint16_t(0xcfc + (off & 3)), size, v);
  }
};
}  // namespace

TEST_CASE("0xcf8 holds a dword address (enable, bus, devfn, register); other sizes do not reach it") {
  PciBench b;
  b.bus.write(0xcf8, 4, 0x80000000u);
  CHECK(b.in(0xcf8, 4) == 0x80000000u);
  b.bus.write(0xcf8, 4, 0xffffffffu);
  CHECK(b.in(0xcf8, 4) == 0x80fffffcu);  // reserved bits and the low two read 0
  b.bus.write(0xcfb, 1, 0x01);            // Linux's type-1 probe pokes here first
  CHECK(b.in(0xcf8, 4) == 0x80fffffcu);
  CHECK(b.in(0xcf8, 1) == 0xff);
  b.bus.write(0xcf9, 1, 0x06);             // 0xcf9 stays the reset control register
  CHECK(b.resets == 1);
  CHECK(b.in(0xcf8, 4) == 0x80fffffcu);
}

TEST_CASE("i440FX at 00:00.0 and PIIX3 at 00:01.0, as dword, word and byte reads at any offset") {
  PciBench b;
  CHECK(b.cfg(0x00, 0x00, 4) == 0x12378086u);
  CHECK(b.cfg(0x00, 0x0a, 2) == 0x0600);  // class: host bridge
  CHECK(b.cfg(0x00, 0x02, 2) == 0x1237);
  CHECK(b.cfg(0x00, 0x03, 1) == 0x12);
  CHECK(b.cfg(0x00, 0x08, 1) == 0x02);
  CHECK(b.cfg(0x08, 0x00, 4) == 0x70008086u);
  CHECK(b.cfg(0x08, 0x08, 4) == 0x06010000u);  // ISA bridge, revision 0
  CHECK(b.cfg(0x08, 0x0e, 1) == 0x80);         // multi-function
  CHECK(b.cfg(0x08, 0x60, 4) == 0x80808080u);  // PIRQ routing disabled
  CHECK(b.cfg(0x08, 0x61, 2) == 0x8080);
}

TEST_CASE("absent functions and other buses read all-ones; disabled address reads all-ones") {
  PciBench b;
  CHECK(b.cfg(0x09, 0x00, 4) == 0xffffffffu);  // 00:01.1
  CHECK(b.cfg(0x10, 0x00, 2) == 0xffff);        // 00:02.0
  CHECK(b.cfg(0xff, 0x0e, 1) == 0xff);
  b.bus.write(0xcf8, 4, 0x80010000u);           // bus 1: none
  CHECK(b.in(0xcfc, 4) == 0xffffffffu);
  b.bus.write(0xcf8, 4, 0x00000000u);           // enable bit clear
  CHECK(b.in(0xcfc, 4) == 0xffffffffu);
  b.setCfg(0x10, 0x04, 2, 0x0007);              // writes to nobody go nowhere
  CHECK(b.cfg(0x10, 0x04, 2) == 0xffff);
}

TEST_CASE("writes change only writable bits: IDs, class and BARs are read-only, command and chipset registers are not") {
  PciBench b;
  b.setCfg(0x00, 0x00, 4, 0);
  CHECK(b.cfg(0x00, 0x00, 4) == 0x12378086u);
  b.setCfg(0x00, 0x08, 4, 0);
  CHECK(b.cfg(0x00, 0x0a, 2) == 0x0600);
  b.setCfg(0x08, 0x10, 4, 0xffffffffu);  // BAR sizing: no BARs
  CHECK(b.cfg(0x08, 0x10, 4) == 0);
  b.setCfg(0x00, 0x04, 2, 0xffff);
  CHECK(b.cfg(0x00, 0x04, 2) == 0x0147);
  CHECK(b.cfg(0x00, 0x06, 2) == 0x0280);   // status untouched by the command write
  b.setCfg(0x00, 0x5a, 1, 0x33);           // a PAM register, byte write at offset 2 of its dword
  CHECK(b.cfg(0x00, 0x58, 4) == 0x00330000u);
  b.setCfg(0x08, 0x62, 2, 0x0b0a);         // PIRQC/D routing, word write at offset 2
  CHECK(b.cfg(0x08, 0x60, 4) == 0x0b0a8080u);
}
