// --- x87: loads of random values (with zeros, denormals, infinities, NaNs), arithmetic under
// every rounding and precision control, compares, FCMOVcc, stores, FNSTENV/FLDENV and
// FNSAVE/FRSTOR round trips. Encodings are written by hand (memory operands as [base+disp32]),
// so the undocumented aliases a P6 executes (FCOM2, FCOMP3/5, FXCH4/7, FSTP1/8/9) come up too.
//
// What is compared, and why not more: the oracle is Unicorn 2.0.1, i.e. QEMU 5.0's x87, which
//  - keeps no exception flags in FSW (QEMU merged softfloat's flags into FSW only in 5.2) and
//    never sets C1 (round-up, stack fault): so FSW is compared as TOP only, and C0/C2/C3 only
//    right after the instructions that define them (compares, FXAM), through FNSTSW AX and a mask;
//  - models no stack overflow or underflow: the generator tracks the stack depth and never pushes
//    on a full stack or reads an empty register;
//  - computes FSIN/FCOS/FSINCOS/FPTAN/FPATAN/F2XM1/FYL2X/FYL2XP1 and FPREM/FPREM1 in host double
//    precision (53 bits, not even floatx80 approximations): none of them is generated; the x87
//    guest checks them against the SDM and exact values;
//  - FISTP m64 goes through floatx80_to_int32, FBSTP has no out-of-range case, FXTRACT/FSCALE
//    mishandle zeros and denormals (fixed in QEMU 5.2): not generated;
//  - does not round the constants FLDPI/FLDL2E/FLDL2T/FLDLG2/FLDLN2 by RC: those only with RC=near;
//  - leaves OF/SF/AF alone in FCOMI (the SDM clears them): flags.cpp marks them undefined there;
//  - treats unnormals and pseudo-denormals unlike a P6 (which rejects them as invalid): the
//    generated 80-bit values are canonical;
//  - stores zeros for FIP/FCS/FOP/FDP/FDS and the reserved halves in FNSTENV: the case clears
//    those fields (and FSW's exception bits) in memory before FLDENV/FRSTOR reads them back.
#include "tests/diff/gen_context.h"

