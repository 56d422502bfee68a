// Arithmetic helpers: instructions whose 32-bit encodings are invalid in 64-bit mode (BCD
// adjusts, SALC, BOUND, ARPL), DIV/IDIV (whose #DE must be precise), CPUID, RDTSC, CLD/STD, ENTER.
#include "emu/cpu/guest_access.h"
#include "emu/cpu/helpers.h"

namespace btvm {

namespace {

constexpr uint8_t kVecDE = 0, kVecBR = 5;
using flag::AF;
using flag::CF;
using flag::OF;

HelperResult divide(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, bool is_signed) {
  CpuState& c = vm.cpu;
  unsigned size = i.size;
  uint32_t divisor = readRm(vm, i, arg, i.reg, size);
  if (divisor == 0) raiseException(vm, kVecDE, 0, false);
  unsigned bits = size * 8;
  uint64_t lo_mask = (1ull << bits) - 1;
  uint64_t dividend = size == 1 ? (c.regs[EAX] & 0xffff)
                                : ((uint64_t(c.regs[EDX]) & lo_mask) << bits) | (c.regs[EAX] & lo_mask);
  uint64_t q, r;
  if (is_signed) {
    __int128 n = size == 4 ? int64_t(dividend) : size == 2 ? int32_t(uint32_t(dividend)) : int16_t(uint16_t(dividend));
    int64_t d = size == 4 ? int32_t(divisor) : size == 2 ? int16_t(divisor) : int8_t(divisor);
    __int128 sq = n / d, sr = n % d;
    __int128 lim = __int128(1) << (bits - 1);
    if (sq >= lim || sq < -lim) raiseException(vm, kVecDE, 0, false);
    q = uint64_t(sq) & lo_mask;
    r = uint64_t(sr) & lo_mask;
  } else {
    q = dividend / divisor;
    r = dividend % divisor;
    if (q > lo_mask) raiseException(vm, kVecDE, 0, false);
  }
  if (size == 1) {
    c.regs[EAX] = (c.regs[EAX] & ~0xffffu) | uint32_t(r << 8) | uint32_t(q);
  } else {
    setReg(c, EAX, size, uint32_t(q));
    setReg(c, EDX, size, uint32_t(r));
  }
  return kNext;
}

HelperResult hDiv(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) { return divide(vm, i, arg, false); }
HelperResult hIdiv(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) { return divide(vm, i, arg, true); }

uint32_t al(const CpuState& c) { return c.regs[EAX] & 0xff; }
void setAl(CpuState& c, uint32_t v) { setReg(c, EAX, 1, v); }

// DAA and DAS as the SDM's pseudo-code gives them; OF is undefined and left clear.
HelperResult hDaa(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  CpuState& c = vm.cpu;
  uint32_t old_al = al(c), a = old_al;
  bool old_cf = c.eflags & CF, cf = false, af = false;
  if ((a & 0xf) > 9 || (c.eflags & AF)) {
    a += 6;
    cf = old_cf || a > 0xff;
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    a += 0x60;
    cf = true;
  } else {
    cf = false;
  }
  setAl(c, a);
  setFlags(c, flag::kArith, szpFlags(a, 1) | (cf ? CF : 0) | (af ? AF : 0));
  return kNext;
}

HelperResult hDas(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  CpuState& c = vm.cpu;
  uint32_t old_al = al(c), a = old_al;
  bool old_cf = c.eflags & CF, cf = false, af = false;
  if ((a & 0xf) > 9 || (c.eflags & AF)) {
    cf = old_cf || a < 6;
    a -= 6;
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    a -= 0x60;
    cf = true;
  }
  setAl(c, a);
  setFlags(c, flag::kArith, szpFlags(a, 1) | (cf ? CF : 0) | (af ? AF : 0));
  return kNext;
}

HelperResult asciiAdjust(Machine::Impl& vm, bool add) {
  CpuState& c = vm.cpu;
  uint32_t ax = c.regs[EAX] & 0xffff;
  bool adjust = (ax & 0xf) > 9 || (c.eflags & AF);
  if (adjust) {
    if (add) ax = ((ax + 0x106) & 0xffff);
    else ax = (((ax - 6) & 0xffff) - 0x100) & 0xffff;  // AX -= 6 (may borrow from AH), then AH -= 1
  }
  ax &= 0xff0f;
  setReg(c, EAX, 2, ax);
  uint32_t f = szpFlags(ax & 0xff, 1) | (adjust ? (AF | CF) : 0);
  setFlags(c, flag::kArith, f);
  return kNext;
}

HelperResult hAaa(Machine::Impl& vm, const hinfo::Info&, uint32_t) { return asciiAdjust(vm, true); }
HelperResult hAas(Machine::Impl& vm, const hinfo::Info&, uint32_t) { return asciiAdjust(vm, false); }

HelperResult hAam(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  CpuState& c = vm.cpu;
  uint32_t base = i.imm & 0xff;
  if (base == 0) raiseException(vm, kVecDE, 0, false);
  uint32_t a = al(c);
  setReg(c, EAX, 2, ((a / base) << 8) | (a % base));
  setFlags(c, flag::kArith, szpFlags(a % base, 1));
  return kNext;
}

HelperResult hAad(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  CpuState& c = vm.cpu;
  uint32_t base = i.imm & 0xff;
  uint32_t a = (al(c) + ((c.regs[EAX] >> 8) & 0xff) * base) & 0xff;
  setReg(c, EAX, 2, a);
  setFlags(c, flag::kArith, szpFlags(a, 1));
  return kNext;
}

HelperResult hSalc(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  setAl(vm.cpu, (vm.cpu.eflags & CF) ? 0xff : 0);
  return kNext;
}

HelperResult hBound(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  unsigned size = i.size;
  int32_t v, lo, hi;
  if (size == 2) {
    v = int16_t(getReg(vm.cpu, i.reg, 2));
    lo = int16_t(readSeg(vm, i.seg, arg, 2));
    hi = int16_t(readSeg(vm, i.seg, arg + 2, 2));
  } else {
    v = int32_t(getReg(vm.cpu, i.reg, 4));
    lo = int32_t(readSeg(vm, i.seg, arg, 4));
    hi = int32_t(readSeg(vm, i.seg, arg + 4, 4));
  }
  if (v < lo || v > hi) raiseException(vm, kVecBR, 0, false);
  return kNext;
}

// ARPL r/m16, r16: raise the destination selector's RPL to the source's.
HelperResult hArpl(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  requireProtectedMode(vm);
  CpuState& c = vm.cpu;
  int src_reg = i.rm_is_mem ? i.reg : i.rm;
  uint32_t dst = readRm(vm, i, arg, i.reg, 2);
  uint32_t src = getReg(c, src_reg, 2);
  if ((dst & 3) < (src & 3)) {
    writeRm(vm, i, arg, i.reg, 2, (dst & ~3u) | (src & 3));
    setFlags(c, flag::ZF, flag::ZF);
  } else {
    setFlags(c, flag::ZF, 0);
  }
  return kNext;
}

// CPUID answers as the CPU model (emu/cpu/cpu_model.h).
HelperResult hCpuid(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  CpuState& c = vm.cpu;
  CpuidResult r = vm.model.cpuid(c.regs[EAX]);
  c.regs[EAX] = r.eax;
  c.regs[EBX] = r.ebx;
  c.regs[ECX] = r.ecx;
  c.regs[EDX] = r.edx;
  return kNext;
}

// RDTSC reads the virtual clock: a 1 GHz TSC (one tick per instruction, and on through HLT),
// deterministic and monotonic like the real counter.
HelperResult hRdtsc(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  CpuState& c = vm.cpu;
  if ((c.cr4 & 4) && c.cpl != 0) raiseException(vm, 13, 0, true);  // CR4.TSD
  uint64_t t = vm.model.tsc(nowNs(vm));
  c.regs[EAX] = uint32_t(t);
  c.regs[EDX] = uint32_t(t >> 32);
  return kNext;
}

HelperResult hCld(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  vm.cpu.eflags &= ~flag::DF;
  return kNext;
}

HelperResult hStd(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  vm.cpu.eflags |= flag::DF;
  return kNext;
}

// ENTER imm16, imm8: all writes go through a local ESP first so a fault changes no register.
HelperResult hEnter(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  CpuState& c = vm.cpu;
  unsigned size = i.size;
  uint32_t alloc = i.imm;
  uint32_t level = i.imm2 & 31;
  // On a 16-bit stack (SS.B = 0) SP and BP move, wrapping, and ESP/EBP[31:16] stay; the frame
  // pointer loaded into EBP is ESP after the first push, whole (SDM, ENTER; QEMU agrees).
  uint32_t m = stackMask(c.seg[SS]);
  auto minus = [m](uint32_t r, uint32_t n) { return (r & ~m) | ((r - n) & m); };
  uint32_t esp = c.regs[ESP], ebp = c.regs[EBP];
  esp = minus(esp, size);
  writeSeg(vm, SS, esp & m, size, ebp);
  uint32_t frame = esp;
  if (level > 0) {
    for (uint32_t l = 1; l < level; ++l) {
      ebp = minus(ebp, size);
      uint32_t v = readSeg(vm, SS, ebp & m, size);
      esp = minus(esp, size);
      writeSeg(vm, SS, esp & m, size, v);
    }
    esp = minus(esp, size);
    writeSeg(vm, SS, esp & m, size, frame);
  }
  esp = minus(esp, alloc);
  if (size == 4) c.regs[EBP] = frame;
  else setReg(c, EBP, 2, frame);
  c.regs[ESP] = esp;
  return kNext;
}

}  // namespace

void registerArithHelpers(Helper* t) {
  using H = HelperId;
  t[size_t(H::Div)] = hDiv;
  t[size_t(H::Idiv)] = hIdiv;
  t[size_t(H::Daa)] = hDaa;
  t[size_t(H::Das)] = hDas;
  t[size_t(H::Aaa)] = hAaa;
  t[size_t(H::Aas)] = hAas;
  t[size_t(H::Aam)] = hAam;
  t[size_t(H::Aad)] = hAad;
  t[size_t(H::Salc)] = hSalc;
  t[size_t(H::Bound)] = hBound;
  t[size_t(H::Arpl)] = hArpl;
  t[size_t(H::Cpuid)] = hCpuid;
  t[size_t(H::Rdtsc)] = hRdtsc;
  t[size_t(H::Cld)] = hCld;
  t[size_t(H::Std)] = hStd;
  t[size_t(H::Enter)] = hEnter;
}

}  // namespace btvm
