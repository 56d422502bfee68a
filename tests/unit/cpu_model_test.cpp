// The CPU model: CPUID as a Pentium II answers it, MSRs that keep what is written.
#include <doctest/doctest.h>

#include "emu/cpu/cpu_model.h"

using namespace btvm;

TEST_CASE("cpu model: CPUID is a Pentium II with exactly btvm's features") {
  CpuModel m;
  CpuidResult v = m.cpuid(0);
  CHECK(v.eax == 2);
  CHECK(v.ebx == 0x756e6547);  // "Genu" "ineI" "ntel"
  CHECK(v.edx == 0x49656e69);
  CHECK(v.ecx == 0x6c65746e);
  CpuidResult f = m.cpuid(1);
  CHECK(f.eax == 0x652);
  using namespace cpuid_bit;
  for (uint32_t bit : {kFpu, kPse, kTsc, kMsr, kPae, kMce, kCx8, kSep, kMtrr, kPge, kMca, kCmov})
    CHECK((f.edx & bit) != 0);
  CHECK((f.edx & (1u << 9)) == 0);   // no APIC
  CHECK((f.edx & (1u << 23)) == 0);  // no MMX
  CHECK((f.edx & (1u << 24)) == 0);  // no FXSR
  CHECK(f.ecx == kHypervisor);
  // Beyond the highest leaf (extended leaves included) a P6 repeats the highest basic leaf.
  CpuidResult top = m.cpuid(2);
  for (uint32_t leaf : {3u, 0x40000000u, 0x80000000u, 0x80000001u}) {
    CpuidResult r = m.cpuid(leaf);
    CHECK(r.eax == top.eax);
    CHECK(r.edx == top.edx);
  }
  CHECK((m.cpuid(0x80000000u).eax & 0xffff0000u) != 0x80000000u);  // so Linux sees no extended leaves
}

TEST_CASE("cpu model: MSRs keep what is written; unknown ones and read-only writes refuse") {
  CpuModel m;
  uint64_t v = 0;
  CHECK(m.rdmsr(0x1b, 0, &v));
  CHECK(v == 0xfee00100);
  CHECK(m.wrmsr(0x200, 0, 0x12345006));
  CHECK(m.rdmsr(0x200, 0, &v));
  CHECK(v == 0x12345006);
  CHECK(m.wrmsr(0x176, 0, 0xc0001000));      // SYSENTER_EIP (SEP)
  CHECK(m.rdmsr(0x176, 0, &v));
  CHECK(v == 0xc0001000);
  CHECK_FALSE(m.rdmsr(0xc0000080u, 0, &v));  // EFER: not a P6 register
  CHECK_FALSE(m.wrmsr(0xfe, 0, 0));          // MTRRcap is read-only
  CHECK(m.rdmsr(0x179, 0, &v));
  CHECK(v == 0x105);                         // MCG_CTL_P, five banks
  CHECK(m.wrmsr(0x401, 0, 0));               // MC0_STATUS: clearing is allowed
  CHECK_FALSE(m.wrmsr(0x401, 0, 1));         // ... other values #GP
  CHECK_FALSE(m.rdmsr(0x400 + 4 * 5, 0, &v));  // no sixth bank
}

TEST_CASE("cpu model: a TSC write sets the low 32 bits and clears the high half") {
  CpuModel m;
  uint64_t v = 0;
  CHECK(m.wrmsr(0x10, 1000, 0xabcdef0012345678ull));
  CHECK(m.rdmsr(0x10, 1000, &v));
  CHECK(v == 0x12345678);
  CHECK(m.rdmsr(0x10, 1500, &v));
  CHECK(v == 0x12345678 + 500);
  CHECK(m.tsc(2000) == 0x12345678 + 1000);
}

TEST_CASE("cpu model: CR4 takes the bits of the advertised features only") {
  CpuModel m;
  uint32_t mask = m.cr4WritableMask();
  CHECK((mask & 0xfc) == 0xfc);  // TSD, DE, PSE, PAE, MCE, PGE
  CHECK((mask & 0x3) == 0x3);    // VME, PVI (a Pentium II has the virtual-mode extensions)
  CHECK((mask & ~0xffu) == 0);   // no PCE, OSFXSR, OSXMMEXCPT
}
