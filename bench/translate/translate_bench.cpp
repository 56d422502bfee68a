// translate-bench: what it costs btvm to translate a large body of real 32-bit code.
//
// Reads the .text of an ELF32 i386 file (default: the 32-bit libc that gcc-multilib installs),
// copies it into guest physical memory and translates it block by block with Dbt::translate in a
// linear sweep (each block starts where the previous one ended; an undecodable byte becomes a
// one-byte #UD block, so the sweep steps over it). Reports ns per guest instruction, split into
// decode / classify / emit / install, host code bytes per guest byte, and which Capstone IDs have
// no row in the instruction table (they would raise #UD), most frequent first.
//
// Each run (--repeat N, medians reported) does three passes over the same bytes, interleaved so
// that the noise of this 2-core host hits all of them alike:
//   1. dbt:      a fresh Dbt translates the whole .text. Phases from DbtStats (decode_ns includes
//                classification and the copy of Capstone's detail), plus our own wall clock.
//   2. decode:   Capstone alone (detail on, one cs_insn, cs_disasm_iter), linear over .text.
//   3. classify: btvm::findInsn (with the translator's operand-form and LOCK rules) over compact
//                records taken from pass 2, so classification is timed apart from decoding.
// Run on demand (see bench/README.md); never part of `meson test`.
#include <capstone/capstone.h>
#include <elf.h>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dbt/block.h"
#include "dbt/dbt.h"
#include "emu/cpu/cpu_state.h"
#include "mmu/phys_memory.h"
#include "patcher/insn_table.h"

namespace {

using namespace btvm;

uint64_t nowNs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch()).count());
}

[[noreturn]] void die(const std::string& msg) {
  fmt::print(stderr, "translate-bench: {}\n", msg);
  std::exit(2);
}

struct Options {
  std::string file = "/usr/lib32/libc.so.6";
  int repeat = 5;
  uint64_t max_bytes = 0;     // 0: the whole .text
  bool one_off = false;       // translate with cached=false (no block registration)
  std::string only;           // "", "dbt" or "split": run one kind of pass (for callgrind)
  bool host_mmu = true;       // --mmu host (btvm's default) or soft: which access path is emitted
  int top = 15;
};

void usage() {
  fmt::print(
      "usage: translate-bench [--file PATH] [--repeat N] [--max-bytes N] [--one-off]\n"
      "                       [--only dbt|split] [--mmu host|soft] [--top N]\n"
      "  --file PATH     ELF32 i386 file whose .text is translated (default /usr/lib32/libc.so.6)\n"
      "  --repeat N      runs; medians are reported (default 5)\n"
      "  --max-bytes N   translate only the first N bytes of .text\n"
      "  --one-off       translate one-off blocks (cached=false): no lookup/chaining bookkeeping\n"
      "  --only dbt      only the Dbt::translate sweep; --only split: only the decode/classify passes\n"
      "  --mmu MODE      host (default, as btvm): flat accesses through the host MMU, each with its\n"
      "                  fault site and slow path; soft: the inline soft-TLB probe\n"
      "  --top N         how many unimplemented mnemonics to list (default 15)\n");
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(fmt::format("{} needs a value", a));
      return argv[++i];
    };
    if (a == "--file") o.file = value();
    else if (a == "--repeat") o.repeat = std::max(1, std::atoi(value().c_str()));
    else if (a == "--max-bytes") o.max_bytes = std::strtoull(value().c_str(), nullptr, 0);
    else if (a == "--one-off") o.one_off = true;
    else if (a == "--only") {
      o.only = value();
      if (o.only != "dbt" && o.only != "split") die("--only takes dbt or split");
    } else if (a == "--mmu") {
      std::string v = value();
      if (v != "host" && v != "soft") die("--mmu takes host or soft");
      o.host_mmu = v == "host";
    } else if (a == "--top") o.top = std::atoi(value().c_str());
    else if (a == "-h" || a == "--help") { usage(); std::exit(0); }
    else { usage(); die(fmt::format("unknown option {}", a)); }
  }
  return o;
}

