// The instruction-class table (patcher/insn_table.h): every row is reachable from a real encoding,
// the privileged and sensitive classes match the SDM and Robin & Irvine (USENIX Security 2000),
// and IDs btvm does not implement have no row.
#include <capstone/capstone.h>
#include <doctest/doctest.h>

#include <cstring>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "patcher/insn_table.h"

using namespace btvm;

namespace {

std::string formName(Form f) {
  switch (f) {
    case Form::Plain: return "plain";
    case Form::ToSeg: return "to-seg";
    case Form::FromSeg: return "from-seg";
    case Form::ToCr: return "to-cr";
    case Form::FromCr: return "from-cr";
    case Form::ToDr: return "to-dr";
    case Form::FromDr: return "from-dr";
  }
  return "?";
}

// One Capstone handle in 32-bit mode with detail on, for the whole file.
class Capstone {
 public:
  Capstone() {
    REQUIRE(cs_open(CS_ARCH_X86, CS_MODE_32, &h_) == CS_ERR_OK);
    cs_option(h_, CS_OPT_DETAIL, CS_OPT_ON);
    insn_ = cs_malloc(h_);
  }
  ~Capstone() {
    cs_free(insn_, 1);
    cs_close(&h_);
  }
  // The decoded instruction, or nullptr when the bytes do not decode in full.
  const cs_insn* decode(const std::vector<uint8_t>& bytes) {
    const uint8_t* code = bytes.data();
    size_t size = bytes.size();
    uint64_t addr = 0x1000;
    if (!cs_disasm_iter(h_, &code, &size, &addr, insn_)) return nullptr;
    if (size != 0) return nullptr;  // trailing bytes: the encoding is not what the test meant
    return insn_;
  }
  std::string name(unsigned id) const {
    const char* n = cs_insn_name(h_, id);
    return n ? n : "?";
  }

