// ACPI 1.0 tables, as QEMU's pc machine gives them where it matters to an OS (FADT revision 1,
// the PIIX4 PM block, the devices of the DSDT), with btvm's names in the OEM fields.
#include <algorithm>

#include "emu/boot/aml.h"
#include "emu/boot/table_writer.h"

namespace btvm {

namespace {

// The 36-byte header every ACPI table but the RSDP and FACS starts with. The OEM fields name
// btvm; Linux prints them in its "ACPI: FACP ..." lines.
TableWriter acpiHeader(const char* sig, uint8_t revision) {
  TableWriter t;
  t.str(sig, 4).u32(0).u8(revision).u8(0).str("BTVM", 6).str("BTVMPC", 8).u32(1).str("BTVM", 4).u32(1);
  return t;
}

std::vector<uint8_t> finishAcpi(TableWriter t) {
  t.put32(4, uint32_t(t.b.size()));
  t.checksum(9, 0, t.b.size());
  return t.b;
}

// The DSDT's AML, in the ASL it encodes:
//   Scope (\_SB) {
//     Device (PCI0) { Name (_HID, EisaId ("PNP0A03"))  Name (_ADR, 0)  Name (_UID, 0)
//                     Name (_CRS, ResourceTemplate () { WordBusNumber 0-ff, IO (Decode16, 0xcf8, 0xcf8, 1, 8),
//                       WordIO 0-cf7, WordIO d00-ffff, DWordMemory a0000-bffff (VGA window),
//                       DWordMemory RAM top-febfffff }) }
//     Device (KBD) { Name (_HID, EisaId ("PNP0303"))  Name (_CRS, ResourceTemplate () {
//                      IO (Decode16, 0x60, 0x60, 1, 1)  IO (Decode16, 0x64, 0x64, 1, 1)  IRQNoFlags () {1} }) }
//     Device (MOU) { Name (_HID, EisaId ("PNP0F13"))  Name (_CRS, ResourceTemplate () { IRQNoFlags () {12} }) }
//     Device (RTC) { Name (_HID, EisaId ("PNP0B00"))  Name (_CRS, ResourceTemplate () {
//                      IO (Decode16, 0x70, 0x70, 0x10, 8)  IRQNoFlags () {8} }) }
//     Device (COM1) { Name (_HID, EisaId ("PNP0501"))  Name (_UID, 1)  Name (_CRS, ResourceTemplate () {
//                      IO (Decode16, 0x3f8, 0x3f8, 0, 8)  IRQNoFlags () {4} }) }
//   }
//   Name (\_S5, Package (4) { 0, 0, 0, 0 })
// The devices are QEMU's (it nests the PNP ones under \_SB.PCI0.ISA), so the OS finds the PCI
// root bridge, the i8042, the RTC and COM1 through ACPI as it does there; with ACPI on, Linux scans
// PCI only below a PNP0A03 device. The bridge windows are QEMU's for a machine below 3.5 GiB. \_S5 gives SLP_TYP for PM1a and PM1b; the OS writes it
// to PM1a_CNT with SLP_EN to power off. Only S5 is offered: btvm has no suspend.
aml::Bytes dsdtAml(uint64_t ram_bytes) {
  using namespace aml;
  uint32_t pci_mem_lo = uint32_t(std::min<uint64_t>(ram_bytes, 0xe0000000u));
  return join({
      scope("\\_SB_",
            {device("PCI0", {nameDecl("_HID", eisaId("PNP0A03")), nameDecl("_ADR", integer(0)),
                             nameDecl("_UID", integer(0)),
                             nameDecl("_CRS", resourceTemplate({wordBusNumber(0x00, 0xff), io16(0xcf8, 0xcf8, 1, 8),
                                                                wordIo(0x0000, 0x0cf7), wordIo(0x0d00, 0xffff),
                                                                dwordMemory(0x000a0000, 0x000bffff, true),
                                                                dwordMemory(pci_mem_lo, 0xfebfffff, false)}))}),
             device("KBD_", {nameDecl("_HID", eisaId("PNP0303")),
                             nameDecl("_CRS", resourceTemplate({io16(0x60, 0x60, 1, 1), io16(0x64, 0x64, 1, 1),
                                                                irqNoFlags(1)}))}),
             device("MOU_", {nameDecl("_HID", eisaId("PNP0F13")), nameDecl("_CRS", resourceTemplate({irqNoFlags(12)}))}),
             device("RTC_", {nameDecl("_HID", eisaId("PNP0B00")),
                             nameDecl("_CRS", resourceTemplate({io16(0x70, 0x70, 0x10, 8), irqNoFlags(8)}))}),
             device("COM1", {nameDecl("_HID", eisaId("PNP0501")), nameDecl("_UID", integer(1)),
                             nameDecl("_CRS", resourceTemplate({io16(0x3f8, 0x3f8, 0, 8), irqNoFlags(4)}))})}),
      nameDecl("\\_S5_", package({integer(acpi_io::kSlpTypS5), integer(acpi_io::kSlpTypS5), integer(0), integer(0)})),
  });
}

std::vector<uint8_t> rsdp() {
  TableWriter t;
  t.str("RSD PTR ", 8).u8(0).str("BTVM", 6).u8(0 /* ACPI 1.0 */).u32(fw_addr::kRsdt);
  t.checksum(8, 0, 20);
  return t.b;
}

std::vector<uint8_t> rsdt() {
  TableWriter t = acpiHeader("RSDT", 1);
  t.u32(fw_addr::kFadt);  // no MADT: btvm has no local APIC yet
  return finishAcpi(t);
}

// FADT revision 1 (ACPI 1.0, 116 bytes), as QEMU's pc machine gives it, with the PIIX4 PM I/O
// block at 0x600. SMI_CMD is 0: the machine is always in ACPI mode (PM1_CNT.SCI_EN reads 1), so
// the OS has no ACPI enable handshake to make.
std::vector<uint8_t> fadt() {
  TableWriter t = acpiHeader("FACP", 1);
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
  TableWriter t;
  t.str("FACS", 4).u32(64).u32(0 /* hardware signature */).u32(0 /* waking vector */).u32(0).u32(0);
  t.b.resize(64, 0);
  return t.b;
}

std::vector<uint8_t> dsdt(uint64_t ram_bytes) {
  TableWriter t = acpiHeader("DSDT", 1);
  aml::Bytes body = dsdtAml(ram_bytes);
  t.b.insert(t.b.end(), body.begin(), body.end());
  return finishAcpi(t);
}

}  // namespace

std::vector<FirmwareBlob> acpiTables(uint64_t ram_bytes) {
  return {
      {fw_addr::kRsdp, "RSDP", rsdp()},
      {fw_addr::kRsdt, "RSDT", rsdt()},
      {fw_addr::kFadt, "FACP", fadt()},
      {fw_addr::kFacs, "FACS", facs()},
      {fw_addr::kDsdt, "DSDT", dsdt(ram_bytes)},
  };
}

}  // namespace btvm
