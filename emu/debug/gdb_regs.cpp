#include "emu/debug/gdb_regs.h"

#include <cstring>

#include "emu/cpu/fpu.h"

namespace btvm::gdb {

namespace {

// gdb's order of the segment registers (cs ss ds es fs gs) in btvm's SegReg numbering.
constexpr int kSegOrder[6] = {CS, SS, DS, ES, FS, GS};
constexpr int kFirstSeg = 10, kFirstSt = 16, kFirstFpuCtl = 24, kFirstCr = 32;

// fctrl..fop: where each lives in the FNSAVE image and how many of its bits count.
struct FpuField {
  unsigned offset;
  uint32_t mask;
};
constexpr FpuField kFpuFields[8] = {
    {fpu::kFcw, 0xffff}, {fpu::kFsw, 0xffff}, {fpu::kFtw, 0xffff}, {fpu::kFcs, 0xffff},
    {fpu::kFip, 0xffffffff}, {fpu::kFds, 0xffff}, {fpu::kFdp, 0xffffffff}, {fpu::kFop, 0x7ff}};

uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

uint32_t crValue(const CpuState& c, int i) {
  const uint32_t crs[4] = {c.cr0, c.cr2, c.cr3, c.cr4};
  return crs[i];
}

}  // namespace

unsigned regSize(int n) {
  if (n < 0 || n >= kNumRegs) return 0;
  return n >= kFirstSt && n < kFirstFpuCtl ? 10 : 4;
}

void readReg(const CpuState& c, int n, uint8_t* out) {
  if (n < 8) return put32(out, c.regs[n]);
  if (n == 8) return put32(out, c.eip);
  if (n == 9) return put32(out, c.eflags | flag::kFixed1);
  if (n < kFirstSt) return put32(out, c.seg[kSegOrder[n - kFirstSeg]].selector);
  if (n < kFirstFpuCtl) {
    std::memcpy(out, c.fpu + fpu::kRegs + 10 * (n - kFirstSt), 10);
    return;
  }
  if (n < kFirstCr) {
    const FpuField& f = kFpuFields[n - kFirstFpuCtl];
    uint32_t v = 0;
    std::memcpy(&v, c.fpu + f.offset, f.mask > 0xffff ? 4 : 2);
    return put32(out, v & f.mask);
  }
  put32(out, crValue(c, n - kFirstCr));
}

bool writeReg(CpuState& c, int n, const uint8_t* in) {
  if (n < 0 || n >= kNumRegs) return false;
  if (n < 8) {
    c.regs[n] = get32(in);
  } else if (n == 8) {
    c.eip = get32(in);
  } else if (n == 9) {
    // Bit 1 reads 1; the rest as gdb sets them (it may set TF, as a guest's POPF at CPL 0 can).
    c.eflags = get32(in) | flag::kFixed1;
  } else if (n < kFirstSt) {
    return uint16_t(get32(in)) == c.seg[kSegOrder[n - kFirstSeg]].selector;
  } else if (n < kFirstFpuCtl) {
    std::memcpy(c.fpu + fpu::kRegs + 10 * (n - kFirstSt), in, 10);
  } else if (n < kFirstCr) {
    const FpuField& f = kFpuFields[n - kFirstFpuCtl];
    uint32_t v = get32(in) & f.mask;
    if (f.offset == fpu::kFop) v |= uint32_t(c.fpu[fpu::kFop + 1] & ~7u) << 8;  // keep bits 11..15
    std::memcpy(c.fpu + f.offset, &v, f.mask > 0xffff ? 4 : 2);
  } else {
    return get32(in) == crValue(c, n - kFirstCr);
  }
  return true;
}

const std::string& targetXml() {
  // Types and names follow gdb's features/i386/32bit-core.xml, so gdb's i386 code recognizes
  // every register; the control registers are a feature of btvm's own (gdb shows them as is).
  static const std::string xml = [] {
    std::string s =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target>\n"
        "<architecture>i386</architecture>\n<feature name=\"org.gnu.gdb.i386.core\">\n"
        "<flags id=\"i386_eflags\" size=\"4\">\n";
    const char* flags[][2] = {{"CF", "0"}, {"", "1"}, {"PF", "2"}, {"AF", "4"}, {"ZF", "6"},
                              {"SF", "7"}, {"TF", "8"}, {"IF", "9"}, {"DF", "10"}, {"OF", "11"},
                              {"NT", "14"}, {"RF", "16"}, {"VM", "17"}, {"AC", "18"}, {"VIF", "19"},
                              {"VIP", "20"}, {"ID", "21"}};
    for (auto& f : flags)
      s += std::string("<field name=\"") + f[0] + "\" start=\"" + f[1] + "\" end=\"" + f[1] + "\"/>\n";
    s += "</flags>\n";
    auto reg = [&s](const std::string& name, unsigned bits, const char* type, const char* group = nullptr) {
      s += "<reg name=\"" + name + "\" bitsize=\"" + std::to_string(bits) + "\" type=\"" + type + "\"";
      if (group) s += std::string(" group=\"") + group + "\"";
      s += "/>\n";
    };
    const char* gprs[] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
    for (int i = 0; i < 8; ++i) reg(gprs[i], 32, i == 4 || i == 5 ? "data_ptr" : "int32");
    reg("eip", 32, "code_ptr");
    reg("eflags", 32, "i386_eflags");
    for (const char* sreg : {"cs", "ss", "ds", "es", "fs", "gs"}) reg(sreg, 32, "int32");
    for (int i = 0; i < 8; ++i) reg("st" + std::to_string(i), 80, "i387_ext");
    for (const char* f : {"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"})
      reg(f, 32, "int", "float");
    s += "</feature>\n<feature name=\"org.btvm.i386.sys\">\n";
    for (const char* cr : {"cr0", "cr2", "cr3", "cr4"}) reg(cr, 32, "int32", "system");
    s += "</feature>\n</target>\n";
    return s;
  }();
  return xml;
}

}  // namespace btvm::gdb