 private:
  csh h_ = 0;
  cs_insn* insn_ = nullptr;
};

Capstone& cs() {
  static Capstone c;
  return c;
}

bool isSeg(x86_reg r) {
  return r == X86_REG_ES || r == X86_REG_CS || r == X86_REG_SS || r == X86_REG_DS ||
         r == X86_REG_FS || r == X86_REG_GS;
}
bool isCr(x86_reg r) { return r >= X86_REG_CR0 && r <= X86_REG_CR15; }
bool isDr(x86_reg r) { return r >= X86_REG_DR0 && r <= X86_REG_DR15; }

// The operand form by the SDM's meaning (written independently of dbt/translator.cpp's formOf):
// MOV Sreg,r/m / POP Sreg write a segment register, MOV r/m,Sreg / PUSH Sreg read one; MOV
// CRn/DRn in either direction (0F 20-23).
Form formOf(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  auto reg = [&](unsigned i) {
    return i < x.op_count && x.operands[i].type == X86_OP_REG ? x.operands[i].reg : X86_REG_INVALID;
  };
  switch (insn.id) {
    case X86_INS_PUSH: return isSeg(reg(0)) ? Form::FromSeg : Form::Plain;
    case X86_INS_POP: return isSeg(reg(0)) ? Form::ToSeg : Form::Plain;
    case X86_INS_MOV:
      if (isSeg(reg(0))) return Form::ToSeg;
      if (isSeg(reg(1))) return Form::FromSeg;
      if (isCr(reg(0))) return Form::ToCr;
      if (isCr(reg(1))) return Form::FromCr;
      if (isDr(reg(0))) return Form::ToDr;
      if (isDr(reg(1))) return Form::FromDr;
      return Form::Plain;
    default: return Form::Plain;
  }
}

struct Encoding {
  unsigned id;
  Form form;
  std::vector<uint8_t> bytes;
};

#define E(ID, FORM, ...) Encoding{X86_INS_##ID, Form::FORM, {__VA_ARGS__}}

// At least one hand-written encoding per table row (SDM Vol. 2 opcode maps), some rows twice.
const std::vector<Encoding>& encodings() {
  static const std::vector<Encoding> k = {
      // ALU, register forms (ModRM C0-FF: eax/ebx).
      E(ADD, Plain, 0x01, 0xd8), E(ADD, Plain, 0x83, 0x00, 0x01), E(OR, Plain, 0x09, 0xd8),
      E(ADC, Plain, 0x11, 0xd8), E(SBB, Plain, 0x19, 0xd8), E(AND, Plain, 0x21, 0xd8),
      E(SUB, Plain, 0x29, 0xd8), E(XOR, Plain, 0x31, 0xd8), E(CMP, Plain, 0x39, 0xd8),
      E(TEST, Plain, 0x85, 0xd8), E(MOV, Plain, 0x89, 0xd8), E(MOV, Plain, 0xa1, 0x00, 0x10, 0x00, 0x00),
      E(MOV, Plain, 0x8b, 0x03), E(MOVZX, Plain, 0x0f, 0xb6, 0xc3), E(MOVSX, Plain, 0x0f, 0xbe, 0xc3),
      E(INC, Plain, 0x40), E(DEC, Plain, 0x48), E(NEG, Plain, 0xf7, 0xd8), E(NOT, Plain, 0xf7, 0xd0),
      E(SHL, Plain, 0xd1, 0xe0), E(SAL, Plain, 0xd1, 0xf0), E(SHR, Plain, 0xd1, 0xe8),
      E(SAR, Plain, 0xd1, 0xf8), E(ROL, Plain, 0xd1, 0xc0), E(ROR, Plain, 0xd1, 0xc8),
      E(RCL, Plain, 0xd1, 0xd0), E(RCR, Plain, 0xd1, 0xd8), E(SHLD, Plain, 0x0f, 0xa4, 0xd8, 0x01),
      E(SHRD, Plain, 0x0f, 0xac, 0xd8, 0x01), E(BSF, Plain, 0x0f, 0xbc, 0xc3),
      E(BSR, Plain, 0x0f, 0xbd, 0xc3), E(BSWAP, Plain, 0x0f, 0xc8), E(XCHG, Plain, 0x87, 0xd8),
      E(XCHG, Plain, 0x93), E(XADD, Plain, 0x0f, 0xc1, 0xd8), E(CMPXCHG, Plain, 0x0f, 0xb1, 0xd8),
      E(CMPXCHG8B, Plain, 0x0f, 0xc7, 0x0e), E(MUL, Plain, 0xf7, 0xe3), E(IMUL, Plain, 0xf7, 0xeb),
      E(IMUL, Plain, 0x0f, 0xaf, 0xc3), E(CBW, Plain, 0x66, 0x98), E(CWDE, Plain, 0x98),
      E(CWD, Plain, 0x66, 0x99), E(CDQ, Plain, 0x99), E(CLC, Plain, 0xf8), E(STC, Plain, 0xf9),
      E(CMC, Plain, 0xf5), E(LAHF, Plain, 0x9f), E(SAHF, Plain, 0x9e),
      // CMOVcc 0F 40+cc, SETcc 0F 90+cc (cc: O NO B AE E NE BE A S NS P NP L GE LE G).
      E(CMOVO, Plain, 0x0f, 0x40, 0xc3), E(CMOVNO, Plain, 0x0f, 0x41, 0xc3),
      E(CMOVB, Plain, 0x0f, 0x42, 0xc3), E(CMOVAE, Plain, 0x0f, 0x43, 0xc3),
      E(CMOVE, Plain, 0x0f, 0x44, 0xc3), E(CMOVNE, Plain, 0x0f, 0x45, 0xc3),
      E(CMOVBE, Plain, 0x0f, 0x46, 0xc3), E(CMOVA, Plain, 0x0f, 0x47, 0xc3),
      E(CMOVS, Plain, 0x0f, 0x48, 0xc3), E(CMOVNS, Plain, 0x0f, 0x49, 0xc3),
      E(CMOVP, Plain, 0x0f, 0x4a, 0xc3), E(CMOVNP, Plain, 0x0f, 0x4b, 0xc3),
      E(CMOVL, Plain, 0x0f, 0x4c, 0xc3), E(CMOVGE, Plain, 0x0f, 0x4d, 0xc3),
      E(CMOVLE, Plain, 0x0f, 0x4e, 0xc3), E(CMOVG, Plain, 0x0f, 0x4f, 0xc3),
      E(SETO, Plain, 0x0f, 0x90, 0xc0), E(SETNO, Plain, 0x0f, 0x91, 0xc0),
      E(SETB, Plain, 0x0f, 0x92, 0xc0), E(SETAE, Plain, 0x0f, 0x93, 0xc0),
      E(SETE, Plain, 0x0f, 0x94, 0xc0), E(SETNE, Plain, 0x0f, 0x95, 0xc0),
      E(SETBE, Plain, 0x0f, 0x96, 0xc0), E(SETA, Plain, 0x0f, 0x97, 0xc0),
      E(SETS, Plain, 0x0f, 0x98, 0xc0), E(SETNS, Plain, 0x0f, 0x99, 0xc0),
      E(SETP, Plain, 0x0f, 0x9a, 0xc0), E(SETNP, Plain, 0x0f, 0x9b, 0xc0),
      E(SETL, Plain, 0x0f, 0x9c, 0xc0), E(SETGE, Plain, 0x0f, 0x9d, 0xc0),
      E(SETLE, Plain, 0x0f, 0x9e, 0xc0), E(SETG, Plain, 0x0f, 0x9f, 0xc0),
      E(BT, Plain, 0x0f, 0xa3, 0xd8), E(BT, Plain, 0x0f, 0xba, 0xe0, 0x03),
      E(BTS, Plain, 0x0f, 0xab, 0xd8), E(BTR, Plain, 0x0f, 0xb3, 0xd8), E(BTC, Plain, 0x0f, 0xbb, 0xd8),
      E(LEA, Plain, 0x8d, 0x03), E(NOP, Plain, 0x90), E(NOP, Plain, 0x0f, 0x1f, 0x00),
      E(PAUSE, Plain, 0xf3, 0x90), E(XLATB, Plain, 0xd7), E(UD2, Plain, 0x0f, 0x0b),
      E(UD2B, Plain, 0x0f, 0xb9),  // Capstone 4 gives UD1 no ModRM
      // Stack.
      E(PUSH, Plain, 0x50), E(PUSH, Plain, 0x6a, 0x01), E(PUSH, Plain, 0xff, 0x30),
      E(POP, Plain, 0x58), E(POP, Plain, 0x8f, 0x00), E(PUSHAL, Plain, 0x60), E(PUSHAW, Plain, 0x66, 0x60),
      E(POPAL, Plain, 0x61), E(POPAW, Plain, 0x66, 0x61), E(LEAVE, Plain, 0xc9),
      E(ENTER, Plain, 0xc8, 0x08, 0x00, 0x00),
      // Near control flow.
      E(JMP, Plain, 0xeb, 0x00), E(JMP, Plain, 0xe9, 0, 0, 0, 0), E(JMP, Plain, 0xff, 0xe0),
      E(CALL, Plain, 0xe8, 0, 0, 0, 0), E(CALL, Plain, 0xff, 0xd0), E(RET, Plain, 0xc3),
      E(RET, Plain, 0xc2, 0x04, 0x00),
      E(JO, Plain, 0x70, 0), E(JNO, Plain, 0x71, 0), E(JB, Plain, 0x72, 0), E(JAE, Plain, 0x73, 0),
      E(JE, Plain, 0x74, 0), E(JNE, Plain, 0x75, 0), E(JBE, Plain, 0x76, 0), E(JA, Plain, 0x77, 0),
      E(JS, Plain, 0x78, 0), E(JNS, Plain, 0x79, 0), E(JP, Plain, 0x7a, 0), E(JNP, Plain, 0x7b, 0),
      E(JL, Plain, 0x7c, 0), E(JGE, Plain, 0x7d, 0), E(JLE, Plain, 0x7e, 0), E(JG, Plain, 0x7f, 0),
      E(JE, Plain, 0x0f, 0x84, 0, 0, 0, 0), E(JECXZ, Plain, 0xe3, 0), E(JCXZ, Plain, 0x67, 0xe3, 0),
      E(LOOP, Plain, 0xe2, 0), E(LOOPE, Plain, 0xe1, 0), E(LOOPNE, Plain, 0xe0, 0),
      // VMM helpers for encodings invalid or different in 64-bit mode.
      E(DIV, Plain, 0xf7, 0xf3), E(IDIV, Plain, 0xf7, 0xfb), E(DAA, Plain, 0x27), E(DAS, Plain, 0x2f),
      E(AAA, Plain, 0x37), E(AAS, Plain, 0x3f), E(AAM, Plain, 0xd4, 0x0a), E(AAD, Plain, 0xd5, 0x0a),
      E(SALC, Plain, 0xd6), E(BOUND, Plain, 0x62, 0x03), E(CLD, Plain, 0xfc), E(STD, Plain, 0xfd),
      E(CPUID, Plain, 0x0f, 0xa2), E(RDTSC, Plain, 0x0f, 0x31),
      E(MOVSB, Plain, 0xa4), E(MOVSW, Plain, 0x66, 0xa5), E(MOVSD, Plain, 0xa5),
      E(STOSB, Plain, 0xaa), E(STOSW, Plain, 0x66, 0xab), E(STOSD, Plain, 0xab),
      E(LODSB, Plain, 0xac), E(LODSW, Plain, 0x66, 0xad), E(LODSD, Plain, 0xad),
      E(CMPSB, Plain, 0xa6), E(CMPSW, Plain, 0x66, 0xa7), E(CMPSD, Plain, 0xa7),
      E(SCASB, Plain, 0xae), E(SCASW, Plain, 0x66, 0xaf), E(SCASD, Plain, 0xaf),
      E(MOVSB, Plain, 0xf3, 0xa4),
      // Privileged.
      E(HLT, Plain, 0xf4), E(CLI, Plain, 0xfa), E(STI, Plain, 0xfb), E(IN, Plain, 0xec),
      E(IN, Plain, 0xe4, 0x60), E(OUT, Plain, 0xee), E(OUT, Plain, 0xe6, 0x80), E(INSB, Plain, 0x6c),
      E(INSW, Plain, 0x66, 0x6d), E(INSD, Plain, 0x6d), E(OUTSB, Plain, 0x6e),
      E(OUTSW, Plain, 0x66, 0x6f), E(OUTSD, Plain, 0x6f),
      E(LGDT, Plain, 0x0f, 0x01, 0x10), E(LIDT, Plain, 0x0f, 0x01, 0x18),
      E(LLDT, Plain, 0x0f, 0x00, 0xd0), E(LTR, Plain, 0x0f, 0x00, 0xd8),
      E(LMSW, Plain, 0x0f, 0x01, 0xf0), E(CLTS, Plain, 0x0f, 0x06), E(INVLPG, Plain, 0x0f, 0x01, 0x38),
      E(INVD, Plain, 0x0f, 0x08), E(WBINVD, Plain, 0x0f, 0x09), E(RDMSR, Plain, 0x0f, 0x32),
      E(WRMSR, Plain, 0x0f, 0x30), E(SYSENTER, Plain, 0x0f, 0x34), E(SYSEXIT, Plain, 0x0f, 0x35),
      // Sensitive, unprivileged.
      E(SGDT, Plain, 0x0f, 0x01, 0x00), E(SIDT, Plain, 0x0f, 0x01, 0x08),
      E(SLDT, Plain, 0x0f, 0x00, 0xc0), E(STR, Plain, 0x0f, 0x00, 0xc8),
      E(SMSW, Plain, 0x0f, 0x01, 0xe0), E(PUSHF, Plain, 0x66, 0x9c), E(PUSHFD, Plain, 0x9c),
      E(POPF, Plain, 0x66, 0x9d), E(POPFD, Plain, 0x9d), E(LAR, Plain, 0x0f, 0x02, 0xc3),
      E(LSL, Plain, 0x0f, 0x03, 0xc3), E(VERR, Plain, 0x0f, 0x00, 0xe0), E(VERW, Plain, 0x0f, 0x00, 0xe8),
      E(MOV, ToSeg, 0x8e, 0xd8), E(MOV, ToSeg, 0x8e, 0x10), E(MOV, ToSeg, 0x8e, 0xe0),
      E(MOV, FromSeg, 0x8c, 0xd8), E(MOV, FromSeg, 0x8c, 0xc8), E(MOV, FromSeg, 0x8c, 0x18),
      E(PUSH, FromSeg, 0x1e), E(PUSH, FromSeg, 0x0e), E(PUSH, FromSeg, 0x16), E(PUSH, FromSeg, 0x06),
      E(PUSH, FromSeg, 0x0f, 0xa0), E(PUSH, FromSeg, 0x0f, 0xa8),
      E(POP, ToSeg, 0x1f), E(POP, ToSeg, 0x17), E(POP, ToSeg, 0x07), E(POP, ToSeg, 0x0f, 0xa1),
      E(POP, ToSeg, 0x0f, 0xa9),
      E(LJMP, Plain, 0xea, 0x00, 0x10, 0x00, 0x00, 0x08, 0x00), E(LJMP, Plain, 0xff, 0x28),
      E(LCALL, Plain, 0x9a, 0x00, 0x10, 0x00, 0x00, 0x08, 0x00), E(LCALL, Plain, 0xff, 0x18),
      E(RETF, Plain, 0xcb), E(RETF, Plain, 0xca, 0x04, 0x00), E(INT, Plain, 0xcd, 0x80),
      E(INT3, Plain, 0xcc), E(INTO, Plain, 0xce), E(INT1, Plain, 0xf1), E(IRET, Plain, 0x66, 0xcf),
      E(IRETD, Plain, 0xcf), E(LDS, Plain, 0xc5, 0x03), E(LES, Plain, 0xc4, 0x03),
      E(LFS, Plain, 0x0f, 0xb4, 0x03), E(LGS, Plain, 0x0f, 0xb5, 0x03), E(LSS, Plain, 0x0f, 0xb2, 0x03),
      E(ARPL, Plain, 0x63, 0xd8),
      E(MOV, ToCr, 0x0f, 0x22, 0xc0), E(MOV, ToCr, 0x0f, 0x22, 0xd8), E(MOV, FromCr, 0x0f, 0x20, 0xc0),
      E(MOV, FromCr, 0x0f, 0x20, 0xd0), E(MOV, ToDr, 0x0f, 0x23, 0xc0), E(MOV, ToDr, 0x0f, 0x23, 0xf8),
      E(MOV, FromDr, 0x0f, 0x21, 0xc0), E(MOV, FromDr, 0x0f, 0x21, 0xf0),
  };
  return k;
}

std::vector<std::pair<const InsnRow*, unsigned>> rows() {
  unsigned n = 0;
  const InsnRow* t = insnTable(&n);
  std::vector<std::pair<const InsnRow*, unsigned>> v;
  for (unsigned i = 0; i < n; ++i) v.emplace_back(&t[i], i);
  return v;
}

struct IdForm {
  unsigned id;
  Form form;
  const char* what;
};

// Robin and Irvine's 17 sensitive, unprivileged instructions, by Capstone ID and form.
// PUSHF/POPF have a 16- and a 32-bit ID; "MOV sreg" is both directions.
const std::vector<IdForm>& robinIrvine17() {
  static const std::vector<IdForm> k = {
      {X86_INS_SGDT, Form::Plain, "SGDT"},   {X86_INS_SIDT, Form::Plain, "SIDT"},
      {X86_INS_SLDT, Form::Plain, "SLDT"},   {X86_INS_SMSW, Form::Plain, "SMSW"},
      {X86_INS_PUSHF, Form::Plain, "PUSHF"}, {X86_INS_PUSHFD, Form::Plain, "PUSHFD"},
      {X86_INS_POPF, Form::Plain, "POPF"},   {X86_INS_POPFD, Form::Plain, "POPFD"},
      {X86_INS_LAR, Form::Plain, "LAR"},     {X86_INS_LSL, Form::Plain, "LSL"},
      {X86_INS_VERR, Form::Plain, "VERR"},   {X86_INS_VERW, Form::Plain, "VERW"},
      {X86_INS_POP, Form::ToSeg, "POP sreg"}, {X86_INS_PUSH, Form::FromSeg, "PUSH sreg"},
      {X86_INS_MOV, Form::ToSeg, "MOV sreg,r/m"}, {X86_INS_MOV, Form::FromSeg, "MOV r/m,sreg"},
      {X86_INS_LCALL, Form::Plain, "far CALL"}, {X86_INS_LJMP, Form::Plain, "far JMP"},
      {X86_INS_RETF, Form::Plain, "far RET"}, {X86_INS_INT, Form::Plain, "INT n"},
      {X86_INS_STR, Form::Plain, "STR"},
  };
  return k;
}

// Privileged: #GP at CPL > 0 (SDM Vol. 3A 5.9, "Privileged Instructions"), or at CPL > IOPL for
// CLI, STI and the I/O instructions (Vol. 2 CLI, STI, IN, OUT, INS, OUTS; the I/O permission
// bitmap can still allow a port).
const std::vector<IdForm>& privileged() {
  static const std::vector<IdForm> k = {
      {X86_INS_HLT, Form::Plain, "HLT"},       {X86_INS_CLI, Form::Plain, "CLI"},
      {X86_INS_STI, Form::Plain, "STI"},       {X86_INS_IN, Form::Plain, "IN"},
      {X86_INS_OUT, Form::Plain, "OUT"},       {X86_INS_INSB, Form::Plain, "INSB"},
      {X86_INS_INSW, Form::Plain, "INSW"},     {X86_INS_INSD, Form::Plain, "INSD"},
      {X86_INS_OUTSB, Form::Plain, "OUTSB"},   {X86_INS_OUTSW, Form::Plain, "OUTSW"},
      {X86_INS_OUTSD, Form::Plain, "OUTSD"},   {X86_INS_LGDT, Form::Plain, "LGDT"},
      {X86_INS_LIDT, Form::Plain, "LIDT"},     {X86_INS_LLDT, Form::Plain, "LLDT"},
      {X86_INS_LTR, Form::Plain, "LTR"},       {X86_INS_LMSW, Form::Plain, "LMSW"},
      {X86_INS_CLTS, Form::Plain, "CLTS"},     {X86_INS_MOV, Form::ToCr, "MOV CRn,r"},
      {X86_INS_MOV, Form::FromCr, "MOV r,CRn"}, {X86_INS_MOV, Form::ToDr, "MOV DRn,r"},
      {X86_INS_MOV, Form::FromDr, "MOV r,DRn"}, {X86_INS_INVLPG, Form::Plain, "INVLPG"},
      {X86_INS_INVD, Form::Plain, "INVD"},     {X86_INS_WBINVD, Form::Plain, "WBINVD"},
      {X86_INS_RDMSR, Form::Plain, "RDMSR"},   {X86_INS_WRMSR, Form::Plain, "WRMSR"},
      // SYSENTER is allowed at CPL 3, but it enters ring 0 through MSRs that a VMM owns, so a
      // deprivileged guest's SYSENTER reaches the VMM exactly as a trap would; SYSEXIT is CPL 0 only.
      {X86_INS_SYSENTER, Form::Plain, "SYSENTER"}, {X86_INS_SYSEXIT, Form::Plain, "SYSEXIT"},
  };
  return k;
}
// IOPL-sensitive among them (privileged only when CPL > IOPL).
const std::set<unsigned> kIoplIds = {X86_INS_CLI,   X86_INS_STI,   X86_INS_IN,    X86_INS_OUT,
                                     X86_INS_INSB,  X86_INS_INSW,  X86_INS_INSD,  X86_INS_OUTSB,
                                     X86_INS_OUTSW, X86_INS_OUTSD};

// Sensitive rows that are not in Robin & Irvine's list but are sensitive for a VMM all the same:
// INT3/INTO (gate DPL checked like INT n), CPUID/RDTSC (host values), LDS..LSS (load a segment
// register like MOV sreg).
const std::set<unsigned> kExtraSensitive = {X86_INS_IRET, X86_INS_IRETD, X86_INS_INT3, X86_INS_INTO, X86_INS_CPUID, X86_INS_RDTSC,
                                            X86_INS_LDS,  X86_INS_LES,  X86_INS_LFS,   X86_INS_LGS,
                                            X86_INS_LSS};

bool inList(const std::vector<IdForm>& l, unsigned id, Form f) {
  for (const IdForm& x : l)
    if (x.id == id && x.form == f) return true;
  return false;
}

}  // namespace

