#include "tests/fuzz/fuzz_case.h"

#include <fmt/format.h>

#include <cstring>

namespace fuzz {
namespace {

using btvm::ExitKind;

void put8(uint8_t* ram, uint32_t a, uint8_t v) { ram[a] = v; }
void put16(uint8_t* ram, uint32_t a, uint16_t v) { std::memcpy(ram + a, &v, 2); }
void put32(uint8_t* ram, uint32_t a, uint32_t v) { std::memcpy(ram + a, &v, 4); }

// GDT: (low, high) dwords. Index * 8 is the selector.
struct Desc {
  uint32_t lo, hi;
};
constexpr Desc kGdtEntries[] = {
    {0, 0},                                 // 0x00 null
    {0x0000ffff, 0x00cf9b00},               // 0x08 flat code, DPL 0
    {0x0000ffff, 0x00cf9300},               // 0x10 flat data, DPL 0
    {0x0000ffff, 0x00cffb00},               // 0x18 flat code, DPL 3
    {0x0000ffff, 0x00cff300},               // 0x20 flat data, DPL 3
    {0x0000ffff, 0x00009b00},               // 0x28 16-bit code, base 0, limit 64 KiB
    {0x00001000, 0x00c09700},               // 0x30 expand-down data, limit 0x1000 (valid: above it)
    {0x00000fff, 0x00409301},               // 0x38 data, base 0x10000, limit 0xfff
    {0x0000ffff, 0x00cf1300},               // 0x40 data, not present
    {(kTss << 16) | 0x67, 0x00008900},      // 0x48 32-bit TSS (available)
    {0x0000ffff, 0x00cf9f00},               // 0x50 conforming code, DPL 0
    {0x0000ffff, 0x00cf9100},               // 0x58 read-only data, DPL 0
    {(0x08u << 16) | (kStubs & 0xffff), 0x0000ec00},  // 0x60 call gate DPL 3 -> 0x08:stub 0
    {(kLdt << 16) | 0x17, 0x00008200},      // 0x68 LDT, 3 entries
    {0x48u << 16, 0x0000e500},              // 0x70 task gate -> the TSS
    {0x0000ffff, 0x00cfd300},               // 0x78 flat data, DPL 2
    // Targets for task switches and gates with a stack switch (tests/fuzz/README.md).
    {(kTss2 << 16) | 0x67, 0x00008900},     // 0x80 second 32-bit TSS (available)
    {(kTss16 << 16) | 0x2b, 0x00008100},    // 0x88 16-bit TSS (available)
    {0x80u << 16, 0x0000e500},              // 0x90 task gate DPL 3 -> 0x80
    {(0x08u << 16) | ((kStubs + 16) & 0xffff), ((kStubs + 16) & 0xffff0000u) | 0xec02},  // 0x98 call gate, 2 dwords
    {(0x08u << 16) | ((kStubs + 32) & 0xffff), 0x0000e403},  // 0xa0 16-bit call gate, 3 words
    {(0x50u << 16) | ((kStubs + 48) & 0xffff), ((kStubs + 48) & 0xffff0000u) | 0xec00},  // 0xa8 gate -> conforming
};
constexpr uint32_t kGdtCount = sizeof(kGdtEntries) / sizeof(kGdtEntries[0]);

bool criticalPage(uint32_t page) {
  return page <= 7 || (page >= (kCode >> 12) && page <= ((kCode + kCodeBytes + 0xfff) >> 12));
}

// The tasks behind the second TSS and the 16-bit TSS: code in the case's code area, a flat
// ring-0 stack, random registers and flags (VM too, through randomFlags), and now and then a
// random selector where a segment register should be, so that switches fault after the commit.
uint32_t randomFlags(Rng& rng);
void writeTaskImages(uint8_t* ram, Rng& rng) {
  auto sel = [&](uint32_t good) { return rng.oneIn(16) ? rng.below(kGdtCount * 8) : good; };
  put32(ram, kTss2 + 0x1c, kPageDir);
  put32(ram, kTss2 + 0x20, kCode + rng.below(kCodeBytes));
  put32(ram, kTss2 + 0x24, randomFlags(rng));
  for (uint32_t r = 0; r < 8; ++r) put32(ram, kTss2 + 0x28 + 4 * r, r == 4 ? kStackTop - 0x100 : rng.u32());
  const uint32_t segs[6] = {kSelData0, kSelCode0, kSelData0, kSelData0, 0, 0};
  for (uint32_t k = 0; k < 6; ++k) put32(ram, kTss2 + 0x48 + 4 * k, sel(segs[k]));
  put32(ram, kTss2 + 0x60, rng.oneIn(2) ? kSelLdt : 0);
  put16(ram, kTss2 + 0x66, 104);
  put16(ram, kTss16 + 14, uint16_t(kCode + rng.below(kCodeBytes)));  // IP: through the 16-bit code segment
  put16(ram, kTss16 + 16, uint16_t(randomFlags(rng)));
  for (uint32_t r = 0; r < 8; ++r) put16(ram, kTss16 + 18 + 2 * r, r == 4 ? 0x7e00 : uint16_t(rng.u32()));
  const uint32_t segs16[4] = {kSelData0, 0x28, kSelData0, kSelData0};
  for (uint32_t k = 0; k < 4; ++k) put16(ram, kTss16 + 34 + 2 * k, uint16_t(sel(segs16[k])));
  put16(ram, kTss16 + 42, 0);
}

void writeGdtIdt(uint8_t* ram, btvm::CpuState& c, const CaseSpec& spec, Rng& rng) {
  for (uint32_t i = 0; i < kGdtCount; ++i) {
    put32(ram, kGdt + 8 * i, kGdtEntries[i].lo);
    put32(ram, kGdt + 8 * i + 4, kGdtEntries[i].hi);
  }
  c.gdtr = btvm::TableReg{kGdt, kGdtCount * 8 - 1};
  // LDT: null, flat code DPL 3, flat data DPL 3 (selectors 0x0f and 0x17).
  put32(ram, kLdt + 8, 0x0000ffff);
  put32(ram, kLdt + 12, 0x00cffb00);
  put32(ram, kLdt + 16, 0x0000ffff);
  put32(ram, kLdt + 20, 0x00cff300);
  // TSS: ring 0 stack for interrupts from ring 3; no I/O bitmap.
  put32(ram, kTss + 4, kStackTop);
  put32(ram, kTss + 8, kSelData0);
  // An I/O permission bitmap after the TSS in half of the cases (ports 0..0x4bf, random bits).
  if (rng.oneIn(2)) {
    put32(ram, kGdt + 8 * (kSelTss >> 3), (kTss << 16) | (kLdt - kTss - 1));
    for (uint32_t a = kTss + 104; a < kLdt; ++a) put8(ram, a, uint8_t(rng.u32()));
  }
  put16(ram, kTss + 102, 104);
  writeTaskImages(ram, rng);

  std::memset(ram + kStubs, 0xF4, 256 * kStubStride);
  for (uint32_t v = 0; v < 256; ++v) {
    uint32_t off = kStubs + v * kStubStride;
    uint32_t sel = kSelCode0;
    uint32_t type = 0x8E00;                          // present 32-bit interrupt gate, DPL 0
    if (spec.user || rng.oneIn(4)) type |= 0x6000;   // DPL 3: INT n allowed from ring 3
    if (rng.oneIn(32)) type = (type & ~0x0f00u) | 0x0f00;  // trap gate
    if (rng.oneIn(128)) type = (type & ~0x0f00u) | 0x0600;  // 16-bit interrupt gate
    if (rng.oneIn(256)) type = (type & ~0x0f00u) | 0x0500, sel = rng.oneIn(2) ? kSelTss : 0x80;  // task gate
    if (rng.oneIn(128)) type &= ~0x8000u;            // not present
    if (rng.oneIn(128)) sel = rng.below(kGdtCount * 8);
    put32(ram, kIdt + 8 * v, (sel << 16) | (off & 0xffff));
    put32(ram, kIdt + 8 * v + 4, (off & 0xffff0000u) | type);
  }
  c.idtr = btvm::TableReg{kIdt, rng.oneIn(32) ? 8 * rng.below(256) + 7 : 256 * 8 - 1};
}

uint32_t randomFlags(Rng& rng) {
  uint32_t f = 0x02 | (rng.u32() & 0x8d5);  // CF PF AF ZF SF OF at random
  if (rng.oneIn(4)) f |= 1u << 10;          // DF
  if (rng.oneIn(4)) f |= 1u << 9;           // IF
  if (rng.oneIn(32)) f |= 1u << 8;          // TF
  if (rng.oneIn(4)) f |= rng.below(4) << 12;  // IOPL
  if (rng.oneIn(16)) f |= 1u << 14;         // NT
  if (rng.oneIn(16)) f |= 1u << 16;         // RF
  if (rng.oneIn(128)) f |= 1u << 17;        // VM
  if (rng.oneIn(8)) f |= 1u << 18;          // AC
  if (rng.oneIn(8)) f |= 1u << 21;          // ID
  return f;
}

void writePageTables(uint8_t* ram, const CaseSpec& spec, Rng& rng) {
  std::memset(ram + kPageDir, 0, 0x3000);
  for (uint32_t t = 0; t < 2; ++t) put32(ram, kPageDir + 4 * t, (kPageTables + 0x1000 * t) | 0x7);
  for (uint32_t p = 0; p < 2048; ++p) {
    uint32_t pte = (p << 12) | 0x7;
    if (spec.wild_tables || !criticalPage(p)) {
      if (rng.oneIn(16)) pte &= ~1u;            // not present
      if (rng.oneIn(8)) pte &= ~2u;             // read-only
      if (rng.oneIn(8)) pte &= ~4u;             // supervisor only
      if (rng.oneIn(32))                        // another frame, in RAM or beyond it
        pte = (pte & 0xfff) | ((rng.oneIn(2) ? rng.u32() : rng.below(spec.ram_bytes)) & ~0xfffu);
      pte |= rng.u32() & 0x78;                  // PWT PCD A D at random
    }
    put32(ram, kPageTables + 4 * p, pte);
  }
  if (spec.pse && rng.oneIn(2)) put32(ram, kPageDir + 4, 0x00400000 | 0x87);  // second 4 MiB as one page
  for (uint32_t k = rng.below(5); k > 0; --k) {  // a few more mappings, high up
    uint32_t i = 2 + rng.below(1022);
    uint32_t pde = spec.pse && rng.oneIn(2) ? ((rng.u32() & 0xffc00000u) | 0x80) : (kPageTables + 0x1000 * rng.below(2));
    pde |= rng.oneIn(8) ? (rng.u32() & 0x7f) : 0x7;
    put32(ram, kPageDir + 4 * i, pde);
  }
}

// The prologue sets up the task register, LDT, paging and segments, then IRETDs into the case's
// registers and flags (at CPL 3 for user cases), so every bit of state goes through the guest's
// own instructions rather than around them.
std::vector<uint8_t> prologue(const CaseSpec& s) {
  std::vector<uint8_t> p;
  auto b = [&](std::initializer_list<uint8_t> bytes) { p.insert(p.end(), bytes); };
  auto d = [&](uint32_t v) { b({uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)}); };
  b({0x66, 0xB8, uint8_t(kSelTss), 0x00, 0x0F, 0x00, 0xD8});  // mov ax,TSS; ltr ax
  b({0x66, 0xB8, uint8_t(kSelLdt), 0x00, 0x0F, 0x00, 0xD0});  // mov ax,LDT; lldt ax
  if (s.paging) {
    b({0xB8}), d(kPageDir), b({0x0F, 0x22, 0xD8});           // mov eax,PD; mov cr3,eax
    if (s.pse) b({0x0F, 0x20, 0xE0, 0x83, 0xC8, 0x10, 0x0F, 0x22, 0xE0});  // cr4 |= PSE
    b({0x0F, 0x20, 0xC0, 0x0D}), d(0x80000000u | (s.wp ? 0x10000u : 0));   // eax = cr0 | PG [| WP]
    b({0x0F, 0x22, 0xC0});                                   // mov cr0,eax
  }
  if (s.user) {
    b({0x66, 0xB8, uint8_t(kSelData3), 0x00});               // mov ax,0x23
    b({0x8E, 0xD8, 0x8E, 0xC0, 0x8E, 0xE0, 0x8E, 0xE8});     // mov ds/es/fs/gs,ax
  }
  b({0xBC}), d(kStackTop);                                   // mov esp,kStackTop
  if (s.user) b({0x6A, uint8_t(kSelData3), 0x68}), d(s.regs[btvm::ESP]);  // push ss; push esp
  b({0x68}), d(s.eflags);                                    // push eflags
  b({0x6A, uint8_t(s.user ? kSelCode3 : kSelCode0)});        // push cs
  size_t target_at = p.size() + 1;
  b({0x68}), d(0);                                           // push eip (patched below)
  for (int r = 0; r < 8; ++r)
    if (r != btvm::ESP) b({uint8_t(0xB8 + r)}), d(s.regs[r]);  // mov r32,imm32
  b({0xCF});                                                 // iretd
  uint32_t target = kCode + uint32_t(p.size());
  std::memcpy(p.data() + target_at, &target, 4);
  if (!s.user) b({0xBC}), d(s.regs[btvm::ESP]);              // mov esp,imm32 (same-level iretd keeps ESP)
  return p;
}

}  // namespace

