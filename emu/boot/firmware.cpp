#include "emu/boot/firmware.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "emu/boot/aml.h"
#include "emu/boot/memory_map.h"
#include "emu/devices/hpet.h"
#include "emu/devices/io_apic.h"
#include "emu/devices/local_apic.h"

namespace btvm {

namespace {

// A little-endian byte writer for building tables.
struct Bytes {
  std::vector<uint8_t> b;
  Bytes& u8(uint32_t v) { b.push_back(uint8_t(v)); return *this; }
  Bytes& u16(uint32_t v) { return u8(v).u8(v >> 8); }
  Bytes& u32(uint32_t v) { return u16(v).u16(v >> 16); }
  Bytes& str(const char* s, size_t n) {  // fixed-width field, space padded
    size_t len = std::strlen(s);
    for (size_t i = 0; i < n; ++i) u8(i < len ? uint8_t(s[i]) : ' ');
    return *this;
  }
  Bytes& raw(std::initializer_list<uint8_t> v) { b.insert(b.end(), v); return *this; }
  void put16(size_t at, uint32_t v) { b[at] = uint8_t(v); b[at + 1] = uint8_t(v >> 8); }
  void put32(size_t at, uint32_t v) { put16(at, v); put16(at + 2, v >> 16); }
  // Makes the bytes [from, to) sum to zero by setting the byte at `at`.
  void checksum(size_t at, size_t from, size_t to) {
    b[at] = 0;
    b[at] = uint8_t(-byteSum(b.data() + from, to - from));
  }
};

// The 36-byte header every ACPI table but the RSDP and FACS starts with. The OEM fields name
// btvm; Linux prints them in its "ACPI: FACP ..." lines.
Bytes acpiHeader(const char* sig, uint8_t revision) {
  Bytes t;
  t.str(sig, 4).u32(0).u8(revision).u8(0).str("BTVM", 6).str("BTVMPC", 8).u32(1).str("BTVM", 4).u32(1);
  return t;
}

std::vector<uint8_t> finishAcpi(Bytes t) {
  t.put32(4, uint32_t(t.b.size()));
  t.checksum(9, 0, t.b.size());
  return t.b;
}

// The DSDT's AML, in the ASL it encodes:
//   Scope (\_SB) {
//     Device (KBD) { Name (_HID, EisaId ("PNP0303"))  Name (_CRS, ResourceTemplate () {
//                      IO (Decode16, 0x60, 0x60, 1, 1)  IO (Decode16, 0x64, 0x64, 1, 1)  IRQNoFlags () {1} }) }
//     Device (MOU) { Name (_HID, EisaId ("PNP0F13"))  Name (_CRS, ResourceTemplate () { IRQNoFlags () {12} }) }
//     Device (RTC) { Name (_HID, EisaId ("PNP0B00"))  Name (_CRS, ResourceTemplate () {
//                      IO (Decode16, 0x70, 0x70, 0x10, 8)  IRQNoFlags () {8} }) }
//   }
//   Name (\_S5, Package (4) { 0, 0, 0, 0 })
// The PNP devices are QEMU's (it nests them under \_SB.PCI0.ISA), so the OS finds the i8042 and
// the RTC through ACPI as it does there. \_S5 gives SLP_TYP for PM1a and PM1b; the OS writes it
// to PM1a_CNT with SLP_EN to power off. Only S5 is offered: btvm has no suspend.
aml::Bytes dsdtAml() {
  using namespace aml;
  return join({
      scope("\\_SB_",
            {device("KBD_", {nameDecl("_HID", eisaId("PNP0303")),
                             nameDecl("_CRS", resourceTemplate({io16(0x60, 0x60, 1, 1), io16(0x64, 0x64, 1, 1),
                                                                irqNoFlags(1)}))}),
             device("MOU_", {nameDecl("_HID", eisaId("PNP0F13")), nameDecl("_CRS", resourceTemplate({irqNoFlags(12)}))}),
             device("RTC_", {nameDecl("_HID", eisaId("PNP0B00")),
                             nameDecl("_CRS", resourceTemplate({io16(0x70, 0x70, 0x10, 8), irqNoFlags(8)}))})}),
      nameDecl("\\_S5_", package({integer(acpi_io::kSlpTypS5), integer(acpi_io::kSlpTypS5), integer(0), integer(0)})),
  });
}

std::vector<uint8_t> rsdp() {
  Bytes t;
  t.str("RSD PTR ", 8).u8(0).str("BTVM", 6).u8(0 /* ACPI 1.0 */).u32(fw_addr::kRsdt);
  t.checksum(8, 0, 20);
  return t.b;
}

std::vector<uint8_t> rsdt() {
  Bytes t = acpiHeader("RSDT", 1);
  t.u32(fw_addr::kFadt).u32(fw_addr::kMadt).u32(fw_addr::kHpet);
  return finishAcpi(t);
}

// The HPET description table, as QEMU's: the event timer block ID (the low half of the
// capabilities register), its base as a memory-space GAS, HPET number 0, minimum tick 0, no
// page protection.
std::vector<uint8_t> hpetTable() {
  Bytes t = acpiHeader("HPET", 1);
  t.u32(uint32_t(hpet::kCapabilities));
  t.u8(0 /* system memory */).u8(0).u8(0).u8(0).u32(uint32_t(hpet::kBase)).u32(0);
  t.u8(0).u16(0).u8(0);
  return finishAcpi(t);
}

// The MADT ("APIC"), as QEMU's pc machine builds it for one CPU: the local APIC (and the 8259s
// beside it, PCAT_COMPAT), the I/O APIC with GSI 0-23, the interrupt source overrides (ISA IRQ0
// on GSI 2; the PCI interrupt lines 5, 9, 10 and 11 level-triggered, active high) and LINT1 as
// every CPU's NMI.
std::vector<uint8_t> madt() {
  struct Override {
    uint8_t irq;
    uint32_t gsi;
    uint16_t flags;  // MPS INTI flags: 0 = the bus's default; 0xd = active high, level
  };
  static constexpr Override kOverrides[] = {{0, 2, 0}, {5, 5, 0xd}, {9, 9, 0xd}, {10, 10, 0xd}, {11, 11, 0xd}};
  Bytes t = acpiHeader("APIC", 1);
  t.u32(uint32_t(lapic::kDefaultBase)).u32(1 /* PCAT_COMPAT */);
  t.u8(0).u8(8).u8(0 /* ACPI processor ID */).u8(0 /* APIC ID */).u32(1 /* enabled */);
  t.u8(1).u8(12).u8(0 /* I/O APIC ID */).u8(0).u32(uint32_t(ioapic::kBase)).u32(0 /* GSI base */);
  for (const Override& o : kOverrides) t.u8(2).u8(10).u8(0 /* ISA */).u8(o.irq).u32(o.gsi).u16(o.flags);
  t.u8(4).u8(6).u8(0xff /* all processors */).u16(0).u8(1 /* LINT1 */);
  return finishAcpi(t);
}

// FADT revision 1 (ACPI 1.0, 116 bytes), as QEMU's pc machine gives it, with the PIIX4 PM I/O
// block at 0x600. SMI_CMD is 0: the machine is always in ACPI mode (PM1_CNT.SCI_EN reads 1), so
// the OS has no ACPI enable handshake to make.
std::vector<uint8_t> fadt() {
  Bytes t = acpiHeader("FACP", 1);
  t.u32(fw_addr::kFacs).u32(fw_addr::kDsdt);
  t.u8(0 /* INT_MODEL: dual 8259 */).u8(0).u16(acpi_io::kSciIrq);
  t.u32(0 /* SMI_CMD */).u8(0).u8(0).u8(0).u8(0);
  t.u32(acpi_io::kPm1aEvt).u32(0).u32(acpi_io::kPm1aCnt).u32(0).u32(0 /* PM2 */).u32(acpi_io::kPmTmr);
  t.u32(0).u32(0);                          // GPE0, GPE1 blocks: none
  t.u8(4).u8(2).u8(0).u8(4).u8(0).u8(0);   // PM1_EVT_LEN, PM1_CNT_LEN, PM2, PM_TMR_LEN, GPE0/1 len
  t.u8(0).u8(0);                            // GPE1_BASE, reserved
  t.u16(0xfff).u16(0xfff);                  // P_LVL2/3_LAT > 100/1000: no C2, no C3
  t.u16(0).u16(0).u8(0).u8(0);              // flush size/stride, duty offset/width
  t.u8(0).u8(0).u8(0x32);                   // day/month alarm: none; CMOS century at 0x32
  t.u16(0).u8(0);                           // reserved in ACPI 1.0
  // WBINVD works, C1 (HLT) supported, no sleep button, RTC wakes from S4: QEMU's flags. The
  // fixed power button (bit 4 clear) is the PM1 PWRBTN event.
  t.u32((1u << 0) | (1u << 2) | (1u << 5) | (1u << 7));
  return finishAcpi(t);
}

std::vector<uint8_t> facs() {
  Bytes t;
  t.str("FACS", 4).u32(64).u32(0 /* hardware signature */).u32(0 /* waking vector */).u32(0).u32(0);
  t.b.resize(64, 0);
  return t.b;
}

std::vector<uint8_t> dsdt() {
  Bytes t = acpiHeader("DSDT", 1);
  aml::Bytes body = dsdtAml();
  t.b.insert(t.b.end(), body.begin(), body.end());
  return finishAcpi(t);
}

// One SMBIOS structure: the formatted area, then its strings (numbered from 1), then a double NUL.
struct SmbiosStruct {
  Bytes formatted;
  std::vector<std::string> strings;
  void appendTo(std::vector<uint8_t>& out) const {
    out.insert(out.end(), formatted.b.begin(), formatted.b.end());
    for (const std::string& s : strings) out.insert(out.end(), s.c_str(), s.c_str() + s.size() + 1);
    if (strings.empty()) out.push_back(0);
    out.push_back(0);
  }
};

SmbiosStruct smbiosHead(uint8_t type, uint8_t length, uint16_t handle) {
  SmbiosStruct s;
  s.formatted.u8(type).u8(length).u16(handle);
  return s;
}

constexpr uint16_t kMemArrayHandle = 0x1000;

// Types 0, 1, 3, 4, 16, 17, 19, 32 and 127 of SMBIOS 2.8 (DSP0134): what Linux's DMI code and
// dmidecode look for. Linux prints "DMI: <type 1 vendor> <product>, BIOS <type 0 version> <date>".
std::vector<SmbiosStruct> smbiosStructs(uint64_t ram_bytes) {
  std::vector<SmbiosStruct> v;
  uint32_t ram_kib = uint32_t(ram_bytes >> 10), ram_mib = uint32_t(ram_bytes >> 20);

  SmbiosStruct bios = smbiosHead(0, 0x18, 0x0000);  // BIOS information
  bios.formatted.u8(1).u8(2).u16(0xe800).u8(3).u8(0);                 // vendor, version, segment, date, ROM size
  bios.formatted.u32(1u << 3).u32(0);                                 // characteristics not supported
  bios.formatted.u8(0).u8(1u << 4);                                   // extension: a virtual machine
  bios.formatted.u8(0).u8(1).u8(0xff).u8(0xff);                       // BIOS 0.1, no embedded controller
  bios.strings = {"btvm", "0.1.0", "01/01/2026"};
  v.push_back(bios);

  SmbiosStruct sys = smbiosHead(1, 0x1b, 0x0100);  // system information
  sys.formatted.u8(1).u8(2).u8(3).u8(0);                              // manufacturer, product, version, serial
  for (int i = 0; i < 16; ++i) sys.formatted.u8(0);                   // UUID: not set
  sys.formatted.u8(6).u8(0).u8(4);                                    // woken by the power switch; SKU; family
  sys.strings = {"btvm", "Standard PC (i440FX + PIIX, 1996)", "0.1.0", "btvm"};
  v.push_back(sys);

  SmbiosStruct chassis = smbiosHead(3, 0x15, 0x0300);
  chassis.formatted.u8(1).u8(1).u8(0).u8(0).u8(0);                    // manufacturer, type Other, no strings
  chassis.formatted.u8(3).u8(3).u8(3).u8(2).u32(0);                   // states safe, security unknown, OEM
  chassis.formatted.u8(0).u8(0).u8(0).u8(0);                          // height, cords, no contained elements
  chassis.strings = {"btvm"};
  v.push_back(chassis);

  SmbiosStruct cpu = smbiosHead(4, 0x28, 0x0400);
  cpu.formatted.u8(1).u8(3).u8(1).u8(2);                              // socket, central, family Other, maker
  cpu.formatted.u32(0).u32(0).u8(3).u8(0);                            // processor ID, version string, voltage
  cpu.formatted.u16(0).u16(0).u16(0).u8(0x41).u8(1);                  // clocks unknown; populated+enabled
  cpu.formatted.u16(0xffff).u16(0xffff).u16(0xffff).u8(0).u8(0).u8(0);  // no caches, no serial/asset/part
  cpu.formatted.u8(1).u8(1).u8(1).u16(1u << 1);                       // 1 core, 1 enabled, 1 thread
  cpu.strings = {"CPU 0", "btvm", "Pentium II class"};
  v.push_back(cpu);

  SmbiosStruct array = smbiosHead(16, 0x0f, kMemArrayHandle);        // physical memory array
  array.formatted.u8(1).u8(3).u8(3).u32(ram_kib).u16(0xfffe).u16(1); // other, system memory, no ECC
  v.push_back(array);

  SmbiosStruct dimm = smbiosHead(17, 0x1b, 0x1100);                   // memory device
  dimm.formatted.u16(kMemArrayHandle).u16(0xfffe).u16(0xffff).u16(0xffff);
  dimm.formatted.u16(ram_mib).u8(9).u8(0).u8(1).u8(0).u8(7).u16(1u << 1);  // MiB, DIMM, locator 1, RAM
  dimm.formatted.u16(0).u8(2).u8(0).u8(0).u8(0);                     // speed unknown, maker
  dimm.strings = {"DIMM 0", "btvm"};
  v.push_back(dimm);

  SmbiosStruct mapped = smbiosHead(19, 0x0f, 0x1300);                 // memory array mapped address
  mapped.formatted.u32(0).u32(ram_kib - 1).u16(kMemArrayHandle).u8(1);
  v.push_back(mapped);

  SmbiosStruct boot = smbiosHead(32, 0x0b, 0x2000);                   // system boot: no errors
  boot.formatted.u32(0).u16(0).u8(0);
  v.push_back(boot);

  v.push_back(smbiosHead(127, 0x04, 0x7f00));                         // end of table
  return v;
}

// The SMBIOS 2.x entry point ("_SM_" ... "_DMI_"), 31 bytes, with both checksums.
std::vector<uint8_t> smbiosEntry(const std::vector<uint8_t>& table, size_t count, size_t max_struct) {
  Bytes t;
  t.str("_SM_", 4).u8(0).u8(0x1f).u8(2).u8(8).u16(uint32_t(max_struct)).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0);
  t.str("_DMI_", 5).u8(0).u16(uint32_t(table.size())).u32(fw_addr::kSmbiosTable).u16(uint32_t(count)).u8(0x28);
  t.checksum(0x15, 0x10, 0x1f);  // intermediate checksum over the "_DMI_" part
  t.checksum(4, 0, 0x1f);
  return t.b;
}

}  // namespace

