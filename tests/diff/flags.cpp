#include "tests/diff/flags.h"

#include <optional>
#include <stdexcept>

namespace diff {

Disasm::Disasm() {
  if (cs_open(CS_ARCH_X86, CS_MODE_32, &h_) != CS_ERR_OK) throw std::runtime_error("cs_open");
  cs_option(h_, CS_OPT_DETAIL, CS_OPT_ON);
}
Disasm::~Disasm() { cs_close(&h_); }

std::vector<Insn> Disasm::decode(const uint8_t* p, size_t n, uint32_t addr) const {
  std::vector<Insn> out;
  cs_insn* ci = cs_malloc(h_);
  uint64_t a = addr;
  while (n && cs_disasm_iter(h_, &p, &n, &a, ci)) {
    Insn in{uint32_t(ci->address), uint8_t(ci->size), ci->id, ci->detail->x86, ci->mnemonic};
    if (ci->op_str[0]) in.text += std::string(" ") + ci->op_str;
    out.push_back(std::move(in));
  }
  cs_free(ci, 1);
  return out;
}

bool gprOf(unsigned reg, int* index, uint32_t* mask, int* shift) {
  static const unsigned r32[8] = {X86_REG_EAX, X86_REG_ECX, X86_REG_EDX, X86_REG_EBX,
                                  X86_REG_ESP, X86_REG_EBP, X86_REG_ESI, X86_REG_EDI};
  static const unsigned r16[8] = {X86_REG_AX, X86_REG_CX, X86_REG_DX, X86_REG_BX,
                                  X86_REG_SP, X86_REG_BP, X86_REG_SI, X86_REG_DI};
  static const unsigned r8l[4] = {X86_REG_AL, X86_REG_CL, X86_REG_DL, X86_REG_BL};
  static const unsigned r8h[4] = {X86_REG_AH, X86_REG_CH, X86_REG_DH, X86_REG_BH};
  for (int i = 0; i < 8; i++) {
    if (reg == r32[i]) { *index = i; *mask = 0xffffffffu; *shift = 0; return true; }
    if (reg == r16[i]) { *index = i; *mask = 0xffffu; *shift = 0; return true; }
    if (i < 4 && reg == r8l[i]) { *index = i; *mask = 0xffu; *shift = 0; return true; }
    if (i < 4 && reg == r8h[i]) { *index = i; *mask = 0xff00u; *shift = 8; return true; }
  }
  return false;
}

namespace {

// Capstone's eflags bits, split into ours.
struct CsBits { uint32_t reads, defines, undefines; };

CsBits fromCapstone(uint64_t e) {
  struct Map { uint32_t flag; uint64_t test, def, undef; };
  static const Map m[] = {
      {CF, X86_EFLAGS_TEST_CF, X86_EFLAGS_MODIFY_CF | X86_EFLAGS_RESET_CF | X86_EFLAGS_SET_CF, X86_EFLAGS_UNDEFINED_CF},
      {PF, X86_EFLAGS_TEST_PF, X86_EFLAGS_MODIFY_PF | X86_EFLAGS_RESET_PF | X86_EFLAGS_SET_PF, X86_EFLAGS_UNDEFINED_PF},
      {AF, X86_EFLAGS_TEST_AF, X86_EFLAGS_MODIFY_AF | X86_EFLAGS_RESET_AF | X86_EFLAGS_SET_AF, X86_EFLAGS_UNDEFINED_AF},
      {ZF, X86_EFLAGS_TEST_ZF, X86_EFLAGS_MODIFY_ZF | X86_EFLAGS_RESET_ZF | X86_EFLAGS_SET_ZF, X86_EFLAGS_UNDEFINED_ZF},
      {SF, X86_EFLAGS_TEST_SF, X86_EFLAGS_MODIFY_SF | X86_EFLAGS_RESET_SF | X86_EFLAGS_SET_SF, X86_EFLAGS_UNDEFINED_SF},
      {OF, X86_EFLAGS_TEST_OF, X86_EFLAGS_MODIFY_OF | X86_EFLAGS_RESET_OF | X86_EFLAGS_SET_OF, X86_EFLAGS_UNDEFINED_OF},
      {DF, X86_EFLAGS_TEST_DF, X86_EFLAGS_MODIFY_DF | X86_EFLAGS_RESET_DF | X86_EFLAGS_SET_DF, 0},
  };
  CsBits b{0, 0, 0};
  for (const Map& x : m) {
    if (e & x.test) b.reads |= x.flag;
    if (e & x.undef) b.undefines |= x.flag;
    else if (e & x.def) b.defines |= x.flag;
  }
  return b;
}

uint32_t regValue(const GuestState& st, unsigned reg) {
  int i, sh;
  uint32_t mask;
  if (!gprOf(reg, &i, &mask, &sh)) return 0;
  return (st.regs[i] & mask) >> sh;
}

// Value of a source operand (register or memory), for the "is the source zero" questions.
bool operandValue(const Insn& in, const cs_x86_op& op, const Pre& pre, uint64_t* v) {
  if (op.type == X86_OP_REG) { *v = regValue(pre.st, op.reg); return true; }
  if (op.type == X86_OP_IMM) { *v = uint64_t(op.imm); return true; }
  if (op.type != X86_OP_MEM) return false;
  uint32_t ea = uint32_t(op.mem.disp);
  if (op.mem.base != X86_REG_INVALID) ea += regValue(pre.st, op.mem.base);
  if (op.mem.index != X86_REG_INVALID) ea += regValue(pre.st, op.mem.index) * uint32_t(op.mem.scale);
  (void)in;
  *v = 0;
  return pre.read(ea, v, op.size);
}

bool isShift(unsigned id) {
  return id == X86_INS_SHL || id == X86_INS_SAL || id == X86_INS_SHR || id == X86_INS_SAR;
}
bool isRotate(unsigned id) {
  return id == X86_INS_ROL || id == X86_INS_ROR || id == X86_INS_RCL || id == X86_INS_RCR;
}
bool hasRep(const Insn& in) {
  return in.x86.prefix[0] == X86_PREFIX_REP || in.x86.prefix[0] == X86_PREFIX_REPNE;
}

}  // namespace

// x87 instructions: Capstone's `eflags` is their `fpu_flags` (a union), so it says nothing about
// EFLAGS. FCOMI and its kin write ZF, PF, CF and clear OF, SF, AF (SDM); Unicorn 2.0.1 (QEMU 5.0)
// leaves OF, SF, AF alone, so those three are taken as undefined. FCMOVcc reads its condition.
bool x87Effect(const Insn& in, Effect* e) {
  const uint8_t op = in.x86.opcode[0];
  if (op < 0xd8 || op > 0xdf) return false;
  *e = Effect{};
  switch (in.id) {
    case X86_INS_FCOMI: case X86_INS_FCOMIP: case X86_INS_FUCOMI: case X86_INS_FUCOMIP:
      e->defines = ZF | PF | CF;
      e->undefines = OF | SF | AF;
      break;
    case X86_INS_FCMOVB: case X86_INS_FCMOVNB: e->reads = CF; break;
    case X86_INS_FCMOVE: case X86_INS_FCMOVNE: e->reads = ZF; break;
    case X86_INS_FCMOVBE: case X86_INS_FCMOVNBE: e->reads = CF | ZF; break;
    case X86_INS_FCMOVU: case X86_INS_FCMOVNU: e->reads = PF; break;
    default: break;
  }
  return true;
}

Effect effectOf(const Insn& in, const Pre* pre) {
  if (Effect f; x87Effect(in, &f)) return f;
  const cs_x86& x = in.x86;
  CsBits cs = fromCapstone(x.eflags);
  Effect e{cs.reads, cs.defines, cs.undefines};
  const unsigned id = in.id;

  // Reads Capstone 4 does not report.
  switch (id) {
    case X86_INS_ADC: case X86_INS_SBB: case X86_INS_RCL: case X86_INS_RCR: case X86_INS_CMC:
      e.reads |= CF; break;
    case X86_INS_LAHF: e.reads |= SF | ZF | AF | PF | CF; break;
    case X86_INS_PUSHF: case X86_INS_PUSHFD: e.reads |= kArith | DF; break;
    case X86_INS_DAA: case X86_INS_DAS: e.reads |= AF | CF; break;
    case X86_INS_AAA: case X86_INS_AAS: e.reads |= AF; break;
    default: break;
  }
  // IMUL leaves SF undefined (SDM); Capstone says modified.
  if (id == X86_INS_IMUL) { e.defines &= ~SF; e.undefines |= SF; }

  // Shifts and rotates: what they define depends on the masked count, which is an immediate (or
  // the implicit 1) or CL. A masked count of 0 changes no flag at all.
  const bool shd = id == X86_INS_SHLD || id == X86_INS_SHRD;
  if (isShift(id) || isRotate(id) || shd) {
    const int width = x.operands[0].size * 8;
    const cs_x86_op& cnt = x.operands[x.op_count - 1];
    bool known = true;
    uint32_t count = 1;
    if (x.op_count >= 2 && cnt.type == X86_OP_IMM) count = uint32_t(cnt.imm);
    else if (x.op_count >= 2 && cnt.type == X86_OP_REG) {
      if (pre) count = pre->st.regs[ECX] & 0xff; else known = false;
    }
    const uint32_t masked = count & 0x1f;
    if (!known) {
      // Count 0 keeps every flag, so nothing is certainly defined; any count may undefine these.
      e.defines = 0;
      e.undefines = OF;
      if (isShift(id) || shd) e.undefines |= AF;
      if ((id == X86_INS_SHL || id == X86_INS_SAL || id == X86_INS_SHR) && width < 32)
        e.undefines |= CF;                  // count >= width
      if (shd && width == 16) e.undefines |= kArith;  // count > 16
    } else if (masked == 0) {
      e.defines = e.undefines = 0;
    } else if (isRotate(id)) {
      e.defines = CF | (masked == 1 ? OF : 0);
      e.undefines = masked == 1 ? 0 : OF;
    } else if (shd && int(masked) > width) {
      // 16-bit SHLD/SHRD by more than 16: destination and all flags undefined.
      e.defines = 0;
      e.undefines = kArith;
      if (x.operands[0].type == X86_OP_REG) {
        int i, sh;
        uint32_t mask;
        if (gprOf(x.operands[0].reg, &i, &mask, &sh)) { e.undefReg = i; e.undefRegBits = mask; }
      }
    } else {
      e.defines = CF | SF | ZF | PF | (masked == 1 ? OF : 0);
      e.undefines = AF | (masked == 1 ? 0 : OF);
      if ((id == X86_INS_SHL || id == X86_INS_SAL || id == X86_INS_SHR) && int(masked) >= width) {
        e.defines &= ~CF;
        e.undefines |= CF;
      }
    }
  }

  // REP CMPS/SCAS with ECX = 0 execute no iteration and keep every flag.
  if ((id == X86_INS_CMPSB || id == X86_INS_CMPSW || id == X86_INS_CMPSD ||
       id == X86_INS_SCASB || id == X86_INS_SCASW || id == X86_INS_SCASD) && hasRep(in)) {
    if (!pre || pre->st.regs[ECX] == 0) e.defines = 0;
  }

  // BSF/BSR with a zero source leave the destination undefined.
  if ((id == X86_INS_BSF || id == X86_INS_BSR) && pre) {
    uint64_t v = 1;
    if (operandValue(in, x.operands[1], *pre, &v) && v == 0) {
      int i, sh;
      uint32_t mask;
      if (gprOf(x.operands[0].reg, &i, &mask, &sh)) { e.undefReg = i; e.undefRegBits = mask; }
    }
  }
  return e;
}

Outcome runMasked(const CaseInput& in, const std::vector<Insn>& insns, Masks* m) {
  std::optional<Effect> pending;
  auto apply = [&](const Effect& e) {
    m->flags = applyEffect(m->flags, e);
    if (e.undefReg >= 0) m->regBits[e.undefReg] |= e.undefRegBits;
  };
  StepFn step = [&](const GuestState& pre, const MemRead& read) {
    if (pending) apply(*pending);
    pending.reset();
    for (const Insn& i : insns)
      if (i.addr == pre.eip) {
        Pre p{pre, read};
        pending = effectOf(i, &p);
        break;
      }
  };
  Outcome o = runOracle(in, step);
  if (o.kind == OutKind::Completed && pending) apply(*pending);
  return o;
}

std::string flagNames(uint32_t f) {
  static const struct { uint32_t bit; const char* name; } n[] = {
      {CF, "CF"}, {PF, "PF"}, {AF, "AF"}, {ZF, "ZF"}, {SF, "SF"}, {IF, "IF"}, {DF, "DF"}, {OF, "OF"}};
  std::string s;
  for (auto& x : n)
    if (f & x.bit) { if (!s.empty()) s += ' '; s += x.name; }
  return s.empty() ? "-" : s;
}

}  // namespace diff