uint32_t interestingValue(Rng& rng, uint32_t ram_bytes) {
  static constexpr uint32_t kEdges[] = {0,          1,          2,          0x7f,       0x80,       0xff,
                                        0xffff,     0x10000,    0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
                                        0xfffffffc, 0xfffff000, 0xffc00000, 0x00400000, 0xfff,      0x1000};
  switch (rng.below(8)) {
    case 0: case 1: return rng.u32();
    case 2: case 3: return kData + rng.below(kDataSize);
    case 4: return rng.below(ram_bytes);
    case 5: return ram_bytes - 64 + rng.below(128);  // across the end of RAM
    case 6: return kEdges[rng.below(sizeof(kEdges) / sizeof(kEdges[0]))];
    default: return rng.oneIn(2) ? kCode + rng.below(kCodeBytes) : rng.below(256);
  }
}

CaseSpec makeSpec(uint64_t seed, uint64_t index, CodeMode mode, Rng& rng) {
  CaseSpec s;
  s.seed = seed;
  s.index = index;
  s.mode = mode;
  s.ram_bytes = (4u << 20) + (rng.below(1025) << 12);  // 4..8 MiB, any page count
  s.paging = rng.below(8) < 3;
  s.pse = s.paging && rng.oneIn(2);
  s.wp = s.paging && rng.oneIn(2);
  s.wild_tables = s.paging && rng.oneIn(16);
  s.user = rng.oneIn(4);
  for (uint32_t& r : s.regs) r = interestingValue(rng, s.ram_bytes);
  if (rng.oneIn(2)) s.regs[btvm::ESP] = kData + kDataSize / 2 + 4 * rng.below(256);
  s.eflags = randomFlags(rng);
  return s;
}