TEST_CASE("insn_table: every hand-written encoding decodes to the ID and form it claims") {
  for (const Encoding& e : encodings()) {
    CAPTURE(cs().name(e.id));
    CAPTURE(formName(e.form));
    const cs_insn* insn = cs().decode(e.bytes);
    REQUIRE(insn != nullptr);
    CHECK(insn->id == e.id);
    CHECK(formName(formOf(*insn)) == formName(e.form));
  }
}

TEST_CASE("insn_table: every row is reached by a decoded encoding and found by findInsn") {
  for (auto [row, index] : rows()) {
    if (row->helper == HelperId::Fpu) continue;  // every x87 row: fpu_decode_test.cpp
    CAPTURE(index);
    CAPTURE(cs().name(row->id));
    CAPTURE(formName(row->form));
    int covered = 0;
    for (const Encoding& e : encodings()) {
      if (e.id != row->id || e.form != row->form) continue;
      const cs_insn* insn = cs().decode(e.bytes);
      REQUIRE(insn != nullptr);
      REQUIRE(insn->id == row->id);
      CHECK(findInsn(insn->id, formOf(*insn)) == row);
      ++covered;
    }
    CHECK(covered > 0);
  }
}

TEST_CASE("insn_table: rows are unique per (ID, form) and consistent") {
  std::set<std::pair<unsigned, int>> seen;
  for (auto [row, index] : rows()) {
    if (row->helper == HelperId::Fpu) continue;  // every x87 row: fpu_decode_test.cpp
    CAPTURE(index);
    CAPTURE(cs().name(row->id));
    CHECK(row->id != X86_INS_INVALID);
    CHECK(row->id < X86_INS_ENDING);
    CHECK(row->why != nullptr);
    CHECK(seen.insert({row->id, int(row->form)}).second);
    CHECK((row->emit == Emit::Helper) == (row->helper != HelperId::None));
    if (row->form != Form::Plain) {
      bool seg_cr_dr = row->id == X86_INS_MOV || row->id == X86_INS_PUSH || row->id == X86_INS_POP;
      CHECK(seg_cr_dr);
    }
    if (row->cls & cls::kIopl) CHECK((row->cls & cls::kPrivileged) != 0);
  }
  CHECK(findInsn(X86_INS_INVALID) == nullptr);
  CHECK(findInsn(X86_INS_ENDING) == nullptr);
  CHECK(findInsn(X86_INS_ENDING + 100) == nullptr);
  // The plain MOV row is not the segment/CR/DR row, and the forms have no stray rows.
  REQUIRE(findInsn(X86_INS_MOV) != nullptr);
  CHECK(findInsn(X86_INS_MOV)->emit == Emit::Generic);
  CHECK(findInsn(X86_INS_MOV, Form::ToSeg) != findInsn(X86_INS_MOV, Form::FromSeg));
  CHECK(findInsn(X86_INS_ADD, Form::ToSeg) == nullptr);
  CHECK(findInsn(X86_INS_PUSH, Form::ToSeg) == nullptr);    // PUSH only reads a segment register
  CHECK(findInsn(X86_INS_POP, Form::FromSeg) == nullptr);   // POP only writes one
  CHECK(findInsn(X86_INS_PUSH, Form::ToCr) == nullptr);
}

