// SMBIOS 2.8 (DMTF DSP0134): the entry point an OS finds in F0000-FFFFF and the structures it
// reads for its DMI line and memory description.
#include <algorithm>
#include <string>

#include "emu/boot/table_writer.h"

namespace btvm {

namespace {

// One SMBIOS structure: the formatted area, then its strings (numbered from 1), then a double NUL.
struct SmbiosStruct {
  TableWriter formatted;
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
  // The date is SeaBIOS's as QEMU ships it: Linux keys quirks on the BIOS year (ACPI before
  // 2001 is blacklisted, PCI _CRS before 2008 ignored, E820 clipping of bridge windows from 2023
  // off), so the same year takes the same paths as under QEMU.
  bios.strings = {"btvm", "0.1.0", "04/01/2014"};
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
  TableWriter t;
  t.str("_SM_", 4).u8(0).u8(0x1f).u8(2).u8(8).u16(uint32_t(max_struct)).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0);
  t.str("_DMI_", 5).u8(0).u16(uint32_t(table.size())).u32(fw_addr::kSmbiosTable).u16(uint32_t(count)).u8(0x28);
  t.checksum(0x15, 0x10, 0x1f);  // intermediate checksum over the "_DMI_" part
  t.checksum(4, 0, 0x1f);
  return t.b;
}

}  // namespace

std::vector<FirmwareBlob> smbiosTables(uint64_t ram_bytes) {
  std::vector<uint8_t> table;
  size_t max_struct = 0;
  std::vector<SmbiosStruct> structs = smbiosStructs(ram_bytes);
  for (const SmbiosStruct& s : structs) {
    size_t before = table.size();
    s.appendTo(table);
    max_struct = std::max(max_struct, table.size() - before);
  }
  return {
      {fw_addr::kSmbiosEntry, "SMBIOS-EP", smbiosEntry(table, structs.size(), max_struct)},
      {fw_addr::kSmbiosTable, "SMBIOS", table},
  };
}

}  // namespace btvm
