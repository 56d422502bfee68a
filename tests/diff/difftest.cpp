// btvm-difftest: random instruction sequences run on btvm and on Unicorn, compared register by
// register, on the flags each executed instruction defines, and byte by byte on the memory a case
// can touch. Every mismatch is printed as a replayable case.
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "tests/diff/flags.h"
#include "tests/diff/generator.h"
#include "tests/diff/oracle.h"
#ifndef DIFF_ORACLE_ONLY_BUILD
#include "tests/diff/btvm_target.h"
#endif

namespace diff {
namespace {

constexpr const char* kRegNames[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};

struct Options {
  uint64_t seed = 1;
  uint64_t count = 1000;
  uint64_t first = 0;
  std::vector<int> classes;
  bool verbose = false;
  bool oracleOnly = false;
  std::vector<uint8_t> code;  // --code: replaces the generated code (to minimize a failing case)
};

std::string describe(const Outcome& o) {
  switch (o.kind) {
    case OutKind::Completed: return "completed";
    case OutKind::Exception: return fmt::format("exception #{} at {:08x}", o.vector, o.st.eip);
    case OutKind::Error: return o.message;
  }
  return "?";
}

// The generator's promise about the case: it reaches the hlt, or faults with the given vector.
bool meetsExpectation(const Case& c, const Outcome& o) {
  if (c.expectVector == -2) return o.kind != OutKind::Error;
  if (c.expectVector < 0) return o.kind == OutKind::Completed;
  return o.kind == OutKind::Exception && o.vector == c.expectVector;
}

struct MemDiff {
  uint32_t addr;
  uint8_t ref, dut;
};

std::vector<MemDiff> memDiffs(const Outcome& ref, const Outcome& dut) {
  std::vector<MemDiff> d;
  auto scan = [&](uint32_t base, const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    for (size_t i = 0; i < a.size() && i < b.size(); i++) {
      const uint32_t addr = base + uint32_t(i);
      if (a[i] != b[i] && !(addr >= dut.skipLo && addr < dut.skipHi)) d.push_back({addr, a[i], b[i]});
    }
  };
  scan(kData, ref.data, dut.data);
  scan(kStack, ref.stack, dut.stack);
  return d;
}

[[maybe_unused]] bool sameOutcome(const Outcome& ref, const Outcome& dut, const Masks& m) {
  if (ref.kind != dut.kind || ref.kind == OutKind::Error) return false;
  if (ref.vector != dut.vector || ref.st.eip != dut.st.eip) return false;
  for (int i = 0; i < 8; i++)
    if ((ref.st.regs[i] ^ dut.st.regs[i]) & ~m.regBits[i]) return false;
  if ((ref.st.eflags ^ dut.st.eflags) & kCompared & ~m.flags) return false;
  return memDiffs(ref, dut).empty();
}

void printCase(const Case& c, const std::vector<Insn>& insns, const Options& opt) {
  std::string classes;
  if (opt.classes.size() != classNames().size()) classes = " --class " + c.cls;
  fmt::print("case {}:{} class {}   replay: btvm-difftest --replay {}:{}{}\n", c.seed, c.index,
             c.cls, c.seed, c.index, classes);
  std::string hex;
  for (uint8_t b : c.in.code) hex += fmt::format("{:02x} ", b);
  fmt::print("  code ({} bytes): {}\n", c.in.code.size(), hex);
  for (const Insn& i : insns) {
    std::string bytes;
    for (unsigned k = 0; k < i.size; k++) bytes += fmt::format("{:02x}", c.in.code[i.addr - kCode + k]);
    fmt::print("    {:08x}  {:<20} {}\n", i.addr, bytes, i.text);
  }
  const uint32_t end = insns.empty() ? kCode : insns.back().addr + insns.back().size;
  if (end < kCode + c.in.code.size())  // e.g. lock on a register form: Capstone stops there
    fmt::print("    {:08x}  ({} bytes Capstone does not decode)\n", end, kCode + c.in.code.size() - end);
  std::string regs;
  for (int i = 0; i < 8; i++) regs += fmt::format("{}={:08x} ", kRegNames[i], c.in.init.regs[i]);
  fmt::print("  initial: {}eflags={:08x} ({})\n  data at {:08x}, base register {}\n", regs,
             c.in.init.eflags, flagNames(c.in.init.eflags & kCompared), kData, kRegNames[c.base]);
}

[[maybe_unused]] void printComparison(const Outcome& ref, const Outcome& dut, const Masks& m) {
  fmt::print("  unicorn: {}\n  btvm:    {}\n", describe(ref), describe(dut));
  if (ref.kind == OutKind::Error || dut.kind == OutKind::Error) return;  // no state to compare
  fmt::print("  {:8} {:>10} {:>10}\n", "", "unicorn", "btvm");
  for (int i = 0; i < 8; i++) {
    const bool diff = (ref.st.regs[i] ^ dut.st.regs[i]) & ~m.regBits[i];
    fmt::print("  {:8} {:08x}   {:08x}  {}{}\n", kRegNames[i], ref.st.regs[i], dut.st.regs[i],
               diff ? "*" : "", m.regBits[i] ? fmt::format(" (undefined bits {:08x})", m.regBits[i]) : "");
  }
  fmt::print("  {:8} {:08x}   {:08x}  {}\n", "eip", ref.st.eip, dut.st.eip, ref.st.eip != dut.st.eip ? "*" : "");
  const uint32_t fd = (ref.st.eflags ^ dut.st.eflags) & kCompared & ~m.flags;
  fmt::print("  {:8} {:08x}   {:08x}  {}  unicorn [{}] btvm [{}] undefined [{}]{}\n", "eflags",
             ref.st.eflags, dut.st.eflags, fd ? "*" : "", flagNames(ref.st.eflags & kCompared),
             flagNames(dut.st.eflags & kCompared), flagNames(m.flags),
             fd ? " differ [" + flagNames(fd) + "]" : "");
  std::vector<MemDiff> md = memDiffs(ref, dut);
  for (size_t i = 0; i < md.size() && i < 32; i++)
    fmt::print("  mem {:08x}: unicorn {:02x} btvm {:02x}  *\n", md[i].addr, md[i].ref, md[i].dut);
  if (md.size() > 32) fmt::print("  ... {} more memory differences\n", md.size() - 32);
}

// The case being run, for the crash message: btvm is the code under test and may fault.
volatile uint64_t gSeed, gIndex;
void onCrash(int sig) {
  char buf[128];
  int n = snprintf(buf, sizeof buf, "\nbtvm-difftest: signal %d in case %llu:%llu\n", sig,
                   (unsigned long long)gSeed, (unsigned long long)gIndex);
  if (write(2, buf, size_t(n)) < 0) {}
  signal(sig, SIG_DFL);
  raise(sig);
}

bool runCase(uint64_t index, const Options& opt, const Disasm& dis) {
  gSeed = opt.seed;
  gIndex = index;
  Case c = generate(opt.seed, index, opt.classes);
  if (!opt.code.empty()) {
    c.in.code = opt.code;
    if (c.in.code.back() != 0xF4) c.in.code.push_back(0xF4);
    c.expectVector = -2;  // unknown: the oracle decides
  }
  std::vector<Insn> insns = dis.decode(c.in.code.data(), c.in.code.size(), kCode);
  Masks m;
  Outcome ref = runMasked(c.in, insns, &m);
  bool ok = meetsExpectation(c, ref);
  if (!ok) {
    fmt::print("ORACLE CHECK FAILED (generator or Unicorn): expected {}, unicorn: {}\n",
               c.expectVector < 0 ? "completion" : fmt::format("exception #{}", c.expectVector),
               describe(ref));
    printCase(c, insns, opt);
  }
  if (opt.oracleOnly) {
    if (opt.verbose && ok) {
      printCase(c, insns, opt);
      fmt::print("  unicorn: {}, undefined flags [{}]\n", describe(ref), flagNames(m.flags));
    }
    return ok;
  }
#ifdef DIFF_ORACLE_ONLY_BUILD
  return ok;
#else
  Outcome dut = runBtvm(c.in);
  const bool same = sameOutcome(ref, dut, m);
  if (!same || opt.verbose) {
    if (!same) fmt::print("MISMATCH\n");
    if (ok) printCase(c, insns, opt);
    printComparison(ref, dut, m);
  }
  return ok && same;
#endif
}

[[noreturn]] void usage(const char* msg) {
  if (msg) fmt::print(stderr, "btvm-difftest: {}\n", msg);
  std::string names;
  for (const std::string& n : classNames()) names += " " + n;
  fmt::print(stderr,
             "usage: btvm-difftest [--seed S] [--count N] [--class NAME[,NAME...]] [--verbose]\n"
             "                     [--oracle-only] [--replay SEED:INDEX [--code HEX]]\n"
             "--code runs HEX (hlt appended) from the replayed case's initial state.\n"
             "classes:{}\n", names);
  std::exit(2);
}

uint64_t number(const char* s) {
  char* end;
  uint64_t v = std::strtoull(s, &end, 0);
  if (!*s || *end) usage("bad number");
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto arg = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--seed") o.seed = number(arg());
    else if (a == "--count") o.count = number(arg());
    else if (a == "--verbose") o.verbose = true;
    else if (a == "--oracle-only") o.oracleOnly = true;
    else if (a == "--class") {
      std::string list = arg();
      for (size_t p = 0; p <= list.size();) {
        size_t q = list.find(',', p);
        if (q == std::string::npos) q = list.size();
        std::string name = list.substr(p, q - p);
        int k = classIndex(name);
        if (k < 0) usage(("unknown class " + name).c_str());
        o.classes.push_back(k);
        p = q + 1;
      }
    } else if (a == "--replay") {
      std::string v = arg();
      size_t colon = v.find(':');
      if (colon == std::string::npos) usage("--replay wants SEED:INDEX");
      o.seed = number(v.substr(0, colon).c_str());
      o.first = number(v.substr(colon + 1).c_str());
      o.count = 1;
      o.verbose = true;
    } else if (a == "--code") {
      std::string hex = arg();
      for (size_t p = 0; p < hex.size();) {
        if (hex[p] == ' ') { p++; continue; }
        o.code.push_back(uint8_t(number(("0x" + hex.substr(p, 2)).c_str())));
        p += 2;
      }
    } else if (a == "--help" || a == "-h") usage(nullptr);
    else usage(("unknown option " + a).c_str());
  }
  if (o.classes.empty())
    for (size_t k = 0; k < classNames().size(); k++) o.classes.push_back(int(k));
#ifdef DIFF_ORACLE_ONLY_BUILD
  o.oracleOnly = true;
#endif
  return o;
}

}  // namespace
}  // namespace diff

int main(int argc, char** argv) {
  using namespace diff;
  Options opt = parse(argc, argv);
  signal(SIGSEGV, onCrash);
  signal(SIGBUS, onCrash);
  signal(SIGILL, onCrash);
  signal(SIGFPE, onCrash);
  signal(SIGABRT, onCrash);
  Disasm dis;
  uint64_t bad = 0;
  for (uint64_t i = opt.first; i < opt.first + opt.count; i++) {
    bool ok;
    try {
      ok = runCase(i, opt, dis);
    } catch (const std::exception& e) {
      fmt::print("case {}:{}: {}\n", opt.seed, i, e.what());
      ok = false;
    }
    if (!ok) {
      bad++;
      fmt::print("\n");
    }
    std::fflush(stdout);
  }
  fmt::print("{} cases, {} mismatches{}\n", opt.count, bad, opt.oracleOnly ? " (oracle only)" : "");
  return bad ? 1 : 0;
}