TEST_CASE("insn_table: the 17 Robin & Irvine instructions are sensitive and not privileged") {
  for (const IdForm& x : robinIrvine17()) {
    CAPTURE(x.what);
    const InsnRow* r = findInsn(x.id, x.form);
    REQUIRE(r != nullptr);
    CHECK((r->cls & cls::kSensitive) != 0);
    CHECK((r->cls & cls::kPrivileged) == 0);
    CHECK(r->emit == Emit::Helper);
    REQUIRE(r->why != nullptr);
    CHECK(std::strlen(r->why) > 0);
  }
}

TEST_CASE("insn_table: the privileged instructions are privileged and not sensitive") {
  for (const IdForm& x : privileged()) {
    CAPTURE(x.what);
    const InsnRow* r = findInsn(x.id, x.form);
    REQUIRE(r != nullptr);
    CHECK((r->cls & cls::kPrivileged) != 0);
    CHECK((r->cls & cls::kSensitive) == 0);
    CHECK(((r->cls & cls::kIopl) != 0) == (kIoplIds.count(x.id) != 0));
    CHECK(r->emit == Emit::Helper);
    REQUIRE(r->why != nullptr);
    CHECK(std::strlen(r->why) > 0);
  }
}

TEST_CASE("insn_table: no row is sensitive or privileged beyond the lists, each with a why") {
  for (auto [row, index] : rows()) {
    if (row->helper == HelperId::Fpu) continue;  // every x87 row: fpu_decode_test.cpp
    CAPTURE(index);
    CAPTURE(cs().name(row->id));
    CAPTURE(formName(row->form));
    bool s = row->cls & cls::kSensitive, p = row->cls & cls::kPrivileged;
    if (s || p) {
      REQUIRE(row->why != nullptr);
      CHECK(std::strlen(row->why) > 0);
    }
    if (s) {
      bool listed = inList(robinIrvine17(), row->id, row->form) || kExtraSensitive.count(row->id);
      CHECK(listed);
    }
    // IRET is checked in its own test case below.
    if (p && row->id != X86_INS_IRET && row->id != X86_INS_IRETD)
      CHECK(inList(privileged(), row->id, row->form));
  }
}