// ---- ELF32: find .text -------------------------------------------------------------------------

struct Text {
  std::vector<uint8_t> bytes;
  uint32_t addr;  // sh_addr
};

Text readText(const Options& o) {
  std::ifstream f(o.file, std::ios::binary);
  if (!f) die(fmt::format("cannot open {} (the default is libc6-i386's, installed with gcc-multilib)", o.file));
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (file.size() < sizeof(Elf32_Ehdr)) die(fmt::format("{}: too short for ELF", o.file));
  Elf32_Ehdr eh;
  std::memcpy(&eh, file.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) die(fmt::format("{}: not an ELF file", o.file));
  if (eh.e_ident[EI_CLASS] != ELFCLASS32 || eh.e_machine != EM_386)
    die(fmt::format("{}: not an ELF32 i386 file", o.file));
  auto shdr = [&](unsigned i) {
    Elf32_Shdr s;
    uint64_t off = uint64_t(eh.e_shoff) + uint64_t(i) * eh.e_shentsize;
    if (eh.e_shentsize < sizeof s || off + sizeof s > file.size()) die(fmt::format("{}: bad section header", o.file));
    std::memcpy(&s, file.data() + off, sizeof s);
    return s;
  };
  if (eh.e_shstrndx == SHN_UNDEF || eh.e_shstrndx >= eh.e_shnum) die(fmt::format("{}: no section names", o.file));
  Elf32_Shdr strs = shdr(eh.e_shstrndx);
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    Elf32_Shdr s = shdr(i);
    if (s.sh_name >= strs.sh_size || uint64_t(strs.sh_offset) + s.sh_name >= file.size()) continue;
    const char* name = reinterpret_cast<const char*>(file.data() + strs.sh_offset + s.sh_name);
    size_t max_len = std::min<uint64_t>(strs.sh_size - s.sh_name, file.size() - strs.sh_offset - s.sh_name);
    if (strnlen(name, max_len) != 5 || std::strncmp(name, ".text", 5) != 0) continue;
    if (s.sh_type != SHT_PROGBITS || uint64_t(s.sh_offset) + s.sh_size > file.size())
      die(fmt::format("{}: .text is not file-backed", o.file));
    uint64_t n = s.sh_size;
    if (o.max_bytes && o.max_bytes < n) n = o.max_bytes;
    Text t;
    t.bytes.assign(file.begin() + s.sh_offset, file.begin() + s.sh_offset + n);
    t.addr = s.sh_addr;
    return t;
  }
  die(fmt::format("{}: no .text section", o.file));
}

// ---- Dbt hooks: translation never calls them, except code_phys for page-crossing instructions --

uint64_t gRamSize = 0;

uint64_t abortHelper(CpuState*, uint64_t, uint64_t) {
  fmt::print(stderr, "translate-bench: translated code called a helper; it must never run\n");
  std::abort();
}

// Paging off, CS base 0: physical == linear.
bool identityCodePhys(CpuState*, uint32_t linear, bool raise, uint64_t* phys) {
  if (linear >= gRamSize) {
    if (raise) die(fmt::format("code fetch outside RAM at 0x{:x}", linear));
    return false;
  }
  *phys = linear;
  return true;
}

DbtHooks stubHooks() {
  DbtHooks h{};
  h.mem_slow = h.mem_slow_seg = h.mem_commit = h.raise_ud = abortHelper;
  for (auto& f : h.helpers) f = abortHelper;
  h.code_phys = identityCodePhys;
  return h;
}

// Flat ES..GS for reads and writes, CPL 0, paging off: the mode our test kernels run in.
uint32_t flatKeyFlags() {
  uint32_t f = 0;  // CPL 0
  for (int s = 0; s < 6; ++s) f |= 1u << (block_flag::kFlatShift + s) | 1u << (block_flag::kFlatWriteShift + s);
  return f;
}

// ---- the passes --------------------------------------------------------------------------------

