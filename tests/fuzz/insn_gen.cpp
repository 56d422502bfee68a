#include "tests/fuzz/insn_gen.h"

#include <capstone/capstone.h>

#include <stdexcept>

namespace fuzz {
namespace {

struct Emit {
  Rng& r;
  uint32_t ram;
  std::vector<uint8_t> b;
  bool op16 = false, addr16 = false;

  void u8(uint8_t v) { b.push_back(v); }
  void u16(uint16_t v) { u8(uint8_t(v)), u8(uint8_t(v >> 8)); }
  void u32(uint32_t v) { u16(uint16_t(v)), u16(uint16_t(v >> 16)); }
  uint32_t value() { return r.oneIn(2) ? r.below(256) - 128 : interestingValue(r, ram); }
  void imm8() { u8(uint8_t(r.oneIn(4) ? r.below(4) : r.u32())); }
  void immz() { op16 ? u16(uint16_t(value())) : u32(value()); }
  void disp32() { u32(r.oneIn(2) ? r.below(512) - 256 : interestingValue(r, ram)); }
  void rel8() { u8(uint8_t(r.below(96) - 48)); }
  void relz() { op16 ? u16(uint16_t(r.below(192) - 96)) : u32(r.below(192) - 96); }

  // ModRM (+ SIB + displacement). reg < 0: any reg field. mem: 0 any, 1 memory only, 2 register only.
  void modrm(int reg = -1, int mem = 0) {
    uint8_t mod = mem == 2 ? 3 : mem == 1 ? uint8_t(r.below(3)) : (r.below(10) < 4 ? 3 : uint8_t(r.below(3)));
    uint8_t rm = uint8_t(r.below(8));
    uint8_t regf = reg < 0 ? uint8_t(r.below(8)) : uint8_t(reg);
    u8(uint8_t(mod << 6 | regf << 3 | rm));
    if (mod == 3) return;
    if (addr16) {
      if ((mod == 0 && rm == 6) || mod == 2) u16(uint16_t(value()));
      else if (mod == 1) u8(r.u8());
      return;
    }
    if (rm == 4) {
      uint8_t sib = r.u8();
      u8(sib);
      if ((sib & 7) == 5 && mod == 0) disp32();
    }
    if (mod == 0 && rm == 5) disp32();
    else if (mod == 1) u8(uint8_t(r.below(256)));
    else if (mod == 2) disp32();
  }
};

// Weighted instruction groups: common integer instructions dominate.
enum Group { kAlu, kAluAcc, kGrp1, kMov, kMovImm, kLea, kIncDecPushPop, kPushImm, kTestXchg, kShift, kGrp3,
             kImul, kMovx, kSetCmov, kBranch, kRetEnter, kBits, kAtomic, kString, kFlagsMisc, kSystem,
             kSegment, kIo, kFpuSse, kGroupCount };
constexpr uint8_t kWeights[kGroupCount] = {20, 4, 10, 14, 6, 4, 6, 2, 4, 6, 6, 3, 3, 4, 8, 3, 4, 2, 4, 4, 4, 3, 1, 2};

Group pick(Rng& r) {
  unsigned total = 0;
  for (uint8_t w : kWeights) total += w;
  unsigned x = r.below(total);
  for (int g = 0; g < kGroupCount; ++g) {
    if (x < kWeights[g]) return Group(g);
    x -= kWeights[g];
  }
  return kAlu;
}

void body(Emit& e, Group g) {
  Rng& r = e.r;
  switch (g) {
    case kAlu: e.u8(uint8_t(r.below(8) << 3 | r.below(4))), e.modrm(); break;
    case kAluAcc: {
      uint8_t op = uint8_t(r.below(8) << 3 | 4 | r.below(2));
      e.u8(op);
      (op & 1) ? e.immz() : e.imm8();
      break;
    }
    case kGrp1: {
      uint8_t op = uint8_t(0x80 + r.below(4));  // 0x82 is the 32-bit-only alias of 0x80
      e.u8(op), e.modrm();
      op == 0x81 ? e.immz() : e.imm8();
      break;
    }
    case kMov:
      switch (r.below(6)) {
        case 0: case 1: case 2: e.u8(uint8_t(0x88 + r.below(4))), e.modrm(); break;
        case 3: e.u8(uint8_t(0xA0 + r.below(4))), e.addr16 ? e.u16(uint16_t(e.value())) : e.disp32(); break;  // moffs
        case 4: e.u8(0xC6), e.modrm(0), e.imm8(); break;
        default: e.u8(0xC7), e.modrm(0), e.immz(); break;
      }
      break;
    case kMovImm:
      if (r.oneIn(2)) e.u8(uint8_t(0xB0 + r.below(8))), e.imm8();
      else e.u8(uint8_t(0xB8 + r.below(8))), e.immz();
      break;
    case kLea: e.u8(0x8D), e.modrm(-1, 1); break;
    case kIncDecPushPop:
      if (r.oneIn(6)) e.u8(0x8F), e.modrm(0);                     // pop r/m
      else if (r.oneIn(6)) e.u8(uint8_t(0x60 + r.below(2)));      // pusha / popa
      else e.u8(uint8_t(0x40 + r.below(32)));
      break;
    case kPushImm:
      if (r.oneIn(2)) e.u8(0x68), e.immz();
      else e.u8(0x6A), e.imm8();
      break;
    case kTestXchg:
      switch (r.below(4)) {
        case 0: e.u8(uint8_t(0x84 + r.below(4))), e.modrm(); break;
        case 1: e.u8(0xA8), e.imm8(); break;
        case 2: e.u8(0xA9), e.immz(); break;
        default: e.u8(uint8_t(0x90 + r.below(8))); break;
      }
      break;
    case kShift:
      switch (r.below(3)) {
        case 0: e.u8(uint8_t(0xC0 + r.below(2))), e.modrm(), e.imm8(); break;
        default: e.u8(uint8_t(0xD0 + r.below(4))), e.modrm(); break;
      }
      break;
    case kGrp3: {
      if (r.oneIn(3)) {  // FE/FF: inc, dec, call, far call, jmp, far jmp, push
        uint8_t op = uint8_t(0xFE + r.below(2));
        int reg = op == 0xFE ? int(r.below(2)) : int(r.below(10) < 6 ? r.below(2) : r.below(7));
        e.u8(op), e.modrm(reg, (reg == 3 || reg == 5) ? 1 : 0);
        break;
      }
      uint8_t op = uint8_t(0xF6 + r.below(2));
      int reg = int(r.below(8));
      e.u8(op), e.modrm(reg);
      if (reg <= 1) op == 0xF7 ? e.immz() : e.imm8();
      break;
    }
    case kImul:
      switch (r.below(3)) {
        case 0: e.u8(0x69), e.modrm(), e.immz(); break;
        case 1: e.u8(0x6B), e.modrm(), e.imm8(); break;
        default: e.u8(0x0F), e.u8(0xAF), e.modrm(); break;
      }
      break;
    case kMovx: {
      static constexpr uint8_t ops[] = {0xB6, 0xB7, 0xBE, 0xBF};
      e.u8(0x0F), e.u8(ops[r.below(4)]), e.modrm();
      break;
    }
    case kSetCmov:
      if (r.oneIn(2)) e.u8(0x0F), e.u8(uint8_t(0x90 + r.below(16))), e.modrm(0);
      else e.u8(0x0F), e.u8(uint8_t(0x40 + r.below(16))), e.modrm();
      break;
    case kBranch:
      switch (r.below(8)) {
        case 0: case 1: case 2: e.u8(uint8_t(0x70 + r.below(16))), e.rel8(); break;
        case 3: e.u8(0xEB), e.rel8(); break;
        case 4: e.u8(0x0F), e.u8(uint8_t(0x80 + r.below(16))), e.relz(); break;
        case 5: e.u8(uint8_t(0xE8 + r.below(2))), e.relz(); break;   // call / jmp rel
        case 6: e.u8(uint8_t(0xE0 + r.below(4))), e.rel8(); break;   // loopne/loope/loop/jecxz
        default: e.u8(0xFF), e.modrm(r.oneIn(2) ? 2 : 4, 2); break;  // indirect call/jmp reg
      }
      break;
    case kRetEnter:
      switch (r.below(4)) {
        case 0: e.u8(0xC3); break;
        case 1: e.u8(0xC2), e.u16(uint16_t(r.below(4) * 4)); break;
        case 2: e.u8(0xC9); break;
        default: e.u8(0xC8), e.u16(uint16_t(r.below(64))), e.u8(uint8_t(r.oneIn(2) ? 0 : r.below(40))); break;
      }
      break;
    case kBits: {
      static constexpr uint8_t ops[] = {0xA3, 0xAB, 0xB3, 0xBB, 0xBC, 0xBD, 0xA5, 0xAD};
      switch (r.below(4)) {
        case 0: e.u8(0x0F), e.u8(ops[r.below(8)]), e.modrm(); break;
        case 1: e.u8(0x0F), e.u8(0xBA), e.modrm(int(4 + r.below(4))), e.imm8(); break;
        case 2: e.u8(0x0F), e.u8(uint8_t(0xC8 + r.below(8))); break;  // bswap
        default: e.u8(0x0F), e.u8(r.oneIn(2) ? 0xA4 : 0xAC), e.modrm(), e.imm8(); break;  // shld/shrd imm
      }
      break;
    }
    case kAtomic: {
      if (r.oneIn(2)) e.b.insert(e.b.begin(), 0xF0);  // lock (before any other prefix is fine)
      switch (r.below(4)) {
        case 0: e.u8(0x0F), e.u8(uint8_t(0xB0 + r.below(2))), e.modrm(-1, 1); break;  // cmpxchg
        case 1: e.u8(0x0F), e.u8(uint8_t(0xC0 + r.below(2))), e.modrm(-1, 1); break;  // xadd
        case 2: e.u8(0x0F), e.u8(0xC7), e.modrm(1, 1); break;                         // cmpxchg8b
        default: e.u8(uint8_t(r.below(8) << 3 | r.below(2))), e.modrm(-1, 1); break;  // ALU to memory
      }
      break;
    }
    case kString: {
      static constexpr uint8_t ops[] = {0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF, 0xD7};
      if (!r.oneIn(3)) e.b.insert(e.b.begin(), r.oneIn(3) ? 0xF2 : 0xF3);
      e.u8(ops[r.below(sizeof(ops))]);
      break;
    }
    case kFlagsMisc: {
      static constexpr uint8_t ops[] = {0xF5, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0x9C, 0x9D, 0x9E, 0x9F,
                                        0x98, 0x99, 0x27, 0x2F, 0x37, 0x3F, 0xD6, 0xCC, 0xCE, 0xF1, 0x90};
      if (r.oneIn(5)) e.u8(uint8_t(0xD4 + r.below(2))), e.u8(r.oneIn(4) ? 0 : uint8_t(r.below(20)));  // aam/aad
      else if (r.oneIn(5)) e.u8(0xCD), e.u8(r.oneIn(2) ? uint8_t(r.below(32)) : r.u8());  // int n
      else e.u8(ops[r.below(sizeof(ops))]);
      break;
    }
    case kSystem:
      switch (r.below(12)) {
        case 0: e.u8(0x0F), e.u8(0x00), e.modrm(int(r.below(6))); break;  // sldt str lldt ltr verr verw
        case 1: e.u8(0x0F), e.u8(0x01), e.modrm(int(r.below(8)), r.oneIn(4) ? 0 : 1); break;  // sgdt.. invlpg
        case 2: e.u8(0x0F), e.u8(uint8_t(0x20 + 2 * r.below(2))), e.modrm(int(r.below(5)), 2); break;  // mov cr
        case 3: e.u8(0x0F), e.u8(uint8_t(0x21 + 2 * r.below(2))), e.modrm(-1, 2); break;  // mov dr
        case 4: e.u8(0x0F), e.u8(uint8_t(0x02 + r.below(2))), e.modrm(); break;  // lar lsl
        case 5: {
          static constexpr uint8_t ops[] = {0x06, 0x08, 0x09, 0x0B, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0xA2, 0x05, 0x07};
          e.u8(0x0F), e.u8(ops[r.below(sizeof(ops))]);
          break;
        }
        case 6: e.u8(0xF4); break;  // hlt
        case 7: e.u8(0xCF); break;  // iret
        case 8: e.u8(uint8_t(0xCA + r.below(2))); if (e.b.back() == 0xCA) e.u16(uint16_t(r.below(4) * 4)); break;
        case 9: e.u8(0x62), e.modrm(-1, 1); break;  // bound
        case 10: e.u8(0x63), e.modrm(); break;      // arpl
        default: e.u8(uint8_t(r.oneIn(2) ? 0x9A : 0xEA)), e.op16 ? e.u16(uint16_t(e.value())) : e.u32(e.value()),
                 e.u16(uint16_t(r.oneIn(2) ? r.below(0xb0) : r.u32())); break;  // far call/jmp ptr16:32 (0xb0: the GDT of fuzz_case.cpp)
      }
      break;
    case kSegment: {
      static constexpr uint8_t ops[] = {0x06, 0x07, 0x0E, 0x16, 0x17, 0x1E, 0x1F};
      switch (r.below(5)) {
        case 0: e.u8(0x8C), e.modrm(int(r.below(6))); break;  // mov r/m,sreg
        case 1: e.u8(0x8E), e.modrm(int(r.below(6))); break;  // mov sreg,r/m
        case 2: e.u8(ops[r.below(sizeof(ops))]); break;
        case 3: e.u8(0x0F), e.u8(uint8_t(0xA0 + r.below(2) * 8 + r.below(2))); break;  // push/pop fs/gs
        default:
          if (r.oneIn(2)) e.u8(uint8_t(0xC4 + r.below(2))), e.modrm(-1, 1);   // les lds
          else e.u8(0x0F), e.u8(uint8_t(0xB2 + (r.oneIn(3) ? 0 : 2 + r.below(2)))), e.modrm(-1, 1);  // lss lfs lgs
          break;
      }
      break;
    }
    case kIo: {
      static constexpr uint8_t ports[] = {0xf4, 0x80, 0x20, 0x21, 0xa0, 0xa1, 0x40, 0x42, 0x43, 0x61,
                                          0x60, 0x64, 0x70, 0x71, 0x92};
      switch (r.below(3)) {
        case 0: e.u8(uint8_t(0xE4 + r.below(4))), e.u8(r.oneIn(4) ? r.u8() : ports[r.below(sizeof(ports))]); break;
        case 1: e.u8(uint8_t(0xEC + r.below(4))); break;
        default: e.u8(uint8_t(0x6C + r.below(4))); break;  // ins/outs
      }
      break;
    }
    case kFpuSse: {
      static constexpr uint8_t sse[] = {0x10, 0x11, 0x28, 0x29, 0x2E, 0x51, 0x54, 0x57, 0x58, 0x59, 0x5C,
                                        0x6E, 0x6F, 0x7E, 0x7F, 0xEF, 0xD4, 0xAE, 0x18, 0x1F, 0x77};
      if (r.oneIn(2)) e.u8(uint8_t(0xD8 + r.below(8))), e.modrm();   // x87
      else if (uint8_t op = sse[r.below(sizeof(sse))]; op == 0x77) e.u8(0x0F), e.u8(op);
      else e.u8(0x0F), e.u8(op), e.modrm();
      break;
    }
    default: e.u8(0x90); break;
  }
}

}  // namespace

InsnGen::InsnGen() {
  csh h;
  if (cs_open(CS_ARCH_X86, CS_MODE_32, &h) != CS_ERR_OK) throw std::runtime_error("cs_open failed");
  handle_ = h;
  insn_ = cs_malloc(h);
}

InsnGen::~InsnGen() {
  cs_free(static_cast<cs_insn*>(insn_), 1);
  csh h = handle_;
  cs_close(&h);
}

bool InsnGen::decodes(const std::vector<uint8_t>& bytes) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  uint64_t addr = kCode;
  return cs_disasm_iter(handle_, &p, &n, &addr, static_cast<cs_insn*>(insn_)) && n == 0;
}