uint32_t buildCase(btvm::Machine& m, const CaseSpec& spec, const uint8_t* code, size_t len, Rng& rng) {
  m.setFlatProtectedMode();
  uint8_t* ram = m.ram();
  btvm::CpuState& c = m.cpu();
  writeGdtIdt(ram, c, spec, rng);
  for (uint32_t a = kData; a < kData + kDataSize; a += 4) put32(ram, a, rng.u32());
  if (spec.paging) writePageTables(ram, spec, rng);
  std::vector<uint8_t> pro = prologue(spec);
  std::memcpy(ram + kCode, pro.data(), pro.size());
  uint32_t start = kCode + uint32_t(pro.size());
  if (len > kCodeBytes) len = kCodeBytes;
  if (len) std::memcpy(ram + start, code, len);
  put8(ram, start + uint32_t(len), 0xF4);  // code that runs off its end halts (unless overwritten)
  c.eip = kCode;
  return start;
}

int haltedVector(btvm::Machine& m, const btvm::RunResult& r) {
  if (r.kind != ExitKind::Halted) return -1;
  const btvm::CpuState& c = m.cpu();
  uint32_t at = c.seg[btvm::CS].base + c.eip - 1;  // EIP is past the hlt
  if (at < kStubs || at >= kStubs + 256 * kStubStride || (at - kStubs) % kStubStride) return -1;
  return int((at - kStubs) / kStubStride);
}

