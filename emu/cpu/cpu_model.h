// The CPU btvm presents: a Pentium II (P6 family 6, model 5) with exactly the features btvm
// implements. CPUID answers and the model-specific registers live here; the helpers for CPUID,
// RDMSR, WRMSR and RDTSC only move values between this and the guest's registers.
#pragma once
#include <cstdint>
#include <functional>
#include <map>

namespace btvm {

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};

namespace cpuid_bit {  // CPUID.1:EDX
constexpr uint32_t kFpu = 1u << 0, kVme = 1u << 1, kDe = 1u << 2, kPse = 1u << 3, kTsc = 1u << 4, kMsr = 1u << 5, kPae = 1u << 6,
                   kMce = 1u << 7, kCx8 = 1u << 8, kApic = 1u << 9, kMtrr = 1u << 12, kPge = 1u << 13, kSep = 1u << 11, kMca = 1u << 14,
                   kCmov = 1u << 15, kPse36 = 1u << 17;
constexpr uint32_t kHypervisor = 1u << 31;  // CPUID.1:ECX, as QEMU sets it
}  // namespace cpuid_bit

class CpuModel {
 public:
  CpuModel();
  CpuidResult cpuid(uint32_t leaf) const;
  // `now` is the virtual TSC before any offset. False: no such MSR (the caller raises #GP(0)).
  bool rdmsr(uint32_t index, uint64_t now, uint64_t* value) const;
  bool wrmsr(uint32_t index, uint64_t now, uint64_t value);
  uint64_t tsc(uint64_t now) const { return now + tsc_offset_; }
  uint32_t features() const;  // CPUID.1:EDX
  uint32_t signature() const; // CPUID.1:EAX, also EDX after RESET
  // The CR4 bits a MOV to CR4 may set: those of the features the model has (others #GP).
  uint32_t cr4WritableMask() const;

  // The local APIC owns IA32_APIC_BASE when the board has one: `read` gives the MSR, `write`
  // returns false for a value to refuse with #GP. CPUID.1:EDX.APIC then follows the MSR's
  // global enable bit (SDM 11.4.3). Without them the MSR is a plain one reading 0xfee00100.
  std::function<uint64_t()> apic_base_read;
  std::function<bool(uint64_t)> apic_base_write;
  bool advertise_apic = true;  // false: CPUID hides the APIC even while it is enabled

 private:
  std::map<uint32_t, uint64_t> msrs_;  // every MSR the model has that keeps what is written
  uint64_t tsc_offset_ = 0;
};

}  // namespace btvm
