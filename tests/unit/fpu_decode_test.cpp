// x87 decode coverage (emu/cpu/fpu.h, patcher/insn_table.h): every D8..DF encoding, register and
// memory forms, decoded by Capstone, lands on the Fpu helper row exactly when a P6 executes it,
// and the helper's own decode agrees; everything else raises #UD (no row, or the helper says
// invalid). Which encodings a P6 rejects: SDM vol. 2 opcode map tables A-7..A-22, with the
// undocumented aliases a P6 executes (FSTP1 D9 D8+i, FCOM2 DC D0+i, FCOMP3 DC D8+i, FXCH4 DD C8+i,
// FCOMP5 DE D0+i, FFREEP DF C0+i, FXCH7 DF C8+i, FSTP8/9 DF D0+i/D8+i) and FNENI/FNDISI/FNSETPM
// (DB E0/E1/E4) executing as no-ops, as QEMU and Bochs do.
#include <capstone/capstone.h>
#include <doctest/doctest.h>

#include <set>

#include "emu/cpu/fpu.h"
#include "patcher/insn_table.h"

using namespace btvm;

namespace {

struct Cs {
  csh h;
  cs_insn* insn;
  Cs() {
    cs_open(CS_ARCH_X86, CS_MODE_32, &h);
    cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
    insn = cs_malloc(h);
  }
  ~Cs() {
    cs_free(insn, 1);
    cs_close(&h);
  }
  // The row the translator would use for these bytes, or nullptr (#UD).
  const InsnRow* row(const uint8_t* bytes, size_t n) {
    const uint8_t* p = bytes;
    uint64_t addr = 0;
    if (!cs_disasm_iter(h, &p, &n, &addr, insn)) return nullptr;
    return findInsn(insn->id);
  }
};

// The P6's reserved x87 encodings, written out from the opcode map (independent of fpu.cpp).
bool p6Valid(uint8_t op, uint8_t modrm) {
  unsigned reg = (modrm >> 3) & 7;
  if (modrm < 0xc0) {
    if (op == 0xd9) return reg != 1;
    if (op == 0xdb) return reg != 1 && reg != 4 && reg != 6;  // /1 FISTTP is SSE3
    if (op == 0xdd) return reg != 1 && reg != 5;
    if (op == 0xdf) return reg != 1;
    return true;
  }
  switch (op) {
    case 0xd9: {
      static const std::set<int> bad = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xe2, 0xe3, 0xe6, 0xe7, 0xef};
      return !bad.count(modrm);
    }
    case 0xda: return modrm < 0xe0 || modrm == 0xe9;
    case 0xdb: return modrm < 0xe5 || (modrm >= 0xe8 && modrm < 0xf8);
    case 0xdd: return modrm < 0xf0;
    case 0xde: return !(modrm >= 0xd8 && modrm < 0xe0) || modrm == 0xd9;
    case 0xdf: return modrm <= 0xe0 || (modrm >= 0xe8 && modrm < 0xf8);
    default: return true;
  }
}

}  // namespace

TEST_CASE("fpu: every D8..DF encoding decodes to the Fpu row exactly when a P6 executes it") {
  Cs cs;
  std::set<unsigned> reached;
  int valid = 0;
  for (int op = 0xd8; op <= 0xdf; ++op)
    for (int modrm = 0; modrm < 256; ++modrm) {
      // Memory forms with every mod/rm: SIB and displacement bytes follow as zeros.
      const uint8_t bytes[8] = {uint8_t(op), uint8_t(modrm), 0, 0, 0, 0, 0, 0};
      CAPTURE(op);
      CAPTURE(modrm);
      bool want = p6Valid(uint8_t(op), uint8_t(modrm));
      const InsnRow* r = cs.row(bytes, sizeof bytes);
      bool helper_valid = fpu::decode(uint8_t(op), uint8_t(modrm)).valid;
      CHECK(helper_valid == want);
      if (want) {
        REQUIRE(r != nullptr);
        CHECK(r->helper == HelperId::Fpu);
        CHECK(cs.insn->detail->x86.opcode[0] == op);
        CHECK(cs.insn->detail->x86.modrm == modrm);
        reached.insert(r->id);
        ++valid;
      } else {
        // No row (Capstone rejects it, or FISTTP), or the helper raises #UD itself.
        CHECK((r == nullptr || !helper_valid));
      }
    }
  CHECK(valid > 1500);
  // WAIT is its own instruction in Capstone (9B never merges with the next FN* opcode).
  const uint8_t wait_fnstcw[] = {0x9b, 0xd9, 0x38};
  const InsnRow* w = cs.row(wait_fnstcw, sizeof wait_fnstcw);
  REQUIRE(w != nullptr);
  CHECK(w->id == X86_INS_WAIT);
  CHECK(cs.insn->size == 1);
  reached.insert(X86_INS_WAIT);
  // Every Fpu row is reached by some encoding.
  unsigned n;
  const InsnRow* rows = insnTable(&n);
  for (unsigned k = 0; k < n; ++k)
    if (rows[k].helper == HelperId::Fpu) {
      CAPTURE(rows[k].id);
      CHECK(reached.count(rows[k].id) == 1);
    }
}

TEST_CASE("fpu: operand sizes and classes of the memory forms") {
  CHECK(fpu::decode(0xdd, 0x05).load == 8);    // FLD m64
  CHECK(fpu::decode(0xdb, 0x2d).load == 10);   // FLD m80
  CHECK(fpu::decode(0xdf, 0x20).load == 10);   // FBLD
  CHECK(fpu::decode(0xdf, 0x30).store == 10);  // FBSTP
  CHECK(fpu::decode(0xdf, 0x38).store == 8);   // FISTP m64
  CHECK(fpu::decode(0xde, 0x00).load == 2);    // FIADD m16
  CHECK(fpu::decode(0xd9, 0x38).store == 2);   // FNSTCW: no wait, control
  CHECK(!fpu::decode(0xd9, 0x38).waiting);
  CHECK(fpu::decode(0xd9, 0x38).control);
  CHECK(fpu::decode(0xd9, 0x28).waiting);      // FLDCW waits
  CHECK(fpu::decode(0xd9, 0x28).control);
  CHECK(fpu::decode(0xdd, 0x30).special == fpu::Special::Fnsave);
  CHECK(!fpu::decode(0xdd, 0x30).waiting);
  CHECK(fpu::decode(0xdd, 0x20).special == fpu::Special::Frstor);
  CHECK(fpu::decode(0xdf, 0xe0).special == fpu::Special::FnstswAx);
  CHECK(fpu::decode(0xdb, 0xf0).eflags);       // FCOMI
  CHECK(fpu::decode(0xdf, 0xe8).eflags);       // FUCOMIP
  CHECK(!fpu::decode(0xde, 0xd9).eflags);      // FCOMPP
  CHECK(fpu::decode(0xdb, 0xe3).control);      // FNINIT
  CHECK(!fpu::decode(0xdb, 0xe3).waiting);
}

TEST_CASE("fpu: FXSAVE, FXRSTOR, MMX and SSE have no row (the P6 model lacks FXSR/MMX/SSE)") {
  Cs cs;
  const uint8_t fxsave[] = {0x0f, 0xae, 0x00}, emms[] = {0x0f, 0x77}, fisttp[] = {0xdd, 0x08};
  CHECK(cs.row(fxsave, sizeof fxsave) == nullptr);
  CHECK(cs.row(emms, sizeof emms) == nullptr);
  CHECK(cs.row(fisttp, sizeof fisttp) == nullptr);
}
