// The firmware as a whole: the tables of acpi_tables.cpp and smbios.cpp put in place, and the
// BIOS data area and EBDA.
#include "emu/boot/firmware.h"

#include "emu/boot/memory_map.h"
#include "emu/boot/table_writer.h"

namespace btvm {

uint8_t byteSum(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i) s = uint8_t(s + p[i]);
  return s;
}

std::vector<FirmwareBlob> firmwareTables(uint64_t ram_bytes) {
  std::vector<FirmwareBlob> all = acpiTables(ram_bytes);
  for (FirmwareBlob& b : smbiosTables(ram_bytes)) all.push_back(std::move(b));
  return all;
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