// SDM Vol. 3A 5.9 does not list IRET among the privileged instructions, and the IRET pseudo-code
// (Vol. 2) raises #GP at CPL > 0 only for a return to a more privileged level (RPL < CPL). A
// deprivileged guest kernel at real CPL 3 returning to CPL 3 does not fault: like POPF it
// silently leaves IF and IOPL alone when CPL > IOPL. So IRET is sensitive, not privileged, and a
// `trap`-mode VMM that trusts kPrivileged would catch it where real hardware would not.
TEST_CASE("insn_table: IRET is sensitive, not privileged (SDM Vol. 3A 5.9, IRET)") {
  for (unsigned id : {unsigned(X86_INS_IRET), unsigned(X86_INS_IRETD)}) {
    CAPTURE(cs().name(id));
    const InsnRow* r = findInsn(id);
    REQUIRE(r != nullptr);
    CHECK((r->cls & cls::kPrivileged) == 0);
    CHECK((r->cls & cls::kSensitive) != 0);
    CHECK((r->cls & cls::kBlockEnd) != 0);
  }
}

TEST_CASE("insn_table: block ends") {
  for (unsigned id : {X86_INS_JMP, X86_INS_CALL, X86_INS_RET, X86_INS_JE, X86_INS_LOOP, X86_INS_JECXZ,
                      X86_INS_LJMP, X86_INS_LCALL, X86_INS_RETF, X86_INS_INT, X86_INS_INT3,
                      X86_INS_IRETD, X86_INS_HLT, X86_INS_POPFD, X86_INS_STI}) {
    CAPTURE(cs().name(id));
    REQUIRE(findInsn(id) != nullptr);
    CHECK((findInsn(id)->cls & cls::kBlockEnd) != 0);
  }
  REQUIRE(findInsn(X86_INS_MOV, Form::ToCr) != nullptr);
  CHECK((findInsn(X86_INS_MOV, Form::ToCr)->cls & cls::kBlockEnd) != 0);  // CR0/CR3/CR4 change paging
  for (unsigned id : {X86_INS_ADD, X86_INS_MOV, X86_INS_PUSH, X86_INS_LEA}) {
    CAPTURE(cs().name(id));
    CHECK((findInsn(id)->cls & cls::kBlockEnd) == 0);
  }
  // Loading a segment register changes what the block was keyed on (flat segments).
  for (const auto& [id, form] : {std::pair{X86_INS_MOV, Form::ToSeg}, std::pair{X86_INS_POP, Form::ToSeg},
                                 std::pair{X86_INS_LDS, Form::Plain}, std::pair{X86_INS_LSS, Form::Plain}}) {
    CAPTURE(cs().name(id));
    REQUIRE(findInsn(id, form) != nullptr);
    CHECK((findInsn(id, form)->cls & cls::kSegChange) != 0);
    CHECK((findInsn(id, form)->cls & cls::kBlockEnd) != 0);
  }
}

