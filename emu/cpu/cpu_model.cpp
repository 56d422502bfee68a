#include "emu/cpu/cpu_model.h"

namespace btvm {

namespace {

constexpr uint32_t kSignature = 0x652;  // family 6, model 5 (Deschutes), stepping 2: QEMU's pentium2
constexpr uint32_t kMaxBasicLeaf = 2;

constexpr uint32_t kMcBanks = 5;      // a P6 has five machine-check banks

namespace msr {
constexpr uint32_t kTsc = 0x10, kPlatformId = 0x17, kApicBase = 0x1b, kEblCrPoweron = 0x2a, kBiosUpdtTrig = 0x79,
                   kBiosSignId = 0x8b, kMtrrCap = 0xfe, kSysenterCs = 0x174, kMcgCap = 0x179, kMcgStatus = 0x17a, kMcgCtl = 0x17b, kMiscEnable = 0x1a0,
                   kMtrrPhysBase0 = 0x200, kMtrrFix64k = 0x250, kMtrrFix16k = 0x258, kMtrrFix4k = 0x268,
                   kMtrrDefType = 0x2ff, kMc0Ctl = 0x400;
}  // namespace msr

// MCi_CTL, MCi_STATUS, MCi_ADDR, MCi_MISC, four MSRs a bank from MC0_CTL.
bool mcStatus(uint32_t index) { return index >= msr::kMc0Ctl && index < msr::kMc0Ctl + 4 * kMcBanks && index % 4 == 1; }

// Read-only MSRs: a write raises #GP(0) as on hardware.
bool readOnly(uint32_t index) { return index == msr::kMtrrCap || index == msr::kMcgCap || index == msr::kPlatformId; }

// Machine-check status registers take only zero (clearing a logged error); other values #GP on a P6.
bool writeAllowed(uint32_t index, uint64_t value) { return !readOnly(index) && (!mcStatus(index) || value == 0); }

}  // namespace

CpuModel::CpuModel() {
  msrs_[msr::kPlatformId] = 0;
  msrs_[msr::kApicBase] = 0xfee00100;  // BSP, not enabled: CPUID has no APIC bit
  msrs_[msr::kEblCrPoweron] = 0;
  msrs_[msr::kBiosUpdtTrig] = 0;
  msrs_[msr::kBiosSignId] = 0;         // no microcode loaded
  msrs_[msr::kMtrrCap] = 0x508;        // 8 variable ranges, fixed ranges, write-combining
  msrs_[msr::kMcgCap] = 0x100 | kMcBanks;  // MCG_CTL present, five banks; no error is ever logged
  msrs_[msr::kMcgStatus] = 0;
  msrs_[msr::kMcgCtl] = 0;
  for (uint32_t i = 0; i < 4 * kMcBanks; ++i) msrs_[msr::kMc0Ctl + i] = 0;
  msrs_[msr::kMiscEnable] = 0x1801;
  for (uint32_t i = 0; i < 3; ++i) msrs_[msr::kSysenterCs + i] = 0;    // fast strings; BTS and PEBS unavailable (QEMU's default)
  for (uint32_t i = 0; i < 16; ++i) msrs_[msr::kMtrrPhysBase0 + i] = 0;
  // MTRRs as SeaBIOS leaves them: write-back by default, the legacy VGA window uncached, the
  // BIOS area write-protected, the top GiB (PCI and firmware) uncached.
  msrs_[msr::kMtrrFix64k] = 0x0606060606060606ull;
  msrs_[msr::kMtrrFix16k] = 0x0606060606060606ull;
  msrs_[msr::kMtrrFix16k + 1] = 0;
  for (uint32_t i = 0; i < 8; ++i) msrs_[msr::kMtrrFix4k + i] = 0x0505050505050505ull;
  msrs_[msr::kMtrrPhysBase0] = 0xc0000000ull;           // type UC
  msrs_[msr::kMtrrPhysBase0 + 1] = 0xfc0000800ull;      // 1 GiB, valid (36-bit addresses)
  msrs_[msr::kMtrrDefType] = 0xc06;                      // enabled, fixed enabled, WB
}

uint32_t CpuModel::signature() const { return kSignature; }

uint32_t CpuModel::features() const {
  using namespace cpuid_bit;
  uint32_t apic = advertise_apic && apic_base_read && (apic_base_read() & (1u << 11)) ? kApic : 0;
  return kFpu | kVme | kPse | kTsc | kMsr | kPae | kMce | kCx8 | apic | kSep | kMtrr | kPge | kMca | kCmov;
}

uint32_t CpuModel::cr4WritableMask() const {
  constexpr uint32_t kVmePvi = 3u << 0, kTsd = 1u << 2, kDe = 1u << 3, kPse = 1u << 4, kPae = 1u << 5, kMce = 1u << 6, kPge = 1u << 7;
  uint32_t f = features(), m = kTsd | kDe;  // DR4/DR5 aliasing follows CR4.DE on every P6
  if (f & cpuid_bit::kVme) m |= kVmePvi;  // CPUID's VME covers both (SDM 2.5)
  if (f & cpuid_bit::kPse) m |= kPse;
  if (f & cpuid_bit::kPae) m |= kPae;
  if (f & cpuid_bit::kMce) m |= kMce;
  if (f & cpuid_bit::kPge) m |= kPge;
  return m;
}

CpuidResult CpuModel::cpuid(uint32_t leaf) const {
  // A P6 answers a leaf beyond its highest with the highest basic leaf (extended leaves included).
  if (leaf > kMaxBasicLeaf) leaf = kMaxBasicLeaf;
  switch (leaf) {
    case 0: return {kMaxBasicLeaf, 0x756e6547, 0x6c65746e, 0x49656e69};  // "GenuineIntel"
    case 1: return {kSignature, 0, cpuid_bit::kHypervisor, features()};
    default: return {0x03020101, 0, 0, 0x0c040843};  // a Pentium II's cache and TLB descriptors
  }
}

bool CpuModel::rdmsr(uint32_t index, uint64_t now, uint64_t* value) const {
  if (index == msr::kTsc) {
    *value = tsc(now);
    return true;
  }
  if (index == msr::kApicBase && apic_base_read) {
    *value = apic_base_read();
    return true;
  }
  auto it = msrs_.find(index);
  if (it == msrs_.end()) return false;
  *value = it->second;
  return true;
}

bool CpuModel::wrmsr(uint32_t index, uint64_t now, uint64_t value) {
  if (index == msr::kTsc) {
    // A P6 writes only the low 32 bits and clears the high half.
    tsc_offset_ = (value & 0xffffffffull) - now;
    return true;
  }
  if (index == msr::kApicBase && apic_base_write) return apic_base_write(value);
  auto it = msrs_.find(index);
  if (it == msrs_.end() || !writeAllowed(index, value)) return false;
  it->second = value;
  return true;
}

}  // namespace btvm
