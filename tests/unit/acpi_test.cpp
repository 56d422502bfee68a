// The ACPI PM registers (PM timer rate, PM1 status/enable and the SCI, S5 power-off) and the
// firmware tables (checksums, the RSDP -> RSDT -> FADT -> DSDT chain, \_S5, SMBIOS, BDA).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "emu/boot/firmware.h"
#include "emu/boot/memory_map.h"
#include "emu/devices/acpi_pm.h"
#include "emu/devices/pic8259.h"

using namespace btvm;

namespace {

struct PmBench {
  uint64_t now = 0;
  Pic8259 pic;
  int power_offs = 0;
  AcpiPm pm{[this] { return now; }, pic, [this] { ++power_offs; }};
  IoBus bus;
  PmBench() { pm.attach(bus, acpi_io::kPmBase); }
  uint32_t in(uint16_t port, unsigned size) {
    uint32_t v;
    bus.read(port, size, &v);
    return v;
  }
  void out(uint16_t port, unsigned size, uint32_t v) { bus.write(port, size, v); }
  bool sci() const { return const_cast<Pic8259&>(pic).slave().level & (1u << (acpi_io::kSciIrq - 8)); }
};

uint32_t rd32(const std::vector<uint8_t>& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

}  // namespace

TEST_CASE("PM timer counts 3.579545 MHz of virtual time, 24 bits, read at 0x608") {
  PmBench b;
  CHECK(b.in(acpi_io::kPmTmr, 4) == 0);
  b.now = 1000000000;  // one second
  CHECK(b.in(acpi_io::kPmTmr, 4) == 3579545);
  b.now = 1000;  // 1 us: 3.58 ticks
  CHECK(b.in(acpi_io::kPmTmr, 4) == 3);
  // Wraps at 2^24 ticks (4.687 s).
  b.now = 5000000000ull;
  CHECK(b.in(acpi_io::kPmTmr, 4) == (uint32_t(5 * 3579545ull) & 0xffffff));
  CHECK((b.in(acpi_io::kPmTmr, 4) >> 24) == 0);
  // Byte reads see the same count.
  b.now = 123456789;
  uint32_t whole = b.in(acpi_io::kPmTmr, 4);
  uint32_t bytes = b.in(acpi_io::kPmTmr, 1) | (b.in(acpi_io::kPmTmr + 1, 1) << 8) | (b.in(acpi_io::kPmTmr + 2, 1) << 16);
  CHECK(whole == bytes);
  CHECK(whole == 441919);  // 0.123456789 s * 3579545 Hz
}

TEST_CASE("PM1 control reads SCI_EN=1; SLP_EN with SLP_TYP=S5 powers off, other types do not") {
  PmBench b;
  CHECK((b.in(acpi_io::kPm1aCnt, 2) & AcpiPm::kSciEn) == AcpiPm::kSciEn);
  b.out(acpi_io::kPm1aCnt, 2, acpi_io::kSlpTypS5 << 10);  // SLP_TYP alone: nothing yet
  CHECK(b.power_offs == 0);
  b.out(acpi_io::kPm1aCnt, 2, (1u << 10) | AcpiPm::kSlpEn);  // S1-type: not offered, ignored
  CHECK(b.power_offs == 0);
  CHECK((b.in(acpi_io::kPm1aCnt, 2) & AcpiPm::kSlpEn) == 0);  // SLP_EN reads 0
  b.out(acpi_io::kPm1aCnt, 2, (acpi_io::kSlpTypS5 << 10) | AcpiPm::kSlpEn);
  CHECK(b.power_offs == 1);
}

TEST_CASE("PM1 TMR_STS sets when timer bit 23 flips; W1C; TMR_EN raises the SCI on IRQ 9") {
  PmBench b;
  CHECK((b.in(acpi_io::kPm1aEvt, 2) & AcpiPm::kTmr) == 0);
  uint64_t flip = b.pm.nextIrqNs();
  CHECK(flip == AcpiPm::kNever);  // TMR_EN off
  b.out(acpi_io::kPm1aEvt + 2, 2, AcpiPm::kTmr);
  CHECK(b.in(acpi_io::kPm1aEvt + 2, 2) == AcpiPm::kTmr);
  flip = b.pm.nextIrqNs();
  CHECK(flip == 2343484438ull);  // ceil(2^23 / 3.579545 MHz) in ns
  b.now = flip - 1;
  b.pm.update(b.now);
  CHECK(!b.sci());
  CHECK((b.in(acpi_io::kPm1aEvt, 2) & AcpiPm::kTmr) == 0);
  b.now = flip;
  b.pm.update(b.now);
  CHECK(b.sci());
  CHECK((b.in(acpi_io::kPm1aEvt, 2) & AcpiPm::kTmr) == AcpiPm::kTmr);
  b.out(acpi_io::kPm1aEvt, 2, AcpiPm::kTmr);  // write 1 to clear
  CHECK(!b.sci());
  CHECK((b.in(acpi_io::kPm1aEvt, 2) & AcpiPm::kTmr) == 0);
  // A power-button event with PWRBTN_EN raises the SCI too; writing 0 does not clear it.
  b.out(acpi_io::kPm1aEvt + 2, 2, AcpiPm::kPwrBtn);
  b.pm.raiseEvent(AcpiPm::kPwrBtn);
  CHECK(b.sci());
  b.out(acpi_io::kPm1aEvt, 2, 0);
  CHECK(b.sci());
  b.out(acpi_io::kPm1aEvt, 2, AcpiPm::kPwrBtn);
  CHECK(!b.sci());
}

TEST_CASE("firmware tables: checksums, RSDP -> RSDT -> FADT -> FACS/DSDT, \\_S5, in the reserved BIOS area") {
  std::vector<FirmwareBlob> t = firmwareTables(128ull << 20);
  auto find = [&](const char* n) -> const FirmwareBlob& {
    for (const FirmwareBlob& b : t)
      if (std::strcmp(b.name, n) == 0) return b;
    FAIL("no table " << n);
    return t[0];
  };
  const FirmwareBlob& rsdp = find("RSDP");
  CHECK(rsdp.addr >= 0xe0000);
  CHECK(rsdp.addr % 16 == 0);
  CHECK(std::memcmp(rsdp.bytes.data(), "RSD PTR ", 8) == 0);
  CHECK(byteSum(rsdp.bytes.data(), 20) == 0);
  CHECK(rd32(rsdp.bytes, 16) == find("RSDT").addr);
  for (const char* n : {"RSDT", "FACP", "DSDT"}) {
    const FirmwareBlob& b = find(n);
    CAPTURE(n);
    CHECK(std::memcmp(b.bytes.data(), n, 4) == 0);
    CHECK(rd32(b.bytes, 4) == b.bytes.size());
    CHECK(byteSum(b.bytes.data(), b.bytes.size()) == 0);
  }
  const FirmwareBlob& fadt = find("FACP");
  CHECK(rd32(find("RSDT").bytes, 36) == fadt.addr);
  CHECK(fadt.bytes.size() == 116);  // ACPI 1.0 FADT
  CHECK(rd32(fadt.bytes, 36) == find("FACS").addr);
  CHECK(find("FACS").addr % 64 == 0);
  CHECK(rd32(fadt.bytes, 40) == find("DSDT").addr);
  CHECK((fadt.bytes[46] | fadt.bytes[47] << 8) == 9);  // SCI_INT
  CHECK(rd32(fadt.bytes, 48) == 0);                    // SMI_CMD: always in ACPI mode
  CHECK(rd32(fadt.bytes, 56) == 0x600);
  CHECK(rd32(fadt.bytes, 64) == 0x604);
  CHECK(rd32(fadt.bytes, 76) == 0x608);
  CHECK(fadt.bytes[91] == 4);  // PM_TMR_LEN
  const std::vector<uint8_t>& dsdt = find("DSDT").bytes;
  const uint8_t s5[] = {0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
  CHECK(std::search(dsdt.begin(), dsdt.end(), std::begin(s5), std::end(s5)) != dsdt.end());
  // Devices an OS enumerates: the PCI root bridge, the i8042's two ports, the RTC (EisaId bytes).
  for (uint32_t id : {0x030ad041u, 0x0303d041u, 0x130fd041u, 0x000bd041u}) {
    const uint8_t eisa[] = {0x0c, uint8_t(id), uint8_t(id >> 8), uint8_t(id >> 16), uint8_t(id >> 24)};
    CAPTURE(id);
    CHECK(std::search(dsdt.begin(), dsdt.end(), std::begin(eisa), std::end(eisa)) != dsdt.end());
  }
  // Everything sits in E820-reserved memory.
  for (const FirmwareBlob& b : t) {
    bool reserved = false;
    for (const E820Entry& e : pcMemoryMap(128ull << 20))
      reserved |= e.type == e820::kReserved && b.addr >= e.addr && b.addr + b.bytes.size() <= e.addr + e.len;
    CAPTURE(b.name);
    CHECK(reserved);
  }
}

TEST_CASE("SMBIOS entry point checksums and a well-formed structure table ending in type 127") {
  std::vector<FirmwareBlob> t = firmwareTables(64ull << 20);
  const FirmwareBlob *ep = nullptr, *table = nullptr;
  for (const FirmwareBlob& b : t) {
    if (std::strcmp(b.name, "SMBIOS-EP") == 0) ep = &b;
    if (std::strcmp(b.name, "SMBIOS") == 0) table = &b;
  }
  REQUIRE(ep);
  REQUIRE(table);
  CHECK(ep->addr >= 0xf0000);
  CHECK(ep->addr % 16 == 0);
  CHECK(std::memcmp(ep->bytes.data(), "_SM_", 4) == 0);
  CHECK(byteSum(ep->bytes.data(), ep->bytes[5]) == 0);
  CHECK(std::memcmp(ep->bytes.data() + 0x10, "_DMI_", 5) == 0);
  CHECK(byteSum(ep->bytes.data() + 0x10, 15) == 0);
  CHECK((ep->bytes[0x16] | ep->bytes[0x17] << 8) == table->bytes.size());
  CHECK(rd32(ep->bytes, 0x18) == table->addr);
  // Walk: each structure's formatted length, then strings up to a double NUL.
  std::vector<int> types;
  size_t at = 0;
  while (at + 4 <= table->bytes.size()) {
    types.push_back(table->bytes[at]);
    size_t s = at + table->bytes[at + 1];
    while (s + 1 < table->bytes.size() && !(table->bytes[s] == 0 && table->bytes[s + 1] == 0)) ++s;
    at = s + 2;
  }
  CHECK(at == table->bytes.size());
  CHECK(types == std::vector<int>{0, 1, 3, 4, 16, 17, 19, 32, 127});
  CHECK(int(ep->bytes[0x1c] | ep->bytes[0x1d] << 8) == int(types.size()));
}

TEST_CASE("installFirmware: BIOS data area and EBDA") {
  PhysMemory ram(4ull << 20);
  installFirmware(ram);
  CHECK((ram.read8(0x400) | ram.read8(0x401) << 8) == 0x3f8);
  CHECK((ram.read8(0x40e) | ram.read8(0x40f) << 8) == kEbdaAddr >> 4);
  CHECK((ram.read8(0x413) | ram.read8(0x414) << 8) == 639);
  CHECK(ram.read8(kEbdaAddr) == 1);
  CHECK(std::memcmp(ram.host(fw_addr::kRsdp), "RSD PTR ", 8) == 0);
}
