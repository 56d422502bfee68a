#include "emu/devices/pci_host.h"

namespace btvm {

namespace {

// A function's identity and the registers software may change. Facts from the Intel 82441FX
// (i440FX PMC) and 82371SB (PIIX3) data sheets, with the IDs QEMU's pc machine reports.
struct FunctionSpec {
  unsigned devfn;
  uint16_t vendor, device;
  uint16_t command, status;
  uint8_t revision, prog_if, subclass, class_code, header_type;
  struct Range { uint8_t first, last, mask; };
  std::vector<Range> writable;  // beyond the standard command register
};

const std::vector<FunctionSpec>& specs() {
  static const std::vector<FunctionSpec> table = {
      // 82441FX host bridge: memory and bus master on; its chipset registers (PAM, DRAM rows,
      // SMRAM ... at 0x50-0x7f) are kept; of them only PAM changes anything (on_pam).
      {0x00, 0x8086, 0x1237, 0x0006, 0x0280, 0x02, 0x00, 0x00, 0x06, 0x00, {{0x0d, 0x0d, 0xf8}, {0x50, 0x7f, 0xff}}},
      // 82371SB PIIX3 function 0, PCI-to-ISA bridge; multi-function (header type bit 7). Its
      // registers (IRQ routing 0x60-0x63 reset to 0x80 = disabled, top of memory, misc) are
      // likewise kept without effect.
      {0x08, 0x8086, 0x7000, 0x0007, 0x0200, 0x00, 0x00, 0x01, 0x06, 0x80, {{0x4c, 0x4f, 0xff}, {0x60, 0x82, 0xff}, {0xa0, 0xab, 0xff}}},
  };
  return table;
}

}  // namespace

PciHost::PciHost() {
  for (const FunctionSpec& s : specs()) {
    Function f{s.devfn, {}, {}};
    auto put16 = [&f](unsigned at, uint16_t v) { f.config[at] = uint8_t(v); f.config[at + 1] = uint8_t(v >> 8); };
    put16(0x00, s.vendor);
    put16(0x02, s.device);
    put16(0x04, s.command);
    put16(0x06, s.status);
    f.config[0x08] = s.revision;
    f.config[0x09] = s.prog_if;
    f.config[0x0a] = s.subclass;
    f.config[0x0b] = s.class_code;
    f.config[0x0e] = s.header_type;
    // Command: I/O, memory, bus master, special cycles, MWI, VGA snoop, parity, SERR: writable
    // (0x0147 on these parts: I/O, memory, master, parity response, SERR).
    f.writable[0x04] = 0x47;
    f.writable[0x05] = 0x01;
    for (const auto& r : s.writable)
      for (unsigned i = r.first; i <= r.last; ++i) f.writable[i] = r.mask;
    if (s.devfn == 0x08)
      for (unsigned i = 0x60; i <= 0x63; ++i) f.config[i] = 0x80;
    functions_.push_back(f);
  }
}

const PciHost::Function* PciHost::find(unsigned bus, unsigned devfn) const {
  if (bus != 0) return nullptr;
  for (const Function& f : functions_)
    if (f.devfn == devfn) return &f;
  return nullptr;
}

uint32_t PciHost::configRead(unsigned bus, unsigned devfn, unsigned offset, unsigned size) const {
  const Function* f = find(bus, devfn);
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    unsigned at = offset + i;
    uint8_t b = f && at < 256 ? f->config[at] : 0xff;
    v |= uint32_t(b) << (8 * i);
  }
  return v;
}

void PciHost::configWrite(unsigned bus, unsigned devfn, unsigned offset, unsigned size, uint32_t value) {
  auto* f = const_cast<Function*>(find(bus, devfn));
  if (!f) return;  // nobody claims the cycle: master abort, the write goes nowhere
  bool pam = false;
  for (unsigned i = 0; i < size && offset + i < 256; ++i) {
    unsigned at = offset + i;
    uint8_t m = f->writable[at];
    uint8_t old = f->config[at];
    f->config[at] = uint8_t((old & ~m) | (uint8_t(value >> (8 * i)) & m));
    pam |= f->devfn == 0 && at >= kPam0 && at < kPam0 + 7 && f->config[at] != old;
  }
  if (pam && on_pam) on_pam(&f->config[kPam0]);
}

void PciHost::attach(IoBus& bus) {
  // The address register answers only whole-dword accesses (other sizes belong to the legacy
  // ports that share the range, such as 0xcf9); bit 31 enables, bits 30-24 and 1-0 read 0.
  bus.add(0xcf8, 4,
          [this](uint16_t port, unsigned size) -> uint32_t {
            return port == 0xcf8 && size == 4 ? address_ : (size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu);
          },
          [this](uint16_t port, unsigned size, uint32_t v) {
            if (port == 0xcf8 && size == 4) address_ = v & 0x80fffffcu;
          });
  bus.add(0xcfc, 4,
          [this](uint16_t port, unsigned size) -> uint32_t {
            if (!(address_ & 0x80000000u)) return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu;
            return configRead((address_ >> 16) & 0xff, (address_ >> 8) & 0xff, (address_ & 0xfc) + (port - 0xcfc), size);
          },
          [this](uint16_t port, unsigned size, uint32_t v) {
            if (!(address_ & 0x80000000u)) return;
            configWrite((address_ >> 16) & 0xff, (address_ >> 8) & 0xff, (address_ & 0xfc) + (port - 0xcfc), size, v);
          });
}

}  // namespace btvm
