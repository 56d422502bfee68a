// Internal to the firmware writers (firmware.cpp, acpi_tables.cpp, smbios.cpp): a byte writer
// for little-endian tables with checksums, and the two table sets firmwareTables() joins.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "emu/boot/firmware.h"

namespace btvm {

// A little-endian byte writer for building tables.
struct TableWriter {
  std::vector<uint8_t> b;
  TableWriter& u8(uint32_t v) { b.push_back(uint8_t(v)); return *this; }
  TableWriter& u16(uint32_t v) { return u8(v).u8(v >> 8); }
  TableWriter& u32(uint32_t v) { return u16(v).u16(v >> 16); }
  TableWriter& str(const char* s, size_t n) {  // fixed-width field, space padded
    size_t len = std::strlen(s);
    for (size_t i = 0; i < n; ++i) u8(i < len ? uint8_t(s[i]) : ' ');
    return *this;
  }
  void put16(size_t at, uint32_t v) { b[at] = uint8_t(v); b[at + 1] = uint8_t(v >> 8); }
  void put32(size_t at, uint32_t v) { put16(at, v); put16(at + 2, v >> 16); }
  // Makes the bytes [from, to) sum to zero by setting the byte at `at`.
  void checksum(size_t at, size_t from, size_t to) {
    b[at] = 0;
    b[at] = uint8_t(-byteSum(b.data() + from, to - from));
  }
};

// RSDP, RSDT, FADT, FACS and DSDT at their fw_addr addresses.
std::vector<FirmwareBlob> acpiTables(uint64_t ram_bytes);
// The SMBIOS 2.x entry point and structure table.
std::vector<FirmwareBlob> smbiosTables(uint64_t ram_bytes);

}  // namespace btvm
