#include "dbt/operands.h"

#include <array>
#include <cstring>

#include "dbt/host_regs.h"

namespace btvm {

using namespace asmjit;

int gprIndex(x86_reg r) {
  switch (r) {
    case X86_REG_EAX: case X86_REG_AX: return 0;
    case X86_REG_ECX: case X86_REG_CX: return 1;
    case X86_REG_EDX: case X86_REG_DX: return 2;
    case X86_REG_EBX: case X86_REG_BX: return 3;
    case X86_REG_ESP: case X86_REG_SP: return 4;
    case X86_REG_EBP: case X86_REG_BP: return 5;
    case X86_REG_ESI: case X86_REG_SI: return 6;
    case X86_REG_EDI: case X86_REG_DI: return 7;
    default: return -1;
  }
}

int regNumber(x86_reg r) {
  switch (r) {
    case X86_REG_AL: return 0;
    case X86_REG_CL: return 1;
    case X86_REG_DL: return 2;
    case X86_REG_BL: return 3;
    case X86_REG_AH: return 4;
    case X86_REG_CH: return 5;
    case X86_REG_DH: return 6;
    case X86_REG_BH: return 7;
    default: return gprIndex(r);
  }
}

int segIndex(x86_reg r) {
  switch (r) {
    case X86_REG_ES: return 0;
    case X86_REG_CS: return 1;
    case X86_REG_SS: return 2;
    case X86_REG_DS: return 3;
    case X86_REG_FS: return 4;
    case X86_REG_GS: return 5;
    default: return -1;
  }
}

int crIndex(x86_reg r) { return r >= X86_REG_CR0 && r <= X86_REG_CR7 ? r - X86_REG_CR0 : -1; }
int drIndex(x86_reg r) { return r >= X86_REG_DR0 && r <= X86_REG_DR7 ? r - X86_REG_DR0 : -1; }

bool isHighByte(x86_reg r) { return r == X86_REG_AH || r == X86_REG_BH || r == X86_REG_CH || r == X86_REG_DH; }

x86::Gp hostReg(x86_reg r) {
  switch (r) {
    case X86_REG_AL: return x86::al;
    case X86_REG_CL: return x86::cl;
    case X86_REG_DL: return x86::dl;
    case X86_REG_BL: return x86::bl;
    case X86_REG_AH: return x86::ah;
    case X86_REG_CH: return x86::ch;
    case X86_REG_DH: return x86::dh;
    case X86_REG_BH: return x86::bh;
    default: break;
  }
  int i = gprIndex(r);
  if (i < 0) return x86::Gp();
  bool wide = r == X86_REG_EAX || r == X86_REG_ECX || r == X86_REG_EDX || r == X86_REG_EBX ||
              r == X86_REG_ESP || r == X86_REG_EBP || r == X86_REG_ESI || r == X86_REG_EDI;
  return wide ? host::guest32(i) : host::guest16(i);
}

InstId asmjitId(unsigned capstone_id) {
  // Names are the common language: Capstone and AsmJit spell integer mnemonics alike.
  static const std::array<InstId, X86_INS_ENDING> table = [] {
    std::array<InstId, X86_INS_ENDING> t{};
    csh h;
    cs_open(CS_ARCH_X86, CS_MODE_32, &h);
    for (unsigned id = 1; id < X86_INS_ENDING; ++id) {
      const char* name = cs_insn_name(h, id);
      t[id] = name ? InstAPI::stringToInstId(Arch::kX64, name, std::strlen(name)) : x86::Inst::kIdNone;
    }
    cs_close(&h);
    return t;
  }();
  return capstone_id < X86_INS_ENDING ? table[capstone_id] : InstId(x86::Inst::kIdNone);
}

int segmentOverride(const cs_x86& x) {
  switch (x.prefix[1]) {
    case 0x26: return 0;
    case 0x2e: return 1;
    case 0x36: return 2;
    case 0x3e: return 3;
    case 0x64: return 4;
    case 0x65: return 5;
    default: return -1;
  }
}

}  // namespace btvm