void InsnGen::next(Rng& rng, uint32_t ram_bytes, std::vector<uint8_t>& out) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    Emit e{rng, ram_bytes, {}};
    if (rng.oneIn(12)) e.u8(0x66), e.op16 = true;
    if (rng.oneIn(40)) e.u8(0x67), e.addr16 = true;
    if (rng.oneIn(16)) {
      static constexpr uint8_t segs[] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
      e.u8(segs[rng.below(6)]);
    }
    if (rng.oneIn(64)) e.u8(rng.oneIn(2) ? 0xF2 : 0xF3);  // stray REP
    body(e, pick(rng));
    if (e.b.size() <= 15 && decodes(e.b)) {
      out.insert(out.end(), e.b.begin(), e.b.end());
      return;
    }
    ++rejected_;
  }
  out.push_back(0x90);
}

std::vector<uint8_t> InsnGen::fill(Rng& rng, uint32_t ram_bytes, size_t n) {
  std::vector<uint8_t> code;
  code.reserve(n + 16);
  std::vector<uint8_t> one;
  while (code.size() < n) {
    one.clear();
    next(rng, ram_bytes, one);
    if (code.size() + one.size() > n) break;
    code.insert(code.end(), one.begin(), one.end());
  }
  while (code.size() < n) code.push_back(rng.u8());
  return code;
}

}  // namespace fuzz
