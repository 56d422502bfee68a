// The x87 helper (fpu.h): checks (#NM, pending exceptions), the memory operand, the host stub,
// and the guest-visible pointers; FNSTENV/FLDENV/FNSAVE/FRSTOR formats are done here in C++.
#include "emu/cpu/fpu.h"

#include <cstring>

#include "emu/cpu/fpu_stubs.h"
#include "emu/cpu/guest_access.h"
#include "emu/cpu/helpers.h"

namespace btvm::fpu {

namespace {

constexpr uint8_t kVecUD = 6, kVecNM = 7, kVecMF = 16;
constexpr uint32_t kCr0MP = 1u << 1, kCr0EM = 1u << 2, kCr0TS = 1u << 3, kCr0NE = 1u << 5;
constexpr uint16_t kFswES = 1u << 7, kFswB = 1u << 15, kFswFlags = 0x3f;
constexpr uint8_t kWaitOpcode = 0x9b;

uint16_t get16(const uint8_t* p, unsigned off) { uint16_t v; std::memcpy(&v, p + off, 2); return v; }
uint32_t get32(const uint8_t* p, unsigned off) { uint32_t v; std::memcpy(&v, p + off, 4); return v; }
void put16(uint8_t* p, unsigned off, uint16_t v) { std::memcpy(p + off, &v, 2); }
void put32(uint8_t* p, unsigned off, uint32_t v) { std::memcpy(p + off, &v, 4); }

// ES and B follow the exception flags that their masks leave unmasked. The P6 derives them so
// after FLDCW, FLDENV and FRSTOR too, which is what makes "pending" well defined.
void normalizeStatus(uint8_t* img) {
  uint16_t fsw = get16(img, kFsw), fcw = get16(img, kFcw);
  bool es = fsw & ~fcw & kFswFlags;
  put16(img, kFsw, es ? (fsw | kFswES | kFswB) : (fsw & ~(kFswES | kFswB)));
}

// FNINIT's state; the registers keep their contents (only the tags say empty).
void initState(uint8_t* img) {
  put32(img, kFcw, 0xffff037f);
  put32(img, kFsw, 0xffff0000);
  put32(img, kFtw, 0xffffffff);
  std::memset(img + kFip, 0, kRegs - kFip);
}

// Guest memory for an x87 operand: whole ranges checked first, wrapping like the address size.
uint32_t wrap(const hinfo::Info& i, uint32_t off) { return i.addr16 ? off & 0xffff : off; }

void readBytes(Machine::Impl& vm, const hinfo::Info& i, uint32_t off, unsigned n, uint8_t* out) {
  checkSeg(vm, i.seg, off, n, false);
  for (unsigned k = 0; k < n; k += 2) {
    unsigned m = n - k >= 4 && !(k & 2) ? 4 : 2;
    uint32_t v = readSeg(vm, i.seg, wrap(i, off + k), m);
    std::memcpy(out + k, &v, m);
    if (m == 4) k += 2;
  }
}

void writeBytes(Machine::Impl& vm, const hinfo::Info& i, uint32_t off, unsigned n, const uint8_t* in) {
  probeSeg(vm, i.seg, off, n, true);  // every page first: a fault must leave nothing written
  for (unsigned k = 0; k < n; k += 2) {
    unsigned m = n - k >= 4 && !(k & 2) ? 4 : 2;
    uint32_t v = 0;
    std::memcpy(&v, in + k, m);
    writeSeg(vm, i.seg, wrap(i, off + k), m, v);
    if (m == 4) k += 2;
  }
}

// A pending unmasked exception meets a waiting instruction. CR0.NE=1: #MF, a fault on this
// instruction. CR0.NE=0 (the PC/AT way, as QEMU does it): FERR# raises IRQ13 once, IGNNE# is then
// asserted and the instruction goes on until the guest writes port 0xF0 (pc_platform.cpp).
// Returns true when the instruction goes on with the exception still pending.
bool checkPending(Machine::Impl& vm) {
  CpuState& c = vm.cpu;
  if (!(get16(c.fpu, kFsw) & kFswES)) return false;
  if (c.cr0 & kCr0NE) raiseException(vm, kVecMF, 0, false);
  if (!vm.platform.fpu_ignne) {
    vm.platform.fpu_ignne = true;
    vm.platform.pic.setIrq(13, true);
    // Leave translated code after this instruction, so the interrupt comes right after it.
    if ((c.eflags & flag::IF) && vm.platform.interruptPending()) c.exit_after_insn = true;
  }
  return true;
}

void setPointers(CpuState& c, uint8_t* img, uint8_t opcode, uint8_t modrm, const hinfo::Info& i, uint32_t arg) {
  put32(img, kFip, c.eip);
  put32(img, kFcs, uint32_t(c.seg[CS].selector) | uint32_t(((opcode & 7) << 8) | modrm) << 16);
  if (i.rm_is_mem) {
    put32(img, kFdp, arg);
    put32(img, kFds, c.seg[i.seg].selector);
  }
}

// FNSTENV / FNSAVE formats of protected mode: 28 bytes with a 32-bit operand size, 14 with a
// 16-bit one (no FOP, 16-bit offsets). Reserved halves of the 32-bit form read as ones, as on
// Intel hardware (Bochs does the same; QEMU writes zeros there).
unsigned envSize(const hinfo::Info& i) { return i.size == 2 ? 14 : 28; }

void envToGuest(const uint8_t* img, const hinfo::Info& i, uint8_t* out) {
  if (i.size == 2) {
    put16(out, 0, get16(img, kFcw));
    put16(out, 2, get16(img, kFsw));
    put16(out, 4, get16(img, kFtw));
    put16(out, 6, get16(img, kFip));
    put16(out, 8, get16(img, kFcs));
    put16(out, 10, get16(img, kFdp));
    put16(out, 12, get16(img, kFds));
    return;
  }
  put32(out, 0, 0xffff0000u | get16(img, kFcw));
  put32(out, 4, 0xffff0000u | get16(img, kFsw));
  put32(out, 8, 0xffff0000u | get16(img, kFtw));
  put32(out, 12, get32(img, kFip));
  put32(out, 16, get32(img, kFcs) & 0x07ffffff);
  put32(out, 20, get32(img, kFdp));
  put32(out, 24, 0xffff0000u | get16(img, kFds));
}

void envFromGuest(const uint8_t* in, const hinfo::Info& i, uint8_t* img) {
  if (i.size == 2) {
    put32(img, kFcw, get16(in, 0));
    put32(img, kFsw, get16(in, 2));
    put32(img, kFtw, get16(in, 4));
    put32(img, kFip, get16(in, 6));
    put32(img, kFcs, get16(in, 8));
    put32(img, kFdp, get16(in, 10));
    put32(img, kFds, get16(in, 12));
    return;
  }
  put32(img, kFcw, get16(in, 0));
  put32(img, kFsw, get16(in, 4));
  put32(img, kFtw, get16(in, 8));
  put32(img, kFip, get32(in, 12));
  put32(img, kFcs, get32(in, 16) & 0x07ffffff);
  put32(img, kFdp, get32(in, 20));
  put32(img, kFds, get16(in, 24));
}

// Loads an environment (and registers): the host FRSTOR/FNSAVE round trip recomputes the tags
// from the contents as hardware does; the pointers are the guest's, kept as loaded.
void loadState(CpuState& c, uint8_t* img) {
  uint8_t ptrs[kRegs - kFip];
  std::memcpy(ptrs, img + kFip, sizeof ptrs);
  normalizeStatus(img);
  reloadStub()(nullptr, img, 0);
  std::memcpy(img + kFip, ptrs, sizeof ptrs);
  std::memcpy(c.fpu, img, kImageSize);
}

HelperResult special(Machine::Impl& vm, const Op& op, const hinfo::Info& i, uint32_t arg) {
  CpuState& c = vm.cpu;
  uint8_t img[kImageSize];
  std::memcpy(img, c.fpu, kImageSize);
  uint8_t buf[108];
  unsigned env = envSize(i), regs = 80;
  switch (op.special) {
    case Special::Nop:  // FNENI, FNDISI, FNSETPM: 8087/287 controls a P6 ignores
      return kNext;
    case Special::FnstswAx:
      setReg(c, EAX, 2, get16(img, kFsw));
      return kNext;
    case Special::Fnstenv:
      envToGuest(img, i, buf);
      writeBytes(vm, i, arg, env, buf);
      put16(c.fpu, kFcw, get16(c.fpu, kFcw) | 0x3f);  // FNSTENV masks every exception
      normalizeStatus(c.fpu);
      return kNext;
    case Special::Fnsave:
      envToGuest(img, i, buf);
      std::memcpy(buf + env, img + kRegs, regs);
      writeBytes(vm, i, arg, env + regs, buf);
      initState(c.fpu);
      return kNext;
    case Special::Fldenv:
      readBytes(vm, i, arg, env, buf);
      envFromGuest(buf, i, img);
      loadState(c, img);
      return kNext;
    case Special::Frstor:
      readBytes(vm, i, arg, env + regs, buf);
      envFromGuest(buf, i, img);
      std::memcpy(img + kRegs, buf + env, regs);
      loadState(c, img);
      return kNext;
    case Special::None:
      break;
  }
  return kNext;
}

HelperResult hFpu(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  CpuState& c = vm.cpu;
  uint8_t opcode = uint8_t(i.imm >> 8), modrm = uint8_t(i.imm);
  if (opcode == kWaitOpcode) {
    if ((c.cr0 & (kCr0TS | kCr0MP)) == (kCr0TS | kCr0MP)) raiseException(vm, kVecNM, 0, false);
    checkPending(vm);
    return kNext;
  }
  Op op = decode(opcode, modrm);
  if (!op.valid) raiseException(vm, kVecUD, 0, false);
  if (c.cr0 & (kCr0EM | kCr0TS)) raiseException(vm, kVecNM, 0, false);
  bool ignored = op.waiting && checkPending(vm);
  if (op.special != Special::None) return special(vm, op, i, arg);

  uint8_t img[kImageSize];
  std::memcpy(img, c.fpu, kImageSize);
  alignas(16) uint8_t mem[16] = {};
  if (op.load) readBytes(vm, i, arg, op.load, mem);
  // Under IGNNE# the host would trap on the pending exception: mask the flags already set for
  // this one instruction (their flags are sticky anyway), which also clears ES and B in the image
  // the host loads, and put the guest's masks back after.
  uint16_t fcw = get16(img, kFcw);
  if (ignored) {
    put16(img, kFcw, fcw | (get16(img, kFsw) & kFswFlags));
    normalizeStatus(img);
  }
  uint64_t rflags = (c.eflags & flag::kArith) | flag::kFixed1;
  StubFn stub = stubFor(opcode, modrm);
  uint64_t host_flags;
  if (op.store) {
    // An unmasked exception leaves memory alone. Which case happened shows by running the stub
    // twice over different fillers: a store writes every byte of its operand.
    uint8_t img2[kImageSize];
    alignas(16) uint8_t mem2[16];
    std::memcpy(img2, img, kImageSize);
    std::memset(mem2, 0xff, sizeof mem2);
    host_flags = stub(mem, img, rflags);
    stub(mem2, img2, rflags);
    if (std::memcmp(mem, mem2, op.store) == 0) writeBytes(vm, i, arg, op.store, mem);
  } else {
    host_flags = stub(mem, img, rflags);
  }
  // FLDCW (D9 /5) loaded a control word of its own: keep it.
  bool loads_fcw = opcode == 0xd9 && modrm < 0xc0 && ((modrm >> 3) & 7) == 5;
  if (ignored && !loads_fcw) put16(img, kFcw, (get16(img, kFcw) & ~kFswFlags) | (fcw & kFswFlags));
  // FCOMI & co. leave EFLAGS alone when they raise an unmasked invalid-operation exception.
  bool unmasked_ie = (get16(img, kFsw) & ~get16(c.fpu, kFsw) & 1) && !(get16(c.fpu, kFcw) & 1);
  normalizeStatus(img);
  std::memcpy(img + kFip, c.fpu + kFip, kRegs - kFip);  // the host's pointers mean nothing here
  if (opcode == 0xdb && modrm == 0xe3) std::memset(img + kFip, 0, kRegs - kFip);  // FNINIT
  else if (!op.control) setPointers(c, img, opcode, modrm, i, arg);
  std::memcpy(c.fpu, img, kImageSize);
  if (op.eflags && !unmasked_ie)
    setFlags(c, flag::kArith, uint32_t(host_flags) & (flag::ZF | flag::PF | flag::CF));
  return kNext;
}

}  // namespace

void saveLive(CpuState& c) {
  if (!c.fpu_live) return;
  __asm__ volatile("fnsave %0" : "=m"(*reinterpret_cast<uint8_t(*)[kImageSize]>(c.fpu)));
  std::memcpy(c.fpu + kFip, c.fpu_ptrs, kRegs - kFip);
  c.fpu_live = 0;
}

Op decode(uint8_t opcode, uint8_t modrm) {
  Op op{true, true, false, false, 0, 0, Special::None};
  const Op invalid{};
  unsigned reg = (modrm >> 3) & 7;
  auto load = [&](uint8_t n) { op.load = n; return op; };
  auto store = [&](uint8_t n) { op.store = n; return op; };
  auto ctl = [&](Special s, bool waiting) {
    op.control = true;
    op.waiting = waiting;
    op.special = s;
    return op;
  };
  if (modrm < 0xc0) {
    switch (opcode) {
      case 0xd8: return load(4);   // arithmetic with m32real
      case 0xda: return load(4);   // ... m32int
      case 0xdc: return load(8);   // ... m64real
      case 0xde: return load(2);   // ... m16int
      case 0xd9:
        switch (reg) {
          case 0: return load(4);                      // FLD m32
          case 2: case 3: return store(4);             // FST(P) m32
          case 4: return ctl(Special::Fldenv, true);
          case 5: op.control = true; return load(2);   // FLDCW
          case 6: return ctl(Special::Fnstenv, false);
          case 7: op.control = true; op.waiting = false; return store(2);  // FNSTCW
          default: return invalid;
        }
      case 0xdb:
        switch (reg) {
          case 0: return load(4);                // FILD m32
          case 2: case 3: return store(4);       // FIST(P) m32
          case 5: return load(10);               // FLD m80
          case 7: return store(10);              // FSTP m80
          default: return invalid;               // /1 FISTTP is SSE3
        }
      case 0xdd:
        switch (reg) {
          case 0: return load(8);                // FLD m64
          case 2: case 3: return store(8);       // FST(P) m64
          case 4: return ctl(Special::Frstor, true);
          case 6: return ctl(Special::Fnsave, false);
          case 7: op.control = true; op.waiting = false; return store(2);  // FNSTSW m16
          default: return invalid;
        }
      case 0xdf:
        switch (reg) {
          case 0: return load(2);                // FILD m16
          case 2: case 3: return store(2);       // FIST(P) m16
          case 4: return load(10);               // FBLD
          case 5: return load(8);                // FILD m64
          case 6: return store(10);              // FBSTP
          case 7: return store(8);               // FISTP m64
          default: return invalid;
        }
      default: return invalid;
    }
  }
  switch (opcode) {
    case 0xd8: case 0xdc: return op;  // all arithmetic; DC D0..DF are FCOM/FCOMP aliases
    case 0xd9:
      if ((modrm >= 0xd1 && modrm <= 0xd7) || modrm == 0xe2 || modrm == 0xe3 || modrm == 0xe6 ||
          modrm == 0xe7 || modrm == 0xef)
        return invalid;
      return op;  // D9 D8..DF: FSTP1, an alias of FSTP st(i)
    case 0xda:
      if (modrm < 0xe0 || modrm == 0xe9) return op;  // FCMOVcc, FUCOMPP
      return invalid;
    case 0xdb:
      if (modrm < 0xe0) return op;  // FCMOVNcc
      if (modrm == 0xe0 || modrm == 0xe1 || modrm == 0xe4) return ctl(Special::Nop, false);
      if (modrm == 0xe2 || modrm == 0xe3) return ctl(Special::None, false);  // FNCLEX, FNINIT
      if (modrm >= 0xe8 && modrm < 0xf8) { op.eflags = true; return op; }  // FUCOMI, FCOMI
      return invalid;
    case 0xdd:
      return modrm < 0xf0 ? op : invalid;  // DD C8..CF: FXCH4
    case 0xde:
      if (modrm >= 0xd8 && modrm < 0xe0 && modrm != 0xd9) return invalid;
      return op;  // DE D0..D7: FCOMP5
    case 0xdf:
      if (modrm < 0xe0) return op;  // FFREEP, FXCH7, FSTP8, FSTP9
      if (modrm == 0xe0) return ctl(Special::FnstswAx, false);
      if (modrm >= 0xe8 && modrm < 0xf8) { op.eflags = true; return op; }  // FUCOMIP, FCOMIP
      return invalid;
    default:
      return invalid;
  }
}

void resetState(CpuState& c) {
  std::memset(c.fpu, 0, kImageSize);
  initState(c.fpu);
}

// FCW 0x0040: every exception unmasked, 24-bit precision, round to nearest; every tag "zero"
// (the registers are +0); no exception pending.
void powerOnState(CpuState& c) {
  std::memset(c.fpu, 0, kImageSize);
  put32(c.fpu, kFcw, 0xffff0040);
  put32(c.fpu, kFsw, 0xffff0000);
  put32(c.fpu, kFtw, 0xffff5555);
}

}  // namespace btvm::fpu

namespace btvm {
void registerFpuHelpers(Helper* table) { table[size_t(HelperId::Fpu)] = fpu::hFpu; }
}  // namespace btvm