struct DbtRun {
  uint64_t wall_ns = 0, decode_ns = 0, emit_ns = 0, install_ns = 0;
  uint64_t blocks = 0, guest_insns = 0, guest_bytes = 0, code_bytes = 0, flushes = 0;
};

// Pass 1: the real translator, a fresh Dbt per run (its construction is not timed).
[[gnu::noinline]] DbtRun runDbtSweep(PhysMemory& mem, uint32_t start, uint32_t end, bool one_off, bool host_mmu) {
  auto cpu = std::make_unique<CpuState>();
  std::memset(static_cast<void*>(cpu.get()), 0, sizeof(CpuState));
  DbtHooks hooks = stubHooks();
  DbtConfig cfg;
  cfg.time_phases = true;
  cfg.host_mmu = host_mmu;
  Dbt dbt(*cpu, mem, hooks, cfg);
  const uint32_t flags = flatKeyFlags();
  DbtRun r;
  uint64_t flushes0 = dbt.stats().cache_flushes;
  uint64_t t0 = nowNs();
  uint32_t eip = start;
  while (eip < end) {
    if (dbt.codeCacheFull()) dbt.flushAll();
    BlockKey key{eip, 0, eip, flags};
    Block* b = dbt.translate(key, 0xffffffffu, 0, !one_off);
    if (!b) die(fmt::format("Dbt::translate failed at 0x{:08x}", eip));
    ++r.blocks;
    eip += b->guest_bytes ? b->guest_bytes : 1;  // never stall on an empty block
  }
  r.wall_ns = nowNs() - t0;
  const DbtStats& s = dbt.stats();
  r.decode_ns = s.decode_ns;
  r.emit_ns = s.emit_ns;
  r.install_ns = s.install_ns;
  r.guest_insns = s.guest_insns;
  r.guest_bytes = s.guest_bytes;
  r.code_bytes = s.code_bytes;
  r.flushes = s.cache_flushes - flushes0;
  return r;
}

// What classification reads of a decoded instruction (the translator's classify(): SSE namesakes,
// the LOCK rule, the operand form), kept compact so that the classify pass runs without Capstone.
struct ClassifyInput {
  uint16_t id;
  uint8_t opcode0, prefix0, op_count;
  uint8_t op_type[2];
  uint16_t op_reg[2];
};

ClassifyInput compact(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  ClassifyInput c{};
  c.id = uint16_t(insn.id);
  c.opcode0 = x.opcode[0];
  c.prefix0 = x.prefix[0];
  c.op_count = x.op_count;
  for (unsigned i = 0; i < 2 && i < x.op_count; ++i) {
    c.op_type[i] = uint8_t(x.operands[i].type);
    c.op_reg[i] = x.operands[i].type == X86_OP_REG ? uint16_t(x.operands[i].reg) : 0;
  }
  return c;
}

// A copy of the translator's classify() (dbt/translator.cpp, private there): keep the two in step.
bool isLockable(unsigned id) {
  switch (id) {
    case X86_INS_ADD: case X86_INS_ADC: case X86_INS_AND: case X86_INS_BTC: case X86_INS_BTR:
    case X86_INS_BTS: case X86_INS_CMPXCHG: case X86_INS_CMPXCHG8B: case X86_INS_DEC:
    case X86_INS_INC: case X86_INS_NEG: case X86_INS_NOT: case X86_INS_OR: case X86_INS_SBB:
    case X86_INS_SUB: case X86_INS_XOR: case X86_INS_XADD: case X86_INS_XCHG:
      return true;
    default:
      return false;
  }
}

bool isSeg(unsigned r) {
  return r == X86_REG_ES || r == X86_REG_CS || r == X86_REG_SS || r == X86_REG_DS || r == X86_REG_FS ||
         r == X86_REG_GS;
}