TEST_CASE("insn_table: IDs btvm does not implement have no row") {
  struct Case {
    std::vector<uint8_t> bytes;
    unsigned id;
  };
  const std::vector<Case> cases = {
      {{0x0f, 0xae, 0x00}, X86_INS_FXSAVE},     // no FXSR on the P6 model (x87: fpu_decode_test)
      {{0xdd, 0x08}, X86_INS_FISTTP},           // SSE3
      {{0x0f, 0x58, 0xc1}, X86_INS_ADDPS},      // SSE
      {{0x0f, 0x28, 0xc1}, X86_INS_MOVAPS},
      {{0x0f, 0x01, 0xf8}, X86_INS_SWAPGS},     // decoded by Capstone in 32-bit mode, #UD there
      {{0x0f, 0x05}, X86_INS_SYSCALL},
  };
  for (const Case& c : cases) {
    CAPTURE(cs().name(c.id));
    const cs_insn* insn = cs().decode(c.bytes);
    REQUIRE(insn != nullptr);
    CHECK(insn->id == c.id);
    CHECK(findInsn(insn->id, formOf(*insn)) == nullptr);
    CHECK(findInsn(c.id) == nullptr);
  }
  // SSE MOVSD (F2 0F 10) shares its Capstone ID with string MOVSD, which has a row: the
  // translator tells them apart by opcode (dbt/translator.cpp isSseNamesake), not the table.
  const cs_insn* sse = cs().decode({0xf2, 0x0f, 0x10, 0xc1});
  REQUIRE(sse != nullptr);
  CHECK(sse->id == X86_INS_MOVSD);
  CHECK(sse->detail->x86.opcode[0] != 0xa5);
}