uint8_t byteSum(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i) s = uint8_t(s + p[i]);
  return s;
}

std::vector<FirmwareBlob> firmwareTables(uint64_t ram_bytes) {
  std::vector<uint8_t> table;
  size_t max_struct = 0;
  std::vector<SmbiosStruct> structs = smbiosStructs(ram_bytes);
  for (const SmbiosStruct& s : structs) {
    size_t before = table.size();
    s.appendTo(table);
    max_struct = std::max(max_struct, table.size() - before);
  }
  return {
      {fw_addr::kRsdp, "RSDP", rsdp()},
      {fw_addr::kRsdt, "RSDT", rsdt()},
      {fw_addr::kFadt, "FACP", fadt()},
      {fw_addr::kFacs, "FACS", facs()},
      {fw_addr::kDsdt, "DSDT", dsdt()},
      {fw_addr::kMadt, "APIC", madt()},
      {fw_addr::kHpet, "HPET", hpetTable()},
      {fw_addr::kSmbiosEntry, "SMBIOS-EP", smbiosEntry(table, structs.size(), max_struct)},
      {fw_addr::kSmbiosTable, "SMBIOS", table},
  };
}

void installFirmware(PhysMemory& ram) {
  // The BIOS area: zero, as ROM shadow the OS may scan (no stale bytes that look like tables).
  ram.fill(kBiosAreaAddr, 0, 0x100000 - kBiosAreaAddr);
  for (const FirmwareBlob& t : firmwareTables(ram.size())) ram.copyIn(t.addr, t.bytes.data(), t.bytes.size());

  // BIOS data area (segment 0x40): COM1 only, the EBDA's segment, the equipment word and the
  // conventional memory size that ends where the EBDA starts.
  ram.fill(0x400, 0, 0x100);
  auto put16 = [&ram](uint32_t at, uint16_t v) { ram.write8(at, uint8_t(v)); ram.write8(at + 1, uint8_t(v >> 8)); };
  put16(0x400, 0x3f8);
  put16(0x40e, uint16_t(kEbdaAddr >> 4));
  // Equipment: x87 present (bit 1), PS/2 mouse (bit 2), 80x25 colour video (bits 4-5 = 10b),
  // one serial port (bits 9-11).
  put16(0x410, 0x0002 | 0x0004 | 0x0020 | (1u << 9));
  put16(0x413, uint16_t(kEbdaAddr >> 10));
  // The EBDA: its first byte is its size in KiB.
  ram.fill(kEbdaAddr, 0, 0x400);
  ram.write8(kEbdaAddr, 1);
}

}  // namespace btvm