Form formOf(const ClassifyInput& c) {
  if (c.id != X86_INS_MOV && c.id != X86_INS_PUSH && c.id != X86_INS_POP) return Form::Plain;
  for (unsigned i = 0; i < c.op_count && i < 2; ++i) {
    if (c.op_type[i] != X86_OP_REG) continue;
    unsigned r = c.op_reg[i];
    bool dst = i == 0;
    if (isSeg(r)) {
      if (c.id == X86_INS_PUSH) return Form::FromSeg;
      if (c.id == X86_INS_POP) return Form::ToSeg;
      return dst ? Form::ToSeg : Form::FromSeg;
    }
    if (r >= X86_REG_CR0 && r <= X86_REG_CR7) return dst ? Form::ToCr : Form::FromCr;
    if (r >= X86_REG_DR0 && r <= X86_REG_DR7) return dst ? Form::ToDr : Form::FromDr;
  }
  return Form::Plain;
}

const InsnRow kLockUd{0, Form::Plain, Emit::Undefined, HelperId::None, 0, ""};

inline const InsnRow* classify(const ClassifyInput& c) {
  if ((c.id == X86_INS_MOVSD || c.id == X86_INS_CMPSD) && c.opcode0 != 0xa5 && c.opcode0 != 0xa7) return nullptr;
  if (c.prefix0 == 0xf0 && (!isLockable(c.id) || c.op_count == 0 || c.op_type[0] != X86_OP_MEM)) return &kLockUd;
  return findInsn(c.id, formOf(c));
}

struct DecodeRun {
  uint64_t ns = 0, insns = 0, bytes = 0, bad_bytes = 0;
};

// Pass 2: Capstone alone, linear sweep, one byte skipped where nothing decodes. With `out`, also
// keeps what classification needs (that run is not the timed one).
[[gnu::noinline]] DecodeRun runDecodePass(csh h, cs_insn* insn, const uint8_t* bytes, size_t len, uint32_t addr,
                                          std::vector<ClassifyInput>* out) {
  DecodeRun r;
  const uint8_t* p = bytes;
  size_t n = len;
  uint64_t a = addr;
  uint64_t t0 = nowNs();
  while (n) {
    if (cs_disasm_iter(h, &p, &n, &a, insn)) {
      ++r.insns;
      if (out) out->push_back(compact(*insn));
    } else {
      ++r.bad_bytes;
      ++p, --n, ++a;
    }
  }
  r.ns = nowNs() - t0;
  r.bytes = len;
  return r;
}

struct ClassifyRun {
  uint64_t ns = 0, checksum = 0;
};

