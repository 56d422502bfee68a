// Integer instructions re-emitted as the same host instruction: guest registers are host
// registers and guest flags are host flags, so only the memory operand needs rebuilding.
#include <array>

#include "dbt/dbt.h"
#include "dbt/emitter.h"
#include "dbt/host_regs.h"
#include "dbt/operands.h"
#include "dbt/raw_emit.h"

namespace btvm {

using namespace asmjit;
using namespace host;

namespace {

int64_t immFor(int64_t v, unsigned size) {
  switch (size) {
    case 1: return int8_t(v);
    case 2: return int16_t(v);
    default: return int32_t(v);
  }
}

// The memory operand's access: operand 0 is read-modify-write unless the instruction only reads
// it (CMP, TEST, BT, MUL...) or only writes it (MOV, SETcc); any other operand is only read.
MemKind memKind(unsigned id, int index) {
  if (id == X86_INS_XCHG) return MemKind::ReadWrite;
  if (index != 0) return MemKind::Read;
  switch (id) {
    case X86_INS_CMP: case X86_INS_TEST: case X86_INS_BT: case X86_INS_MUL: case X86_INS_IMUL:
      return MemKind::Read;
    case X86_INS_MOV: case X86_INS_SETA: case X86_INS_SETAE: case X86_INS_SETB: case X86_INS_SETBE:
    case X86_INS_SETE: case X86_INS_SETG: case X86_INS_SETGE: case X86_INS_SETL: case X86_INS_SETLE:
    case X86_INS_SETNE: case X86_INS_SETNO: case X86_INS_SETNP: case X86_INS_SETNS: case X86_INS_SETO:
    case X86_INS_SETP: case X86_INS_SETS:
      return MemKind::Write;
    default:
      return MemKind::ReadWrite;
  }
}

// InstAPI::validate's verdict on an instruction form, remembered: it cost about 300 host
// instructions per guest instruction, and libc's code uses a few hundred forms. A form is the
// instruction, each register operand exactly, each memory operand's signature (the probe operand
// is always [rax] of the access size), and of each immediate only what validation looks at:
// which signed and unsigned widths (4, 8, 16, 32 bits) hold its value.
uint32_t immClass(int64_t v) {
  auto fitsS = [v](int bits) { return v >= -(int64_t(1) << (bits - 1)) && v < (int64_t(1) << (bits - 1)); };
  auto fitsU = [v](int bits) { return v >= 0 && v < (int64_t(1) << bits); };
  return uint32_t(fitsS(4)) | uint32_t(fitsU(4)) << 1 | uint32_t(fitsS(8)) << 2 | uint32_t(fitsU(8)) << 3 |
         uint32_t(fitsS(16)) << 4 | uint32_t(fitsU(16)) << 5 | uint32_t(fitsS(32)) << 6 | uint32_t(fitsU(32)) << 7 |
         uint32_t(v < 0) << 8;
}

bool validForm(InstId id, const Operand* ops, unsigned n) {
  struct Entry {
    uint32_t sig[4], data[4];
    uint16_t id;
    uint8_t n;
    bool used, valid;
  };
  constexpr size_t kEntries = 1024;
  thread_local std::array<Entry, kEntries> cache{};
  Entry k{};
  k.id = uint16_t(id);
  k.n = uint8_t(n);
  k.used = true;
  uint64_t h = id * 0x9e3779b97f4a7c15ull + n;
  for (unsigned i = 0; i < n && i < 4; ++i) {
    const Operand& o = ops[i];
    k.sig[i] = o.signature().bits();
    if (o.isReg()) k.data[i] = o.id();
    else if (o.isImm()) k.data[i] = immClass(o.as<Imm>().value());
    else if (o.isMem()) k.data[i] = o.as<x86::Mem>().baseId() | o.as<x86::Mem>().indexId() << 8;
    h = (h ^ k.sig[i]) * 0x9e3779b97f4a7c15ull;
    h = (h ^ k.data[i]) * 0xc2b2ae3d27d4eb4full;
  }
  Entry& e = cache[(h >> 40) & (kEntries - 1)];
  auto same = [&](const Entry& a) {
    if (!a.used || a.id != k.id || a.n != k.n) return false;
    for (unsigned i = 0; i < 4; ++i)
      if (a.sig[i] != k.sig[i] || a.data[i] != k.data[i]) return false;
    return true;
  };
  if (same(e)) return e.valid;
  BaseInst check(id);
  k.valid = InstAPI::validate(Arch::kX64, check, ops, n) == kErrorOk;
  e = k;
  return k.valid;
}

bool isHi(const Operand& o) {
  return o.isReg() && o.as<x86::Gp>().isGpbHi();
}

bool needsRex(const Operand& o) {
  if (o.isMem()) return true;  // host memory operands use R10/R11
  return o.isReg() && o.as<x86::Gp>().id() >= 8;
}

}  // namespace

// AH..DH cannot be encoded next to a REX prefix (which R8..R15 and our memory operands need).
// XCHG of two legacy byte registers leaves the flags alone, so the high byte is swapped into a
// low byte register that the instruction does not use (explicitly, or implicitly: CMPXCHG reads
// AL), the instruction runs on that, and the swap is undone.
void BlockEmitter::emitWithHighByteFix(InstId id, Operand* ops, unsigned count) {
  bool hi = false, rex = false;
  for (unsigned i = 0; i < count; ++i) {
    hi |= isHi(ops[i]);
    rex |= needsRex(ops[i]);
  }
  if (!(hi && rex)) {
    a_.emitOpArray(id, ops, count);
    return;
  }
  bool used[4] = {id == x86::Inst::kIdCmpxchg, false, false, false};
  for (unsigned i = 0; i < count; ++i)
    if (ops[i].isReg() && ops[i].as<x86::Gp>().id() < 4) used[ops[i].as<x86::Gp>().id()] = true;
  Operand fixed[6];
  x86::Gp hreg, partner;
  for (unsigned i = 0; i < count; ++i) {
    fixed[i] = ops[i];
    if (!isHi(ops[i])) continue;
    if (!hreg.isValid()) {
      hreg = ops[i].as<x86::Gp>();
      for (uint32_t r = 0; r < 4; ++r)
        if (!used[r]) {
          partner = x86::gpb_lo(r);
          break;
        }
    }
    fixed[i] = partner;
  }
  a_.xchg(hreg, partner);
  hi_swap_ = HiSwap{true, hreg, partner};  // a host-MMU fault in the op must undo it
  a_.emitOpArray(id, fixed, count);
  a_.xchg(hreg, partner);
}

bool BlockEmitter::emitGeneric(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  InstId id = asmjitId(insn.id);
  if (id == x86::Inst::kIdNone) return false;
  // MOVZX/MOVSX r16, r/m16 (66 0F B7/BF) are plain moves; AsmJit has no such form.
  if ((insn.id == X86_INS_MOVZX || insn.id == X86_INS_MOVSX) && x.op_count == 2 &&
      x.operands[0].size == x.operands[1].size)
    id = x86::Inst::kIdMov;
  // A register-only instruction encoded before (the same guest bytes, the same code size) is
  // copied; the others are encoded, and a register-only one is remembered.
  bool reg_only = true;
  for (unsigned i = 0; i < x.op_count; ++i) reg_only &= x.operands[i].type != X86_OP_MEM;
  if (reg_only) {
    size_t len;
    if (const uint8_t* host = reg_only_.find(insn.bytes, insn.size, code16(), &len)) {
      RawBuf(a_).bytes(host, len);
      return true;
    }
  }
  Operand ops[4];
  int mem = -1;
  unsigned n = x.op_count;
  unsigned dsize = n ? x.operands[0].size : 4;
  for (unsigned i = 0; i < n && i < 4; ++i) {
    const cs_x86_op& o = x.operands[i];
    switch (o.type) {
      case X86_OP_REG: {
        x86::Gp r = hostReg(o.reg);
        if (!r.isValid()) return false;
        ops[i] = r;
        break;
      }
      case X86_OP_IMM: ops[i] = Imm(immFor(o.imm, dsize)); break;
      case X86_OP_MEM: mem = int(i); break;
      default: return false;
    }
  }
  unsigned msize = mem >= 0 ? x.operands[mem].size : 0;
  // Capstone 4 keeps a 32-bit memory operand when 0x66 comes after other prefixes in 32-bit code
  // ("f0 66 0f a4 ..." decodes as SHLD dword [m], bx): the register operand has the real size.
  if (mem >= 0 && !code16() && x.prefix[2] == 0x66 && msize == 4 && insn.id != X86_INS_MOVZX &&
      insn.id != X86_INS_MOVSX)
    for (unsigned i = 0; i < n && i < 4; ++i)
      if (x.operands[i].type == X86_OP_REG && x.operands[i].size == 2) msize = 2;
  // An encoding AsmJit cannot express is reported as unimplemented (#UD, counted), never
  // emitted half-way.
  Operand probe[4] = {ops[0], ops[1], ops[2], ops[3]};
  if (mem >= 0) probe[mem] = x86::ptr(x86::rax, 0, msize);
  if (!validForm(id, probe, n)) return false;
  if (mem < 0) {
    size_t start = a_.offset();
    emitWithHighByteFix(id, ops, n);
    reg_only_.remember(insn.bytes, insn.size, code16(), a_.bufferData() + start, a_.offset() - start);
    return true;
  }
  const cs_x86_op& mo = x.operands[mem];
  bool hi = false;  // a swapped high byte register could be the address's register
  for (unsigned i = 0; i < n && i < 4; ++i) hi |= isHi(ops[i]);
  emitAccess(guestMem(mo, x), msize, memKind(insn.id, mem), [this, id, ops, n, mem](const x86::Mem& m) {
    Operand o2[4] = {ops[0], ops[1], ops[2], ops[3]};
    o2[mem] = m;
    emitWithHighByteFix(id, o2, n);
  }, !hi);
  return true;
}

// BT/BTS/BTR/BTC m, r: the register is a signed bit offset that also selects the word, so the
// address moves by (offset >> 5) * 4 (16-bit: >> 4, * 2) and the host sees offset mod width.
void BlockEmitter::emitBitMem(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  const cs_x86_op& m = x.operands[0];
  const cs_x86_op& b = x.operands[1];
  if (m.type != X86_OP_MEM || b.type != X86_OP_REG) {
    emitGeneric(insn);
    return;
  }
  unsigned size = m.size;
  int reg = gprIndex(b.reg);
  emitEffectiveAddress(guestMem(m, x));
  if (size == 4) {
    a_.mov(x86::r9d, 5);
    a_.sarx(x86::r8d, guest32(reg), x86::r9d);
    a_.lea(x86::r10d, x86::ptr(x86::r10, x86::r8, 2));
  } else {
    a_.movsx(x86::r8d, guest16(reg));
    a_.mov(x86::r9d, 4);
    a_.sarx(x86::r8d, x86::r8d, x86::r9d);
    a_.lea(x86::r10d, x86::ptr(x86::r10, x86::r8, 1));
  }
  InstId id = asmjitId(insn.id);
  MemKind kind = insn.id == X86_INS_BT ? MemKind::Read : MemKind::ReadWrite;
  emitAccessAtR10(guestMem(m, x).seg, size, kind, [this, id, size, reg](const x86::Mem& mem) {
    a_.mov(x86::r9d, size == 4 ? 27 : 28);
    a_.shlx(x86::r8d, guest32(reg), x86::r9d);
    a_.shrx(x86::r8d, x86::r8d, x86::r9d);
    a_.emit(id, mem, size == 4 ? x86::Gp(x86::r8d) : x86::Gp(x86::r8w));
  });
}

void BlockEmitter::emitLea(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  GuestMem m = guestMem(x.operands[1], x);
  x86::Gp d = hostReg(x.operands[0].reg);
  if (d.size() == 4 && !m.addr16 && (m.base >= 0 || m.index >= 0)) {  // the host's LEA wraps alike
    a_.lea(d, effectiveAddress(m));
    return;
  }
  emitEffectiveAddress(m);
  if (d.size() == 4) a_.mov(d, x86::r10d);
  else a_.mov(d, x86::r10w);
}

void BlockEmitter::emitXlat(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  int seg = segmentOverride(x);
  a_.movzx(x86::r10d, x86::al);
  a_.lea(x86::r10d, x86::ptr(x86::rbx, x86::r10));
  if (x.addr_size == 2) a_.movzx(x86::r10d, x86::r10w);
  emitAccessAtR10(seg < 0 ? DS : seg, 1, MemKind::Read, [this](const x86::Mem& m) { a_.mov(x86::al, m); });
}

}  // namespace btvm