// MOV CS,r/m (8E /1) is #UD on hardware (SDM Vol. 2, MOV: "#UD If attempt is made to load the CS
// register"), but Capstone 4 decodes it as MOV. Its row is the segment form, whose helper (emu/helpers_segment.cpp hMovToSeg)
// raises #UD for CS: the table itself cannot tell CS from DS.
TEST_CASE("insn_table: MOV to CS decodes, lands on the MOV-to-segment row (helper raises #UD)") {
  const cs_insn* insn = cs().decode({0x8e, 0xc8});
  REQUIRE(insn != nullptr);
  CHECK(insn->id == X86_INS_MOV);
  REQUIRE(insn->detail->x86.op_count == 2);
  CHECK(insn->detail->x86.operands[0].type == X86_OP_REG);
  CHECK(insn->detail->x86.operands[0].reg == X86_REG_CS);
  CHECK(formOf(*insn) == Form::ToSeg);
  const InsnRow* r = findInsn(insn->id, Form::ToSeg);
  REQUIRE(r != nullptr);
  CHECK(r->emit == Emit::Helper);
  CHECK(r->helper == HelperId::MovToSeg);
}

TEST_CASE("insn_table: helperName covers every HelperId, and every helper has a row") {
  std::set<std::string> names;
  for (unsigned h = 0; h < unsigned(HelperId::Count); ++h) {
    CAPTURE(h);
    const char* n = helperName(HelperId(h));
    REQUIRE(n != nullptr);
    CHECK(std::strlen(n) > 0);
    CHECK(names.insert(n).second);
  }
  CHECK(std::string(helperName(HelperId::None)) == "none");
  CHECK(std::string(helperName(HelperId::Verw)) == "verw");  // the last one: the array is not short
  CHECK(std::string(helperName(HelperId::MovToSeg)) == "mov_to_seg");
  std::set<unsigned> used;
  for (auto [row, index] : rows()) used.insert(unsigned(row->helper));
  for (unsigned h = 1; h < unsigned(HelperId::Count); ++h) {
    CAPTURE(helperName(HelperId(h)));
    CHECK(used.count(h) == 1);
  }
}