const char* kindName(ExitKind k) {
  switch (k) {
    case ExitKind::DebugExit: return "DebugExit";
    case ExitKind::TripleFault: return "TripleFault";
    case ExitKind::Halted: return "Halted";
    case ExitKind::InsnLimit: return "InsnLimit";
    case ExitKind::Unsupported: return "Unsupported";
    case ExitKind::Reset: return "Reset";
    case ExitKind::Quit: return "Quit";
    case ExitKind::PowerOff: return "PowerOff";
  }
  return "?";
}

std::string describe(const CaseSpec& s) {
  std::string r = fmt::format("mode={} ram={:#x}{}{}{}{}{} eflags={:08x} regs=", s.mode == CodeMode::Bytes ? "bytes" : "insns",
                              s.ram_bytes, s.paging ? " paging" : "", s.pse ? " pse" : "", s.wp ? " wp" : "",
                              s.wild_tables ? " wild-tables" : "", s.user ? " cpl3" : " cpl0", s.eflags);
  for (int i = 0; i < 8; ++i) r += fmt::format("{}{:08x}", i ? "," : "", s.regs[i]);
  return r;
}

std::string checkResult(btvm::Machine& m, const btvm::RunResult& r, uint64_t max_insns) {
  int want = -1;
  switch (r.kind) {
    case ExitKind::DebugExit:
      if (r.status < 1 || r.status > 255 || !(r.status & 1)) return fmt::format("debug exit with status {}", r.status);
      break;
    case ExitKind::TripleFault: want = btvm::exit_status::kTripleFault; break;
    case ExitKind::Halted: want = btvm::exit_status::kHalted; break;
    case ExitKind::InsnLimit: want = btvm::exit_status::kInsnLimit; break;
    case ExitKind::Unsupported: want = btvm::exit_status::kUnsupported; break;
    case ExitKind::Reset: want = btvm::exit_status::kReset; break;
    case ExitKind::PowerOff: want = btvm::exit_status::kPowerOff; break;
    default: return fmt::format("unknown ExitKind {}", int(r.kind));
  }
  if (want >= 0 && r.status != want) return fmt::format("{} with status {} (want {})", kindName(r.kind), r.status, want);
  if (r.kind != ExitKind::DebugExit && r.message.empty()) return fmt::format("{} without a message", kindName(r.kind));
  if (r.kind != ExitKind::DebugExit && r.kind != ExitKind::TripleFault && r.message.find('\n') != std::string::npos)
    return fmt::format("{} message has more than one line", kindName(r.kind));
  uint64_t n = m.instructionsExecuted();
  if (max_insns && n > max_insns) return fmt::format("{} instructions executed, limit {}", n, max_insns);
  if (r.kind == ExitKind::InsnLimit && n != max_insns)
    return fmt::format("InsnLimit after {} instructions, limit {}", n, max_insns);
  return "";
}

}  // namespace fuzz