// Pass 3: classification alone over the records of pass 2.
[[gnu::noinline]] ClassifyRun runClassifyPass(const std::vector<ClassifyInput>& in) {
  ClassifyRun r;
  uint64_t t0 = nowNs();
  uintptr_t sum = 0;
  for (const ClassifyInput& c : in) sum += reinterpret_cast<uintptr_t>(classify(c));
  r.ns = nowNs() - t0;
  r.checksum = sum;  // keeps the loop from being optimized away
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double timerCostNs() {
  constexpr int kCalls = 200000;
  uint64_t sink = 0;
  uint64_t t0 = nowNs();
  for (int i = 0; i < kCalls; ++i) sink += nowNs();
  uint64_t t1 = nowNs();
  if (sink == 1) std::puts("");
  return double(t1 - t0) / kCalls;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parseArgs(argc, argv);
  Text text = readText(o);
  if (text.bytes.empty()) die(".text is empty");

  // Guest physical == guest linear == the ELF's own addresses (a 0 sh_addr, as in a .o, moves to 1 MiB).
  const uint32_t start = text.addr >= kPageSize ? text.addr : 0x100000u + (text.addr & kPageMask);
  const uint32_t end = start + uint32_t(text.bytes.size());
  const uint64_t ram = (uint64_t(end) + 2 * kPageSize + 0xfffff) & ~uint64_t(0xfffff);
  gRamSize = ram;
  PhysMemory mem(ram);
  for (size_t i = 0; i < text.bytes.size(); ++i) mem.write8(start + i, text.bytes[i]);
  // HLT (F4) after the end: a block that runs into the end stops within one instruction.
  for (uint64_t a = end; a < ram; ++a) mem.write8(a, 0xf4);

  csh h;
  if (cs_open(CS_ARCH_X86, CS_MODE_32, &h) != CS_ERR_OK) die("cs_open failed");
  cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
  cs_insn* insn = cs_malloc(h);

  const bool do_dbt = o.only != "split", do_split = o.only != "dbt";

  // Untimed: the instruction mix (rows, unimplemented mnemonics) and the classify records.
  std::vector<ClassifyInput> records;
  std::map<std::string, uint64_t> no_row;
  uint64_t n_no_row = 0, n_undefined = 0, n_helper = 0, n_sensitive = 0, n_privileged = 0;
  DecodeRun mix = runDecodePass(h, insn, text.bytes.data(), text.bytes.size(), start, &records);
  for (const ClassifyInput& c : records) {
    const InsnRow* row = classify(c);
    if (!row) {
      ++n_no_row;
      ++no_row[cs_insn_name(h, c.id) ? cs_insn_name(h, c.id) : "(unknown)"];
      continue;
    }
    if (row->emit == Emit::Undefined) ++n_undefined;
    if (row->emit == Emit::Helper) ++n_helper;
    if (row->cls & cls::kSensitive) ++n_sensitive;
    if (row->cls & cls::kPrivileged) ++n_privileged;
  }

  std::vector<DbtRun> dbt_runs;
  std::vector<DecodeRun> dec_runs;
  std::vector<ClassifyRun> cls_runs;
  fmt::print("# translate-bench: {} (.text 0x{:08x}, {} bytes{})\n\n", o.file, text.addr, text.bytes.size(),
             o.max_bytes ? ", cut by --max-bytes" : "");
  fmt::print("runs: {}, blocks: {}, cpl 0, all six segments flat, --mmu {}\n\n", o.repeat,
             o.one_off ? "one-off (cached=false)" : "cached", o.host_mmu ? "host" : "soft");
  fmt::print("| run | dbt wall ms | dbt decode+classify ms | emit ms | install ms | capstone-only ms | classify-only ms |\n");
  fmt::print("|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int i = 0; i < o.repeat; ++i) {
    DbtRun d;
    DecodeRun dr;
    ClassifyRun cr;
    if (do_dbt) dbt_runs.push_back(d = runDbtSweep(mem, start, end, o.one_off, o.host_mmu));
    if (do_split) {
      dec_runs.push_back(dr = runDecodePass(h, insn, text.bytes.data(), text.bytes.size(), start, nullptr));
      cls_runs.push_back(cr = runClassifyPass(records));
    }
    fmt::print("| {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.2f} |\n", i + 1, d.wall_ns / 1e6,
               d.decode_ns / 1e6, d.emit_ns / 1e6, d.install_ns / 1e6, dr.ns / 1e6, cr.ns / 1e6);
  }

  // Median and minimum of a per-run figure. Medians are the figures to quote; the minimum shows
  // how far load from other jobs pushed the median up.
  struct Stat {
    double med, min;
  };
  auto stat = [](const auto& runs, auto field) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(double(field(r)));
    if (v.empty()) return Stat{0, 0};
    return Stat{median(v), *std::min_element(v.begin(), v.end())};
  };

  const double timer_ns = timerCostNs();
  fmt::print("\n## Medians over {} runs (min in brackets)\n\n", o.repeat);
  // Denominator: the distinct guest instructions of the linear sweep (an undecodable byte is one
  // #UD instruction, as the Dbt translates it). DbtStats.guest_insns can be a little higher: it
  // also counts instructions decoded after a row that closes the block early (UD2), which the next
  // block decodes again.
  const double n = double(mix.insns + mix.bad_bytes);
  fmt::print("guest code: {} instructions ({} decoded + {} undecodable bytes) in {} bytes\n\n",
             mix.insns + mix.bad_bytes, mix.insns, mix.bad_bytes, text.bytes.size());
  if (do_dbt) {
    const DbtRun& d0 = dbt_runs.front();  // counts are the same in every run
    Stat wall = stat(dbt_runs, [](const DbtRun& r) { return r.wall_ns; });
    Stat dec = stat(dbt_runs, [](const DbtRun& r) { return r.decode_ns; });
    Stat emit = stat(dbt_runs, [](const DbtRun& r) { return r.emit_ns; });
    Stat inst = stat(dbt_runs, [](const DbtRun& r) { return r.install_ns; });
    Stat other = stat(dbt_runs, [](const DbtRun& r) {
      return double(r.wall_ns) - double(r.decode_ns + r.emit_ns + r.install_ns);
    });
    fmt::print("Dbt::translate sweep: {} blocks ({:.2f} guest insns/block), {} code-cache flushes; "
               "DbtStats: guest_insns {}, guest_bytes {}, code_bytes {}\n\n",
               d0.blocks, n / double(d0.blocks), d0.flushes, d0.guest_insns, d0.guest_bytes, d0.code_bytes);
    fmt::print("| phase | ns / guest insn | (min) | share of wall |\n|---|---:|---:|---:|\n");
    auto row = [&](const char* name, Stat x) {
      fmt::print("| {} | {:.1f} | ({:.1f}) | {:.0f}% |\n", name, x.med / n, x.min / n, 100 * x.med / wall.med);
    };
    row("decode + classify (DbtStats.decode_ns)", dec);
    row("emit (DbtStats.emit_ns)", emit);
    row("install (DbtStats.install_ns)", inst);
    row("other: block registration, asmjit teardown, timers, flushes", other);
    fmt::print("| **total (wall clock)** | **{:.1f}** | ({:.1f}) | 100% |\n\n", wall.med / n, wall.min / n);
    fmt::print("host code: **{:.2f} host bytes per guest byte**, {:.1f} per guest instruction, {:.0f} per block\n",
               double(d0.code_bytes) / double(d0.guest_bytes), double(d0.code_bytes) / n,
               double(d0.code_bytes) / double(d0.blocks));
    fmt::print("(DbtStats reads the clock 4 times per block; one read costs {:.1f} ns here, "
               "{:.1f} ns per guest instruction)\n\n", timer_ns, 4 * timer_ns * double(d0.blocks) / n);
  }
  if (do_split) {
    Stat dec = stat(dec_runs, [](const DecodeRun& r) { return r.ns; });
    Stat cl = stat(cls_runs, [](const ClassifyRun& r) { return r.ns; });
    double d = double(mix.insns);
    fmt::print("Split passes (per decoded instruction):\n\n| phase | ns / guest insn | (min) |\n|---|---:|---:|\n");
    fmt::print("| decode (Capstone alone, detail on, cs_disasm_iter) | {:.1f} | ({:.1f}) |\n", dec.med / d,
               dec.min / d);
    fmt::print("| classify (findInsn + the translator's form/LOCK rules) | {:.2f} | ({:.2f}) |\n\n", cl.med / d,
               cl.min / d);
  }

  fmt::print("## Instruction mix (linear sweep of {} instructions)\n\n", mix.insns);
  fmt::print("- no row in the table (translated as #UD): {} ({:.2f}%), {} distinct mnemonics\n", n_no_row,
             100.0 * double(n_no_row) / double(mix.insns), no_row.size());
  fmt::print("- rows that are #UD by design (LOCK misuse, UD2, invalid encodings): {}\n", n_undefined);
  fmt::print("- emitted as VMM helper calls: {}; sensitive: {}; privileged: {}\n\n", n_helper, n_sensitive,
             n_privileged);
  std::vector<std::pair<std::string, uint64_t>> top(no_row.begin(), no_row.end());
  std::stable_sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  fmt::print("Top {} mnemonics without a row:\n\n| # | mnemonic | count | % of insns |\n|---:|---|---:|---:|\n",
             std::min<size_t>(size_t(o.top), top.size()));
  for (size_t i = 0; i < top.size() && i < size_t(o.top); ++i)
    fmt::print("| {} | {} | {} | {:.2f}% |\n", i + 1, top[i].first, top[i].second,
               100.0 * double(top[i].second) / double(mix.insns));

  cs_free(insn, 1);
  cs_close(&h);
  return 0;
}
