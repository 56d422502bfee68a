// What a PC BIOS leaves in memory for the operating system, written by every loader before the
// kernel runs: the BIOS data area, the EBDA, ACPI 1.0 tables (RSDP, RSDT, FADT, FACS, DSDT, MADT, HPET) and
// SMBIOS 2.8 tables. btvm runs no BIOS code, so these tables are the firmware as far as a kernel
// can tell. Their addresses lie in the BIOS area that pcMemoryMap() reports reserved.
#pragma once
#include <cstdint>
#include <vector>

#include "emu/devices/acpi_pm.h"
#include "mmu/phys_memory.h"

namespace btvm {


// Where the tables go (all inside [kBiosAreaAddr, 1 MiB)). The RSDP and the SMBIOS entry point
// must lie in E0000-FFFFF on a 16-byte boundary, where Linux and other OSes scan for them.
namespace fw_addr {
constexpr uint32_t kRsdt = 0xe0000, kFadt = 0xe0040, kFacs = 0xe0100, kDsdt = 0xe0140, kMadt = 0xe0800,
                   kHpet = 0xe0900;
constexpr uint32_t kSmbiosTable = 0xe1000;
constexpr uint32_t kRsdp = 0xf0000, kSmbiosEntry = 0xf0020;
}  // namespace fw_addr

// Writes all of it. `ram.size()` is the RAM reported in the BDA and SMBIOS.
void installFirmware(PhysMemory& ram);

// The tables as bytes, for tests and for the CLI's table dump; each starts at its address.
struct FirmwareBlob {
  uint32_t addr;
  const char* name;  // "RSDP", "RSDT", "FACP", "FACS", "DSDT", "APIC", "HPET", "SMBIOS-EP", "SMBIOS"
  std::vector<uint8_t> bytes;
};
std::vector<FirmwareBlob> firmwareTables(uint64_t ram_bytes);

// Sum of bytes mod 256 (ACPI and SMBIOS checksums make it 0).
uint8_t byteSum(const uint8_t* p, size_t n);

}  // namespace btvm