namespace diff::gen {

namespace {

// An 80-bit value: canonical classes only (see above), and no SNaN: QEMU 5.0 does not quiet an
// SNaN operand of arithmetic, or one stored to m32/m64 (a P6 does, and raises IE).
void value80(Rng& r, uint8_t out[10]) {
  uint64_t m = r.next();
  uint16_t e;
  switch (r.below(10)) {
    case 0: e = 0; m = 0; break;                                           // zero
    case 1: e = 0; m &= ~(1ull << 63); if (!m) m = 1; break;              // denormal
    case 2: e = 0x7fff; m = 1ull << 63; break;                             // infinity
    case 3: e = 0x7fff; m |= 3ull << 62; break;                            // QNaN
    case 4: e = 0x7fff; m = 3ull << 62 | (m & 0xff); break;               // QNaN, small payload
    case 5: e = uint16_t(r.range(1, 0x7ffe)); m |= 1ull << 63; break;      // any normal
    case 6: e = uint16_t(r.chance(50) ? r.range(1, 40) : r.range(0x7fd0, 0x7ffe)); m |= 1ull << 63; break;
    case 7: e = uint16_t(0x3fff + r.range(-2, 20)); m = (m | 1ull << 63) & ~0xffffffffull; break;  // short
    default: e = uint16_t(0x3fff + r.range(-70, 70)); m |= 1ull << 63; break;
  }
  if (r.chance(40)) e |= 0x8000;
  for (int i = 0; i < 8; i++) out[i] = uint8_t(m >> (8 * i));
  out[8] = uint8_t(e);
  out[9] = uint8_t(e >> 8);
}

uint64_t raw64(Rng& r, bool dbl);

uint64_t value64(Rng& r, bool dbl) {
  static const uint64_t sp64[] = {0, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
                                  0x7ff8000000000000ull, 0xfff8000000000123ull, 0x0000000000000001ull,
                                  0x3ff0000000000000ull, 0x000fffffffffffffull, 0x7fefffffffffffffull};
  static const uint32_t sp32[] = {0, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u,
                                  0xffc00123u, 1, 0x3f800000u, 0x007fffffu, 0x7f7fffffu};
  uint64_t v;
  if (r.chance(25)) v = dbl ? r.pick(sp64) : r.pick(sp32);
  else v = raw64(r, dbl);
  // Single and double SNaNs become QNaNs on a P6 (quiet bit set, IE); QEMU 5.0 loads them
  // unchanged. So the quiet bit is set here: NaN payloads still go through, SNaNs never do.
  if (dbl && (v & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (v & 0x000fffffffffffffull))
    v |= 1ull << 51;
  if (!dbl && (v & 0x7f800000u) == 0x7f800000u && (v & 0x007fffffu)) v |= 1u << 22;
  return v;
}

uint64_t raw64(Rng& r, bool dbl) {
  if (r.chance(50)) {  // a value near 1 with a random significand, often an exact small integer
    uint64_t v = dbl ? (uint64_t(1023 + r.range(-40, 40)) << 52 | (r.next() >> 12))
                     : (uint64_t(127 + r.range(-20, 20)) << 23 | (r.next() >> 41));
    if (r.chance(30)) v &= dbl ? ~0xffffffffull : ~0xffffull;
    return r.chance(40) ? v | (dbl ? 1ull << 63 : 1ull << 31) : v;
  }
  return dbl ? r.next() : uint32_t(r.next());
}

struct X87 {
  Gen& g;
  int& depth;
  int& rc;  // current rounding control (0 = near)

  // ModRM for [base + disp32] with /reg, and the operand's address, so the case can put a value
  // there. Operands read lie below the base and operands written above it: a load then reads the
  // value the generator chose, never bytes a store left (which could be an unnormal, or a
  // control word with exceptions unmasked).
  enum Dir { kRead, kWrite };
  uint32_t memOp(int op, int reg, unsigned n, Dir dir = kRead) {
    const uint32_t b = g.in.init.regs[g.base];
    int32_t d;
    uint32_t addr;
    if (dir == kRead) {  // each load its own 16-byte slot, so no load sees another's bytes
      d = -16 * ++g.fpuSlot + int(g.r.below(17 - n));
      addr = b + uint32_t(d);
    } else {
      do {
        d = g.r.range(0, 0x600 - int(n));
        addr = b + uint32_t(d);
      } while (addr < kData || addr + n > kData + kDataSize);
    }
    g.db({op, 0x80 | reg << 3 | g.base});
    g.dd(uint32_t(d));
    return addr - kData;
  }
  void put(uint32_t at, const void* v, unsigned n) { std::memcpy(g.in.data.data() + at, v, n); }
  int sti() { return int(g.r.below(uint32_t(depth))); }  // a valid register index
  void seg() { g.segPrefix(); }

  void load() {
    if (depth >= 8) return;
    switch (g.r.below(8)) {
      case 0: { uint8_t v[10]; value80(g.r, v); seg(); put(memOp(0xdb, 5, 10), v, 10); break; }  // FLD m80
      case 1: { uint64_t v = value64(g.r, true); seg(); put(memOp(0xdd, 0, 8), &v, 8); break; }   // FLD m64
      case 2: { uint32_t v = uint32_t(value64(g.r, false)); seg(); put(memOp(0xd9, 0, 4), &v, 4); break; }
      case 3: { uint16_t v = uint16_t(g.val()); put(memOp(0xdf, 0, 2), &v, 2); break; }          // FILD m16
      case 4: { uint32_t v = g.val(); put(memOp(0xdb, 0, 4), &v, 4); break; }                    // FILD m32
      case 5: { uint64_t v = g.r.chance(50) ? g.r.next() : uint64_t(int64_t(int32_t(g.val()))); put(memOp(0xdf, 5, 8), &v, 8); break; }
      case 6:
        if (depth > 0) { g.db({0xd9, 0xc0 + sti()}); break; }  // FLD st(i)
        [[fallthrough]];
      default: {
        static const int near_only[] = {0xe9, 0xea, 0xeb, 0xec, 0xed};  // L2T L2E PI LG2 LN2
        g.db({0xd9, rc == 0 && g.r.chance(50) ? g.r.pick(near_only) : g.r.pick({0xe8, 0xee})});
        break;
      }
    }
    ++depth;
  }

  void arith() {
    if (depth == 0) return load();
    const int k = g.r.pick({0, 1, 4, 5, 6, 7});  // add mul sub subr div divr (/2 /3 compare)
    switch (g.r.below(6)) {
      case 0: { uint32_t v = uint32_t(value64(g.r, false)); seg(); put(memOp(0xd8, k, 4), &v, 4); break; }
      case 1: { uint64_t v = value64(g.r, true); seg(); put(memOp(0xdc, k, 8), &v, 8); break; }
      case 2: { uint32_t v = g.val(); put(memOp(0xda, k, 4), &v, 4); break; }
      case 3: { uint16_t v = uint16_t(g.val()); put(memOp(0xde, k, 2), &v, 2); break; }
      case 4: g.db({0xd8, 0xc0 | k << 3 | sti()}); break;             // st0 op= st(i)
      default:
        if (depth >= 2 && g.r.chance(50)) {                            // st(i) op= st0, pop
          g.db({0xde, 0xc0 | k << 3 | (1 + int(g.r.below(uint32_t(depth - 1))))});
          --depth;
        } else {
          g.db({0xdc, 0xc0 | k << 3 | sti()});                         // st(i) op= st0
        }
        break;
    }
  }

  void unary() {
    if (depth == 0) return load();
    switch (g.r.below(6)) {
      case 0: g.db({0xd9, 0xe0}); break;  // FCHS
      case 1: g.db({0xd9, 0xe1}); break;  // FABS
      case 2: g.db({0xd9, 0xfa}); break;  // FSQRT
      case 3: g.db({0xd9, 0xfc}); break;  // FRNDINT
      case 4: g.db({0xd9, 0xd0}); break;  // FNOP
      default: g.db({g.r.pick({0xd9, 0xdd, 0xdf}), 0xc8 + sti()}); break;  // FXCH, FXCH4, FXCH7
    }
  }

  // FNSTSW AX, keep `mask`, and park it in memory so that later units do not overwrite it.
  void statusToMemory(uint32_t mask) {
    g.db({0xdf, 0xe0});
    g.a.and_(x86::eax, Imm(int32_t(mask)));
    memOp(0x89, EAX, 4, kWrite);  // mov [base+disp32], eax
  }

  void compare() {
    if (depth == 0) return load();
    const uint32_t kCc = 0x4500 | 0x3800;  // C3 C2 C0 and TOP
    switch (g.r.below(7)) {
      case 0: {  // FCOM/FCOMP m32/m64, FICOM m16/m32
        const int reg = 2 + int(g.r.below(2));
        const int opc = g.r.pick({0xd8, 0xdc, 0xda, 0xde});
        uint64_t v = opc == 0xdc ? value64(g.r, true) : opc == 0xd8 ? value64(g.r, false) : g.val();
        put(memOp(opc, reg, opc == 0xdc ? 8 : opc == 0xde ? 2 : 4), &v, opc == 0xdc ? 8 : opc == 0xde ? 2 : 4);
        if (reg == 3) --depth;
        break;
      }
      case 1: {  // FCOM(P) st(i) and the aliases DC D0/D8, DE D0; FUCOM(P) DD E0/E8
        const int kind = int(g.r.below(5));
        static const int enc[][2] = {{0xd8, 0xd0}, {0xd8, 0xd8}, {0xdc, 0xd0}, {0xdc, 0xd8}, {0xdd, 0xe0}};
        const int i = sti();
        const bool pops = kind == 1 || kind == 3 || (kind == 4 && g.r.chance(50));
        g.db({enc[kind][0], (kind == 4 && pops ? 0xe8 : enc[kind][1]) + i});
        if (pops) --depth;
        break;
      }
      case 2:
        if (depth >= 2) {
          if (g.r.chance(50)) g.db({0xde, 0xd9});  // FCOMPP
          else g.db({0xda, 0xe9});                 // FUCOMPP
          depth -= 2;
          break;
        }
        [[fallthrough]];
      case 3: g.db({0xd9, 0xe4}); break;  // FTST
      case 4: g.db({0xd9, 0xe5}); statusToMemory(0x4700 | 0x3800); return;  // FXAM: C1 is the sign
      default: {  // FCOMI/FUCOMI(P): EFLAGS, parked with SETcc
        const int i = sti();
        const bool pops = g.r.chance(40) && depth >= 1;
        g.db({pops ? 0xdf : 0xdb, (g.r.chance(50) ? 0xf0 : 0xe8) + i});
        if (pops) --depth;
        static const int setcc[] = {0x92, 0x94, 0x9a, 0x96, 0x97};  // setb sete setp setbe seta
        g.db({0x0f, g.r.pick(setcc), 0xc0 | EAX});
        g.a.movzx(x86::eax, x86::al);
        memOp(0x89, EAX, 4, kWrite);
        return;
      }
    }
    statusToMemory(kCc);
  }

  void fcmov() {
    if (depth == 0) return load();
    static const uint32_t reads[] = {CF, ZF, CF | ZF, PF};  // B E BE U (and the N forms)
    const int cc = int(g.r.below(4));
    g.needFlags(reads[cc]);
    g.db({g.r.chance(50) ? 0xda : 0xdb, 0xc0 | cc << 3 | sti()});
  }

  void store() {
    if (depth == 0) return load();
    const bool pop = g.r.chance(50);
    switch (g.r.below(7)) {
      case 0: seg(); memOp(0xd9, pop ? 3 : 2, 4, kWrite); break;                  // FST(P) m32
      case 1: seg(); memOp(0xdd, pop ? 3 : 2, 8, kWrite); break;                  // FST(P) m64
      case 2: if (!pop) return store(); memOp(0xdb, 7, 10, kWrite); break;        // FSTP m80
      case 3: memOp(0xdf, pop ? 3 : 2, 2, kWrite); break;                         // FIST(P) m16
      case 4: memOp(0xdb, pop ? 3 : 2, 4, kWrite); break;                         // FIST(P) m32
      case 5: g.db({0xdd, (pop ? 0xd8 : 0xd0) + sti()}); break;           // FST(P) st(i)
      default: g.db({pop ? g.r.pick({0xd9, 0xdf}) : 0xdd, pop ? 0xd8 + sti() : 0xd0 + sti()}); break;  // FSTP1/8/9
    }
    if (pop) --depth;
  }

  void control() {
    switch (g.r.below(6)) {
      case 0: {  // FLDCW: all exceptions masked, any precision and rounding control
        const int pc = g.r.pick({0, 2, 3});
        rc = int(g.r.below(4));
        uint16_t cw = uint16_t(0x7f | pc << 8 | rc << 10);
        put(memOp(0xd9, 5, 2), &cw, 2);
        break;
      }
      case 1: memOp(0xd9, 7, 2, kWrite); break;  // FNSTCW
      case 2: g.db({0x9b}); break;        // WAIT
      case 3: g.db({0xdb, 0xe2}); break;  // FNCLEX
      default: envRoundTrip(g.r.chance(50)); break;
    }
  }

  // FNSTENV or FNSAVE, the fields Unicorn cannot match cleared, then FLDENV or FRSTOR.
  void envRoundTrip(bool full) {
    const bool o16 = g.r.chance(25);
    const int b = g.base;
    const int32_t d = g.r.range(0, 0x600 - 108);  // in the written half
    auto mem = [&](int32_t off, unsigned n) { return x86::ptr(x86::gpd(uint32_t(b)), d + off, n); };
    if (o16) g.db({0x66});
    g.db({full ? 0xdd : 0xd9, 0x80 | (6 << 3) | b});
    g.dd(uint32_t(d));
    if (o16) {
      g.a.and_(mem(2, 2), Imm(0x3800));  // FSW: TOP only
      g.a.mov(mem(6, 4), Imm(0));       // FIP, FCS
      g.a.mov(mem(10, 4), Imm(0));      // FDP, FDS
    } else {
      g.a.and_(mem(0, 4), Imm(0xffff));  // reserved halves
      g.a.and_(mem(4, 4), Imm(0x3800));
      g.a.and_(mem(8, 4), Imm(0xffff));
      for (int off = 12; off < 28; off += 4) g.a.mov(mem(off, 4), Imm(0));
    }
    if (o16) g.db({0x66});
    g.db({full ? 0xdd : 0xd9, 0x80 | ((full ? 4 : 4) << 3) | b});  // FRSTOR is DD /4, FLDENV D9 /4
    g.dd(uint32_t(d));
  }

  // The end of the case: TOP in EAX and every stack register in memory.
  void dump() {
    g.db({0xdf, 0xe0});
    g.a.and_(x86::eax, Imm(0x3800));
    while (depth > 0) {
      memOp(0xdb, 7, 10, kWrite);
      --depth;
    }
  }
};

}  // namespace

void setupX87(Gen& g) {
  g.db({0xdb, 0xe3});  // FNINIT: no case depends on the state its engine starts in
  g.fpuDepth = 0;
  g.fpuRc = 0;
  g.fpuSlot = 0;
}

void genX87(Gen& g) {
  X87 x{g, g.fpuDepth, g.fpuRc};
  for (int n = g.r.range(1, 4); n > 0; --n) {
    switch (g.r.below(9)) {
      case 0: case 1: x.load(); break;
      case 2: case 3: x.arith(); break;
      case 4: x.unary(); break;
      case 5: x.compare(); break;
      case 6: x.fcmov(); break;
      case 7: x.store(); break;
      default: x.control(); break;
    }
  }
  if (g.last()) x.dump();
}

}  // namespace diff::gen
