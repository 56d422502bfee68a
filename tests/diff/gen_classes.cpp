// One generator per instruction class: each call emits one unit (an instruction under test plus
// whatever it needs: a flag definer, a loaded count, a comparand, the rest of a call/ret pattern).
#include <algorithm>

#include "tests/diff/gen_context.h"

namespace diff::gen {
namespace {

// A flag-setting instruction that defines all six arithmetic flags (or five, for logic ops).
void flagSetter(Gen& g) {
  int s = g.size();
  switch (g.r.below(6)) {
    case 0: g.a.cmp(g.gp(s, false), g.gp(s, false)); break;
    case 1: g.a.cmp(g.gp(s, false), immOf(s, g.val())); break;
    case 2: g.a.test(g.gp(s, false), g.gp(s, false)); break;
    case 3: g.a.sub(g.gp(s, true), g.gp(s, false)); break;
    case 4: g.a.add(g.gp(s, true), immOf(s, g.val())); break;
    default: g.a.neg(g.gp(s, true)); break;
  }
}

// --- alu2: add/or/adc/sbb/and/sub/xor/cmp/test/mov in all operand forms ---------------------
void genAlu2(Gen& g) {
  static const Id ops[] = {I::Inst::kIdAdd, I::Inst::kIdOr, I::Inst::kIdAdc, I::Inst::kIdSbb,
                           I::Inst::kIdAnd, I::Inst::kIdSub, I::Inst::kIdXor, I::Inst::kIdCmp,
                           I::Inst::kIdTest, I::Inst::kIdMov};
  const int k = int(g.r.below(10));  // k < 8: group-1 opcode extension /k
  const Id op = ops[k];
  const int s = g.size();
  const bool w = op != I::Inst::kIdCmp && op != I::Inst::kIdTest;
  if (op == I::Inst::kIdAdc || op == I::Inst::kIdSbb) g.needFlags(CF);
  switch (g.r.below(5)) {
    case 0: {
      Gp d = g.gp(s, w), src = g.gp(s, false);
      // The "r, r/m" direction of the same operation: other opcode, same meaning.
      if ((k < 8 || op == I::Inst::kIdMov) && g.r.chance(30)) {
        int opc = k < 8 ? k * 8 + 2 : 0x8A;
        g.o16(s);
        g.db({opc + (s == 1 ? 0 : 1), 0xC0 | Gen::code(d) << 3 | Gen::code(src)});
      } else {
        g.a.emit(op, d, src);
      }
      break;
    }
    case 1: {
      Gp d = g.gp(s, w);
      uint32_t v = g.val();
      if (s == 1 && k < 8 && g.r.chance(15)) g.db({0x82, 0xC0 | k << 3 | Gen::code(d), int(v & 0xff)});
      else g.a.emit(op, d, immOf(s, v));
      break;
    }
    case 2: {
      Gp d = g.gp(s, w);
      Mem m = g.mem(s);
      g.segPrefix();
      if (op == I::Inst::kIdTest) g.a.emit(op, m, d);
      else g.a.emit(op, d, m);
      break;
    }
    case 3: {
      Gp src = g.gp(s, false);
      Mem m = g.mem(s);
      g.segPrefix();
      g.a.emit(op, m, src);
      break;
    }
    default: {
      uint32_t v = g.val();
      Mem m = g.mem(s);
      g.segPrefix();
      g.a.emit(op, m, immOf(s, v));
      break;
    }
  }
}

// --- alu1: inc/dec/neg/not --------------------------------------------------------------------
void genAlu1(Gen& g) {
  static const Id ops[] = {I::Inst::kIdInc, I::Inst::kIdDec, I::Inst::kIdNot, I::Inst::kIdNeg};
  const int k = int(g.r.below(4));
  const int s = g.size();
  if (g.r.chance(60)) {
    Gp d = g.gp(s, true);
    if (g.r.chance(40)) {  // FE/FF (inc/dec) and F6/F7 (not /2, neg /3) ModRM forms by hand
      const int ext = k;  // inc /0, dec /1 (FE/FF); not /2, neg /3 (F6/F7)
      int opc = k < 2 ? (s == 1 ? 0xFE : 0xFF) : (s == 1 ? 0xF6 : 0xF7);
      g.o16(s);
      g.db({opc, 0xC0 | ext << 3 | Gen::code(d)});
    } else {
      g.a.emit(ops[k], d);
    }
  } else {
    g.a.emit(ops[k], g.mem(s));
  }
}

// --- shift: shl/shr/sar/rol/ror/rcl/rcr by 1, CL, imm ------------------------------------------
uint32_t shiftCount(Gen& g) {
  static const uint32_t counts[] = {0, 1, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 255};
  return g.r.chance(70) ? g.r.pick(counts) : g.r.below(256);
}

void genShift(Gen& g) {
  static const Id ops[] = {I::Inst::kIdShl, I::Inst::kIdShr, I::Inst::kIdSar, I::Inst::kIdRol,
                           I::Inst::kIdRor, I::Inst::kIdRcl, I::Inst::kIdRcr};
  static const int ext[] = {4, 5, 7, 0, 1, 2, 3};
  const int k = int(g.r.below(7));
  const int s = g.size();
  const int form = int(g.r.below(3));  // 0: by 1, 1: by CL, 2: by imm8
  const uint32_t count = shiftCount(g);
  if (form == 1 && g.r.chance(70)) g.a.mov(x86::cl, Imm(int8_t(count)));
  if (k >= 5) g.needFlags(CF);
  const bool toReg = g.r.chance(60);
  Operand dst = toReg ? Operand(g.gp(s, true)) : Operand(g.mem(s));
  const int modrm = toReg ? (0xC0 | ext[k] << 3 | Gen::code(dst.as<Gp>())) : 0;
  switch (form) {
    case 0:
      if (toReg && g.r.chance(40)) { g.o16(s); g.db({s == 1 ? 0xD0 : 0xD1, modrm}); }
      else g.a.emit(ops[k], dst, Imm(1));
      break;
    case 1: g.a.emit(ops[k], dst, x86::cl); break;
    default:
      if (toReg && g.r.chance(30)) { g.o16(s); g.db({s == 1 ? 0xC0 : 0xC1, modrm, int(count & 0xff)}); }
      else g.a.emit(ops[k], dst, Imm(uint8_t(count)));
      break;
  }
}

// --- shiftd: shld/shrd by imm and CL -----------------------------------------------------------
void genShiftd(Gen& g) {
  const Id op = g.r.chance(50) ? I::Inst::kIdShld : I::Inst::kIdShrd;
  const int s = g.size16or32();
  // 16-bit counts above 16 leave the destination undefined: keep the masked count <= 16.
  uint32_t count = s == 2 ? uint32_t(g.r.range(0, 16)) + (g.r.chance(20) ? 32 : 0) : shiftCount(g);
  const bool byCl = g.r.chance(50);
  if (byCl && (s == 2 || g.r.chance(70))) g.a.mov(x86::cl, Imm(int8_t(count)));
  Gp src = g.gp(s, false);
  Operand dst = g.r.chance(60) ? Operand(g.gp(s, true)) : Operand(g.mem(s));
  if (byCl) g.a.emit(op, dst, src, x86::cl);
  else g.a.emit(op, dst, src, Imm(uint8_t(count)));
}

// --- muldiv: mul/imul (1, 2, 3 operands), div/idiv --------------------------------------------
int64_t sext(uint64_t v, int bits) { return int64_t(v << (64 - bits)) >> (64 - bits); }

// mode 0: a division that does not fault; 1: divisor 0; 2: quotient out of range.
void genDivide(Gen& g, int mode) {
  const bool sgn = g.r.chance(50);
  const int s = g.size(), bits = s * 8;
  const uint64_t vmask = (1ull << bits) - 1;
  uint64_t dividend;  // 2*bits wide
  uint64_t divisor;   // bits wide
  if (!sgn) {
    divisor = mode == 1 ? 0 : (g.val() & vmask);
    if (mode != 1 && divisor == 0) divisor = 1 + g.r.below(uint32_t(std::min<uint64_t>(vmask, 1000)));
    if (mode == 2) {  // high half >= divisor: the quotient does not fit
      uint64_t hi = divisor + (g.r.next() % (vmask - divisor + 1));
      dividend = hi << bits | (g.r.next() & vmask);
    } else {
      uint64_t q = g.val() & vmask, rem = divisor > 1 ? g.r.next() % divisor : 0;
      dividend = q * divisor + rem;
    }
  } else {
    const int64_t smin = -(int64_t(1) << (bits - 1)), smax = -smin - 1;
    int64_t v = mode == 1 ? 0 : sext(g.val(), bits);
    int64_t d;
    if (mode == 2) {
      if (g.r.chance(30)) {  // (nearly) the most negative dividend / -1
        v = -1;
        // Exactly INT64_MIN / -1 kills Unicorn itself: its idivl helper divides in host int64
        // and takes SIGFPE. One above it faults the same way on the guest.
        d = bits == 32 ? INT64_MIN + 1 + g.r.below(1000) : -(int64_t(1) << (2 * bits - 1));
      } else {
        v = g.r.range(1, 64) * (g.r.chance(50) ? 1 : -1);
        int64_t q = g.r.chance(50) ? smax + 1 + g.r.below(16) : smin - 1 - g.r.below(16);
        d = q * v;
      }
    } else {
      if (v == 0 && mode == 0) v = g.r.range(1, 100) * (g.r.chance(50) ? 1 : -1);
      int64_t q = sext(g.val(), bits);
      if (q < smin || q > smax) q = 0;
      int64_t mag = v < 0 ? -v : v;
      int64_t rem = mag > 1 ? int64_t(g.r.next() % uint64_t(mag)) : 0;
      int64_t prod = q * v;
      if (prod < 0 || (prod == 0 && g.r.chance(50))) rem = -rem;
      d = prod + rem;
    }
    dividend = uint64_t(d);
    divisor = uint64_t(v) & vmask;
  }
  // Dividend into AX, DX:AX or EDX:EAX; untouched upper halves keep random bits.
  if (s == 1) {
    g.a.mov(x86::eax, Imm(int32_t((g.val() & 0xffff0000u) | (dividend & 0xffff))));
  } else if (s == 2) {
    g.a.mov(x86::eax, Imm(int32_t((g.val() & 0xffff0000u) | (dividend & 0xffff))));
    g.a.mov(x86::edx, Imm(int32_t((g.val() & 0xffff0000u) | ((dividend >> 16) & 0xffff))));
  } else {
    g.a.mov(x86::eax, Imm(int32_t(uint32_t(dividend))));
    g.a.mov(x86::edx, Imm(int32_t(uint32_t(dividend >> 32))));
  }
  Operand src;
  if (g.r.chance(60)) {
    Gp d;
    if (s == 1) {
      for (;;) {  // any writable byte register except AL/AH
        d = g.gp(1, true);
        if (d.id() != 0) break;
      }
    } else {
      int i = g.regNot((1 << EAX) | (1 << EDX));
      d = s == 2 ? Gp(x86::gpw(uint32_t(i))) : Gp(x86::gpd(uint32_t(i)));
    }
    g.a.mov(d, immOf(s, uint32_t(divisor)));
    src = d;
  } else {
    Mem m = g.mem(s);
    g.a.mov(m, immOf(s, uint32_t(divisor)));
    src = m;
  }
  g.a.emit(sgn ? I::Inst::kIdIdiv : I::Inst::kIdDiv, src);
}

void genMuldiv(Gen& g) {
  switch (g.r.below(5)) {
    case 0: {
      const int s = g.size();
      g.a.emit(g.r.chance(50) ? I::Inst::kIdMul : I::Inst::kIdImul, g.rm(s, false));
      break;
    }
    case 1: {
      const int s = g.size16or32();
      Gp d = g.gp(s, true);
      g.a.emit(I::Inst::kIdImul, d, g.rm(s, false));
      break;
    }
    case 2: {
      const int s = g.size16or32();
      Gp d = g.gp(s, true);
      uint32_t v = g.r.chance(50) ? uint32_t(g.r.range(-128, 127)) : g.val();
      g.a.emit(I::Inst::kIdImul, d, g.rm(s, false), immOf(s, v));
      break;
    }
    default: genDivide(g, 0); break;
  }
}

// --- divfault: random ALU work, then a #DE (div/idiv by 0 or overflow, aam 0) -----------------
void genDivfault(Gen& g) {
  if (!g.last()) return genAlu2(g);
  if (g.r.chance(15)) {
    g.a.mov(x86::ax, Imm(int16_t(g.val())));
    g.db({0xD4, 0x00});  // aam 0
  } else {
    genDivide(g, g.r.chance(40) ? 1 : 2);
  }
  g.expectVector = 0;
  for (int i = g.r.range(0, 2); i > 0; i--) genAlu2(g);  // must never run
}

// --- faults: other exceptions, faults (EIP of the instruction) and traps (EIP after it) -------
void genFaults(Gen& g) {
  if (!g.last()) return genAlu2(g);
  g.markDead();
  switch (g.r.below(5)) {
    case 0: g.db({0x0F, 0x0B}); g.expectVector = 6; break;  // ud2
    case 1:  // lock on a register destination: #UD
      g.db({0xF0, 0x01, 0xC0 | int(g.r.below(8)) << 3 | int(g.r.below(8))});
      g.expectVector = 6;
      break;
    case 2: g.db({0xCC}); g.expectVector = 3; break;  // int3
    case 3: {  // into with OF set
      g.a.mov(x86::al, Imm(0x7f));
      g.a.add(x86::al, Imm(1));
      g.db({0xCE});
      g.expectVector = 4;
      break;
    }
    default: {
      // int n, for vectors without an error code (a software int never pushes one). Not 6:
      // Unicorn reports any vector 6 as an invalid instruction, with EIP at the int.
      static const int vec[] = {0, 1, 2, 3, 4, 5, 7, 9, 15, 16, 18, 19, 20, 31};
      g.expectVector = g.r.pick(vec);
      g.db({0xCD, g.expectVector});
      break;
    }
  }
  for (int i = g.r.range(0, 2); i > 0; i--) genAlu2(g);  // must never run
}

// --- bit: bt/bts/btr/btc, bsf/bsr -------------------------------------------------------------
void genBit(Gen& g) {
  static const Id ops[] = {I::Inst::kIdBt, I::Inst::kIdBts, I::Inst::kIdBtr, I::Inst::kIdBtc};
  const Id op = g.r.pick(ops);
  const bool w = op != I::Inst::kIdBt;
  const int s = g.size16or32();
  switch (g.r.below(6)) {
    case 0: {
      Gp d = g.gp(s, w);
      g.a.emit(op, d, g.gp(s, false));
      break;
    }
    case 1: {
      Gp d = g.gp(s, w);
      g.a.emit(op, d, Imm(uint8_t(g.r.below(256))));
      break;
    }
    case 2: g.a.emit(op, g.mem(s), Imm(uint8_t(g.r.below(256)))); break;
    case 3: {
      // Register bit offsets address memory beyond the operand: keep them within the data area
      // (+-6 KiB around the operand for 32-bit, the full signed 16-bit range for 16-bit).
      int o = g.reg(true);
      int32_t v = g.r.chance(30) ? g.r.range(-64, 64)
                  : s == 4     ? g.r.range(-0x1800 * 8, 0x1800 * 8 - 1)
                               : g.r.range(-0x8000, 0x7fff);
      g.a.mov(x86::gpd(uint32_t(o)), Imm(v));
      Mem m = g.mem(s, kBase | kAbs);
      g.a.emit(op, m, s == 2 ? Gp(x86::gpw(uint32_t(o))) : Gp(x86::gpd(uint32_t(o))));
      break;
    }
    default: {
      const Id bop = g.r.chance(50) ? I::Inst::kIdBsf : I::Inst::kIdBsr;
      Operand src;
      if (g.r.chance(60)) {
        Gp sr = g.gp(s, false);
        if (g.r.chance(10) && (g.writable >> sr.id() & 1)) g.a.mov(sr, Imm(0));  // zero source
        src = sr;
      } else {
        Mem m = g.mem(s);
        if (g.r.chance(10)) g.a.mov(m, Imm(0));
        src = m;
      }
      g.a.emit(bop, g.gp(s, true), src);
      break;
    }
  }
}

// --- ext: movzx/movsx/cbw/cwde/cwd/cdq/bswap/lea ------------------------------------------------
void genExt(Gen& g) {
  switch (g.r.below(8)) {
    case 0: case 1: {
      static const int forms[][2] = {{2, 1}, {4, 1}, {4, 2}};
      const int f = int(g.r.below(3));
      Gp d = g.gp(forms[f][0], true);
      g.a.emit(g.r.chance(50) ? I::Inst::kIdMovzx : I::Inst::kIdMovsx, d, g.rm(forms[f][1], false));
      break;
    }
    case 2: {
      static const int seqs[][2] = {{0x66, 0x98}, {0x98, -1}, {0x66, 0x99}, {0x99, -1}};
      const auto& q = seqs[g.r.below(4)];
      g.db({q[0]});
      if (q[1] >= 0) g.db({q[1]});
      break;
    }
    case 3: g.a.bswap(g.gp(4, true)); break;
    default: {
      Gp d = g.gp(g.r.chance(20) ? 2 : 4, true);
      const int32_t disp = g.r.chance(50) ? g.disp() : int32_t(g.val());
      Gp b = x86::gpd(uint32_t(g.reg(false)));
      Gp idx;
      do idx = x86::gpd(uint32_t(g.reg(false)));
      while (idx.id() == ESP);  // ESP cannot be an index
      switch (g.r.below(4)) {
        case 0: g.a.lea(d, x86::ptr_abs(uint32_t(disp))); break;               // [disp32]
        case 1: g.a.lea(d, x86::ptr(b, disp)); break;                            // [b + disp]
        case 2: g.a.lea(d, x86::ptr(b, idx, g.r.below(4), disp)); break;         // SIB
        default: g.a.lea(d, x86::ptr_abs(uint32_t(disp), idx, g.r.below(4))); break;  // SIB, no base
      }
      break;
    }
  }
}

// --- cmov_set: cmovcc/setcc after a flag-setting instruction ---------------------------------
void genCmovSet(Gen& g) {
  if (g.r.chance(70)) flagSetter(g);
  const int cc = int(g.r.below(16));
  g.needFlags(kCondReads[cc]);
  if (g.r.chance(55)) {
    const int s = g.size16or32();
    Gp d = g.gp(s, true);
    g.a.emit(x86::Inst::cmovccFromCond(x86::CondCode(cc)), d, g.rm(s, false));
  } else {
    g.a.emit(x86::Inst::setccFromCond(x86::CondCode(cc)), g.rm(1, true));
  }
}

// --- xchg: xchg/xadd/cmpxchg/cmpxchg8b --------------------------------------------------------
void genXchg(Gen& g) {
  const int s = g.size();
  switch (g.r.below(6)) {
    case 0: {
      Gp x = g.gp(s, true);
      g.a.xchg(x, g.gp(s, true));
      break;
    }
    case 1: {
      Gp x = g.gp(s, true);
      g.a.xchg(g.mem(s), x);
      break;
    }
    case 2: {
      Gp src = g.gp(s, true);
      if (g.r.chance(50)) { g.a.xadd(g.gp(s, true), src); break; }
      Mem m = g.mem(s);
      if (g.r.chance(30)) g.a.lock();
      g.a.xadd(m, src);
      break;
    }
    case 3: case 4: {
      Gp src = g.gp(s, false);
      if (g.r.chance(50)) {
        Gp d = g.gp(s, true);
        if (g.r.chance(50)) g.a.mov(acc(s), d);  // make the comparison succeed
        g.a.cmpxchg(d, src);
      } else {
        Mem m = g.mem(s);
        if (g.r.chance(50)) g.a.mov(acc(s), m);
        if (g.r.chance(30)) g.a.lock();
        g.a.cmpxchg(m, src);
      }
      break;
    }
    default: {
      Mem m = g.mem(8);
      if (g.r.chance(50)) {
        Mem lo = m, hi = m;
        lo.setSize(4);
        hi.setSize(4);
        hi.addOffset(4);
        g.a.mov(x86::eax, lo);
        g.a.mov(x86::edx, hi);
      }
      if (g.r.chance(30)) g.a.lock();
      g.a.cmpxchg8b(m);
      break;
    }
  }
}

// --- stack: push/pop, pusha/popa, enter/leave, call/ret, pushf/popf --------------------------
// Register-only work that leaves ESP alone, for the bodies of pusha/popa, enter/leave, call/ret.
void regWork(Gen& g) {
  const int s = g.size();
  switch (g.r.below(3)) {
    case 0: g.a.add(g.gp(s, true), immOf(s, g.val())); break;
    case 1: g.a.xor_(g.gp(s, true), g.gp(s, false)); break;
    default: g.a.mov(g.gp(s, true), immOf(s, g.val())); break;
  }
}

void genStack(Gen& g) {
  switch (g.r.below(13)) {
    case 0: g.a.push(g.r.chance(25) ? Gp(x86::gpw(uint32_t(g.reg(false)))) : Gp(x86::gpd(uint32_t(g.reg(false))))); break;
    case 1: {
      uint32_t v = g.val();
      if (g.r.chance(25)) {  // 16-bit push imm
        if (g.r.chance(50)) g.db({0x66, 0x6A, int(v & 0xff)});
        else { g.db({0x66, 0x68, int(v & 0xff), int(v >> 8 & 0xff)}); }
      } else {
        g.a.push(Imm(int32_t(v)));
      }
      break;
    }
    case 2: g.a.push(g.mem(g.r.chance(25) ? 2 : 4)); break;
    case 3: g.a.pop(g.gp(g.size16or32(), true)); break;
    case 4: g.a.pop(g.mem(g.r.chance(25) ? 2 : 4)); break;
    case 5: {  // pusha; work; popa restores everything (16- or 32-bit)
      const bool w16 = g.r.chance(25);
      g.db(w16 ? std::initializer_list<int>{0x66, 0x60} : std::initializer_list<int>{0x60});
      for (int i = g.r.range(0, 2); i > 0; i--) regWork(g);
      g.db(w16 ? std::initializer_list<int>{0x66, 0x61} : std::initializer_list<int>{0x61});
      break;
    }
    case 6:
      // popa and pop esp alone load random stack words into registers, the base or ESP: last
      // unit only. Otherwise: push L; ret (a return to an address no call pushed).
      if (g.last() && g.r.chance(50)) g.db({g.r.chance(50) ? 0x61 : 0x5C});
      else if (g.r.chance(30)) g.db({0x60});
      else {
        g.db({0x68});
        g.dd(Gen::kPlaceholder);
        const size_t at = g.placeholderEndingHere();
        g.db({0xC3});
        for (int i = g.r.range(0, 2); i > 0; i--) regWork(g);  // skipped
        g.patchAbs(at);
      }
      break;
    case 7: {  // enter; work on the frame; leave
      const int level = g.r.chance(80) ? g.r.range(0, 3) : g.r.range(4, 8);
      const int size = g.r.chance(20) ? 0 : g.r.range(1, 64);
      g.a.enter(Imm(uint16_t(size)), Imm(uint8_t(level)));
      for (int i = g.r.range(0, 2); i > 0; i--) {
        if (g.r.chance(50)) regWork(g);
        else if (g.r.chance(50)) g.a.mov(x86::dword_ptr(x86::ebp, -4 * g.r.range(1, 4)), g.gp(4, false));
        else g.a.push(g.gp(4, false));
      }
      g.a.leave();
      break;
    }
    case 8: {  // call L (direct, via a register or via memory); jmp E; L: work; ret [n]; E:
      Label l = g.a.newLabel(), e = g.a.newLabel();
      size_t at = 0;
      switch (g.r.below(4)) {
        case 0: {
          Gp t = g.gp(4, true);
          g.a.mov(t, Imm(int32_t(Gen::kPlaceholder)));
          at = g.placeholderEndingHere();
          g.a.call(t);
          break;
        }
        case 1: {
          Mem m = g.mem(4);
          g.a.mov(m, Imm(int32_t(Gen::kPlaceholder)));
          at = g.placeholderEndingHere();
          g.a.call(m);
          break;
        }
        default: g.a.call(l); break;
      }
      g.a.short_().jmp(e);
      g.a.bind(l);
      if (at) g.patchAbs(at);
      for (int i = g.r.range(0, 2); i > 0; i--) regWork(g);
      if (g.r.chance(50)) g.a.ret();
      else g.a.ret(Imm(uint16_t(2 * g.r.range(0, 8))));
      g.a.bind(e);
      break;
    }
    case 9:  // pushf; pop r
      g.needFlags(kArith);
      if (g.r.chance(25)) { g.db({0x66, 0x9C}); g.a.pop(g.gp(2, true)); }
      else { g.db({0x9C}); g.a.pop(g.gp(4, true)); }
      break;
    case 10: {  // push imm; popf: arithmetic flags and DF only (IF and TF stay 0)
      uint32_t v = (uint32_t(g.r.next()) & (kArith | DF)) | 2;
      if (g.r.chance(25)) g.db({0x66, 0x68, int(v & 0xff), int(v >> 8), 0x66, 0x9D});
      else { g.a.push(Imm(int32_t(v))); g.db({0x9D}); }
      break;
    }
    case 11:
      g.needFlags(kArith);
      g.db({0x9C, 0x9D});
      break;
    default:  // ESP arithmetic as compiled code does it; the drift stays well inside the stack
      switch (g.r.below(5)) {
        case 0: g.a.sub(x86::esp, Imm(g.r.range(0, 64))); break;
        case 1: g.a.add(x86::esp, Imm(g.r.range(0, 64))); break;
        case 2: g.a.and_(x86::esp, Imm(g.r.pick({-4, -8, -16}))); break;
        case 3: g.a.lea(x86::esp, x86::ptr(x86::esp, g.r.range(-64, 64))); break;
        default: g.a.mov(x86::esp, x86::ebp); break;  // EBP is a frame pointer in this class
      }
      break;
  }
}

// --- string: movs/stos/lods/cmps/scas with rep/repe/repne, DF 0 and 1 -------------------------
void genString(Gen& g) {
  if (g.r.chance(50)) g.a.mov(x86::esi, Imm(int32_t(kDataMid + g.r.range(-0x800, 0x800))));
  if (g.r.chance(50)) {
    if (g.r.chance(25)) g.a.lea(x86::edi, x86::ptr(x86::esi, g.r.range(-8, 8)));  // overlap
    else g.a.mov(x86::edi, Imm(int32_t(kDataMid + g.r.range(-0x800, 0x800))));
  }
  if (g.r.chance(40)) g.db({g.r.chance(50) ? 0xFD : 0xFC});  // std / cld
  const int kind = int(g.r.below(5));  // movs stos lods cmps scas
  static const int opc[] = {0xA4, 0xAA, 0xAC, 0xA6, 0xAE};
  const int s = g.size();
  int rep = 0;
  if (g.r.chance(60)) rep = kind >= 3 && g.r.chance(50) ? 0xF2 : 0xF3;
  if (rep && g.r.chance(75)) g.a.mov(x86::ecx, Imm(g.r.range(0, 5)));
  if (kind == 4 && g.r.chance(40)) g.a.mov(acc(s), x86::ptr(x86::edi, 0, uint32_t(s)));  // a match
  if (kind == 3 && g.r.chance(20)) g.a.mov(x86::esi, x86::edi);                         // all equal
  if (kind != 1 && kind != 4) g.segPrefix();  // overrides DS:ESI (ES:EDI cannot be overridden)
  if (rep && s == 2 && g.r.chance(50)) g.db({0x66, rep});  // both prefix orders
  else {
    if (rep) g.db({rep});
    g.o16(s);
  }
  g.db({opc[kind] + (s == 1 ? 0 : 1)});
}

// --- bcd: daa/das/aaa/aas/aam/aad -------------------------------------------------------------
void genBcd(Gen& g) {
  switch (g.r.below(4)) {
    case 0: g.a.add(x86::al, Imm(int8_t(g.val()))); break;
    case 1: g.a.sub(x86::al, Imm(int8_t(g.val()))); break;
    case 2: g.a.mov(x86::ax, Imm(int16_t(g.val()))); break;
    default: break;
  }
  switch (g.r.below(6)) {
    case 0: g.needFlags(AF | CF); g.db({0x27}); break;  // daa
    case 1: g.needFlags(AF | CF); g.db({0x2F}); break;  // das
    case 2: g.needFlags(AF); g.db({0x37}); break;       // aaa
    case 3: g.needFlags(AF); g.db({0x3F}); break;       // aas
    case 4: g.db({0xD4, g.r.chance(50) ? 10 : g.r.range(1, 255)}); break;  // aam (0 is divfault's)
    default: g.db({0xD5, g.r.chance(50) ? 10 : g.r.range(0, 255)}); break; // aad
  }
}

// --- flags: clc/stc/cmc/lahf/sahf/cld/std -----------------------------------------------------
void genFlags(Gen& g) {
  switch (g.r.below(8)) {
    case 0: g.db({0xF8}); break;
    case 1: g.db({0xF9}); break;
    case 2: g.needFlags(CF); g.db({0xF5}); break;
    case 3: g.needFlags(SF | ZF | AF | PF | CF); g.db({0x9F}); break;
    case 4:
      if (g.r.chance(50)) g.a.mov(x86::ah, Imm(int8_t(g.val())));
      g.db({0x9E});
      break;
    case 5: g.db({g.r.chance(50) ? 0xFC : 0xFD}); break;
    default: flagSetter(g); break;
  }
}

// --- branch: jcc/jmp/loop/loope/loopne/jecxz, short forward; the skipped work shows the path ---
void skipped(Gen& g) {
  for (int i = g.r.range(1, 3); i > 0; i--) {
    const int s = g.size();
    switch (g.r.below(3)) {
      case 0: g.a.add(g.gp(s, true), immOf(s, g.val())); break;
      case 1: g.a.inc(g.gp(s, true)); break;
      default: g.a.mov(g.gp(s, true), immOf(s, g.val())); break;
    }
  }
}

void genBranch(Gen& g) {
  if (g.r.chance(60)) flagSetter(g);
  switch (g.r.below(7)) {
    case 0: case 1: case 4: {
      const bool jcc = g.r.chance(75);
      const int cc = int(g.r.below(16));
      if (jcc) g.needFlags(kCondReads[cc]);
      Label l = g.a.newLabel();
      const Id id = jcc ? x86::Inst::jccFromCond(x86::CondCode(cc)) : I::Inst::kIdJmp;
      if (g.r.chance(60)) g.a.short_().emit(id, l);
      else g.a.long_().emit(id, l);
      const uint32_t u = g.undefNow();
      skipped(g);
      g.a.bind(l);
      g.mergeUndef(u);
      break;
    }
    case 2: {  // bounded backward loop: mov ecx/r, n; L: work; loop L / dec r; jnz L
      const bool useLoop = g.r.chance(50);
      const int ctr = useLoop ? ECX : g.reg(true);
      g.a.mov(x86::gpd(uint32_t(ctr)), Imm(g.r.range(1, 5)));
      Label l = g.a.newLabel();
      g.a.bind(l);
      const uint8_t saved = g.writable;
      g.writable &= uint8_t(~(1 << ctr));  // the body must not touch the counter
      for (int i = g.r.range(1, 2); i > 0; i--) regWork(g);
      g.writable = saved;
      if (useLoop) g.a.loop(x86::ecx, l);
      else {
        g.a.dec(x86::gpd(uint32_t(ctr)));
        g.a.jnz(l);
      }
      break;
    }
    case 3: {  // indirect jmp through a register or memory, forward
      size_t at;
      if (g.r.chance(50)) {
        Gp t = g.gp(4, true);
        g.a.mov(t, Imm(int32_t(Gen::kPlaceholder)));
        at = g.placeholderEndingHere();
        g.a.jmp(t);
      } else {
        Mem m = g.mem(4);
        g.a.mov(m, Imm(int32_t(Gen::kPlaceholder)));
        at = g.placeholderEndingHere();
        g.a.jmp(m);
      }
      const uint32_t u = g.undefNow();
      skipped(g);
      g.patchAbs(at);
      g.mergeUndef(u);
      break;
    }
    default: {
      static const int ops[] = {0xE2, 0xE1, 0xE0, 0xE3};  // loop loope loopne jecxz
      const int op = g.r.pick(ops);
      const bool cx16 = g.r.chance(20);  // 67 prefix: CX instead of ECX
      if (g.r.chance(70)) {
        static const uint32_t counts[] = {0, 1, 2, 3, 0x10000, 0x10001};
        g.a.mov(x86::ecx, Imm(int32_t(g.r.chance(80) ? g.r.pick(counts) : g.val())));
      }
      if (op == 0xE1 || op == 0xE0) g.needFlags(ZF);
      if (cx16) g.db({0x67});
      g.db({op, 0});
      const size_t at = g.here() - 1;
      const uint32_t u = g.undefNow();
      skipped(g);
      g.patchRel8(at);
      g.mergeUndef(u);
      break;
    }
  }
}

// --- inc_dec_rex: the one-byte 0x40-0x4F inc/dec (REX prefixes in 64-bit mode) --------------
void genIncDecRex(Gen& g) {
  if (g.r.chance(25)) return genAlu2(g);
  int r;
  do r = int(g.r.below(8));
  while (r != ESP && !(g.writable >> r & 1));  // ESP too: nothing else here uses the stack
  if (g.r.chance(25)) g.db({0x66});
  g.db({0x40 + (g.r.chance(50) ? 8 : 0) + r});
}

// --- moffs: A0-A3 mov al/ax/eax <-> [abs] -----------------------------------------------------
void genMoffs(Gen& g) {
  if (g.r.chance(30)) {
    if (g.r.chance(50)) g.a.add(x86::eax, Imm(int32_t(g.val())));
    else g.a.mov(x86::eax, Imm(int32_t(g.val())));
  }
  if (g.r.chance(10)) g.db({g.r.pick({0x26, 0x36, 0x3E, 0x64, 0x65})});  // flat segment overrides
  static const int forms[][2] = {{-1, 0xA0}, {-1, 0xA1}, {0x66, 0xA1}, {-1, 0xA2}, {-1, 0xA3}, {0x66, 0xA3}};
  const auto& f = forms[g.r.below(6)];
  if (f[0] >= 0) g.db({f[0]});
  g.db({f[1]});
  g.dd(kData + g.r.below(kDataSize - 4));
}

// --- class table ------------------------------------------------------------------------------
void setupStack(Gen& g) {
  // EBP is a frame pointer into the stack (ENTER with a nesting level reads through it).
  g.in.init.regs[EBP] = kStackInit + 4 * uint32_t(g.r.range(1, 32));
  g.writable &= uint8_t(~(1 << EBP));
}
void setupString(Gen& g) {
  for (int i : {ESI, EDI})  // sometimes at a page boundary, so elements straddle it
    g.in.init.regs[i] = kDataMid + uint32_t(g.r.chance(20) ? g.r.range(-8, 2) : g.r.range(-0x800, 0x800));
  g.in.init.regs[ECX] = uint32_t(g.r.range(0, 5));
}

}  // namespace

const std::vector<ClassDef>& classTable() {
  static const std::vector<ClassDef> table = {
    {"alu2", genAlu2, kAllBases, nullptr},
    {"alu1", genAlu1, kAllBases, nullptr},
    {"shift", genShift, kAllBases, nullptr},
    {"shiftd", genShiftd, kAllBases, nullptr},
    {"muldiv", genMuldiv, kAllBases, nullptr},
    {"divfault", genDivfault, kAllBases, nullptr},
    {"faults", genFaults, kAllBases, nullptr},
    {"bit", genBit, kAllBases, nullptr},
    {"ext", genExt, kAllBases, nullptr},
    {"cmov_set", genCmovSet, kAllBases, nullptr},
    {"xchg", genXchg, kAllBases, nullptr},
    {"stack", genStack, (1 << EBX) | (1 << ESI) | (1 << EDI), setupStack},
    {"string", genString, (1 << EBX) | (1 << EBP), setupString},
    {"bcd", genBcd, kAllBases, nullptr},
    {"flags", genFlags, kAllBases, nullptr},
    {"branch", genBranch, kAllBases, nullptr},
    {"inc_dec_rex", genIncDecRex, kAllBases, nullptr},
    {"moffs", genMoffs, kAllBases, nullptr},
    {"x87", genX87, kAllBases, setupX87},
  };
  return table;
}


}  // namespace diff::gen
