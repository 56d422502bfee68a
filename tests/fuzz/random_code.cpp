// btvm-randomcode: a seeded robustness campaign. Each case is a fresh machine running random code
// (tests/fuzz/fuzz_case.h): mode "bytes" runs a page of random bytes, mode "insns" a page of random
// decodable instructions (insn_gen.h). A case passes when the run ends with any RunResult (halted in
// an exception stub, instruction limit, triple fault, debug exit, unsupported) whose status and
// counts are consistent; it fails on an exception out of btvm, a crash, or a hang (watchdog).
//
//   btvm-randomcode [--seed S] [--count N] [--first I] [--mode bytes|insns|mixed] [--max-insns N]
//                   [--timeout SECONDS] [--case I] [--no-fork] [--known FILE [--only-known]] [-v]
//
// --known FILE skips the cases it lists (known btvm bugs, see known_failures.txt); with --only-known
// only those run, to check fixes: when one passes, delete its line.
// Cases run in forked children (--no-fork: in this process), so a crash or hang fails one case and
// the campaign goes on. Case I of seed S is the same on every run: replay one in-process with
// `--seed S --case I --mode M` (prints the case, its code and the outcome; use it under gdb).
#include <capstone/capstone.h>
#include <fmt/core.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "emu/machine.h"
#include "tests/fuzz/fuzz_case.h"
#include "tests/fuzz/insn_gen.h"

extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace {

using namespace fuzz;

struct Options {
  uint64_t seed = 1, count = 1000, first = 0, max_insns = 10000;
  int mode = 2;  // 0 bytes, 1 insns, 2 mixed
  unsigned timeout_s = 60;
  bool one = false, verbose = false, fork = true, only_known = false;
  std::string known_file;
};

// A case: the same (seed, index, mode) always builds the same machine and code.
struct CaseId {
  uint64_t seed, index;
  CodeMode mode;
  bool operator<(const CaseId& o) const {
    return std::tie(seed, index, mode) < std::tie(o.seed, o.index, o.mode);
  }
};

// What a crash or hang handler prints (async-signal-safe: a preformatted buffer).
char g_current[256] = "no case running\n";
struct sigaction g_old[65];

void writeErr(const char* s) {
  size_t n = std::strlen(s);
  while (n) {
    ssize_t w = write(2, s, n);
    if (w <= 0) return;
    s += w, n -= size_t(w);
  }
}

void onFatal(int sig) {
  writeErr(sig == SIGALRM ? "\nbtvm-randomcode: HANG (watchdog expired) in " : "\nbtvm-randomcode: CRASH (fatal signal) in ");
  writeErr(g_current);
  if (sig == SIGALRM) abort();
  sigaction(sig, &g_old[sig], nullptr);  // return: the fault repeats under the previous handler (ASan's, or default)
}

void onSanitizerDeath() {
  writeErr("\nbtvm-randomcode: sanitizer report in ");
  writeErr(g_current);
}

void installHandlers() {
  struct sigaction sa {};
  sa.sa_handler = onFatal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NODEFER;
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGALRM, SIGTRAP}) sigaction(sig, &sa, &g_old[sig]);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(onSanitizerDeath);
}

const char* modeName(CodeMode m) { return m == CodeMode::Bytes ? "bytes" : "insns"; }

uint64_t caseSeed(uint64_t seed, uint64_t index) {
  Rng r(seed * 0x9e3779b97f4a7c15ull + index);
  return r.next() ^ index;
}

// Groups messages that differ only in numbers.
std::string messageShape(const std::string& m) {
  std::string out;
  for (size_t i = 0; i < m.size() && m[i] != '\n'; ++i) {
    char ch = m[i];
    if (std::isxdigit(static_cast<unsigned char>(ch)) && (std::isdigit(static_cast<unsigned char>(ch)) ||
                                                          (i && std::isdigit(static_cast<unsigned char>(m[i - 1]))))) {
      while (i + 1 < m.size() && (std::isxdigit(static_cast<unsigned char>(m[i + 1])) || m[i + 1] == 'x')) ++i;
      out += 'N';
    } else {
      out += ch;
    }
  }
  return out;
}

void disassemble(const std::vector<uint8_t>& code, uint32_t at, int max) {
  csh h;
  if (cs_open(CS_ARCH_X86, CS_MODE_32, &h) != CS_ERR_OK) return;
  const uint8_t* p = code.data();
  size_t n = code.size();
  uint64_t addr = at;
  cs_insn* insn = cs_malloc(h);
  for (int i = 0; i < max && n; ++i) {
    if (cs_disasm_iter(h, &p, &n, &addr, insn)) {
      std::string hex;
      for (int b = 0; b < insn->size; ++b) hex += fmt::format("{:02x}", insn->bytes[b]);
      fmt::print("  {:08x}  {:<24} {} {}\n", insn->address, hex, insn->mnemonic, insn->op_str);
    } else {
      fmt::print("  {:08x}  {:02x}                       (bad)\n", addr, *p);
      ++p, --n, ++addr;
    }
  }
  cs_free(insn, 1);
  cs_close(&h);
}

// One case's outcome, as the summary counts it (also sent from a forked child, one line per case).
struct CaseOutcome {
  uint64_t index = 0;
  bool failed = false;
  std::string kind = "-";
  int vector = -1;
  bool halted_elsewhere = false;
  uint64_t insns = 0;
  std::string text;  // the failure, or the shape of an Unsupported message
};

struct Summary {
  uint64_t cases = 0, failures = 0, insns = 0, halted_elsewhere = 0, skipped_known = 0;
  std::map<std::string, uint64_t> kinds;
  std::map<int, uint64_t> vectors;
  std::map<std::string, uint64_t> unsupported;
  std::vector<std::string> failed;  // replay commands

  void add(const CaseOutcome& c, const std::string& replay) {
    ++cases;
    if (c.failed) {
      ++failures;
      failed.push_back(replay + "   # " + c.text);
      return;
    }
    kinds[c.kind]++;
    insns += c.insns;
    if (c.vector >= 0) vectors[c.vector]++;
    if (c.halted_elsewhere) ++halted_elsewhere;
    if (c.kind == "Unsupported") unsupported[c.text]++;
  }
};

CodeMode caseMode(const Options& o, uint64_t index) {
  return o.mode == 0 ? CodeMode::Bytes : o.mode == 1 ? CodeMode::Insns : (index & 1 ? CodeMode::Insns : CodeMode::Bytes);
}

std::string replayCommand(const Options& o, const CaseId& id) {
  return fmt::format("btvm-randomcode --seed {} --case {} --mode {} --max-insns {}", id.seed, id.index,
                     modeName(id.mode), o.max_insns);
}

[[noreturn]] void usage(const char* why);

// Known failures: "SEED INDEX MODE  # why" per line (see known_failures.txt).
std::set<CaseId> readKnown(const std::string& path) {
  std::set<CaseId> known;
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) usage(fmt::format("cannot read {}: {}", path, std::strerror(errno)).c_str());
  char line[512];
  int lineno = 0;
  while (std::fgets(line, sizeof line, f)) {
    ++lineno;
    unsigned long long seed, index;
    char mode[16];
    if (char* hash = std::strchr(line, '#')) *hash = '\0';
    int n = std::sscanf(line, "%llu %llu %15s", &seed, &index, mode);
    if (n <= 0) continue;
    std::string_view m = mode;
    if (n != 3 || (m != "bytes" && m != "insns"))
      usage(fmt::format("{}:{}: want 'SEED INDEX bytes|insns'", path, lineno).c_str());
    known.insert(CaseId{seed, index, m == "bytes" ? CodeMode::Bytes : CodeMode::Insns});
  }
  std::fclose(f);
  return known;
}

CaseOutcome runCase(const Options& o, const CaseId& id, InsnGen& gen) {
  CodeMode mode = id.mode;
  uint64_t index = id.index;
  std::string replay = replayCommand(o, id);
  std::snprintf(g_current, sizeof g_current, "seed %llu case %llu: replay with `%s`\n", (unsigned long long)id.seed,
                (unsigned long long)index, replay.c_str());

  Rng rng(caseSeed(id.seed, index));
  CaseSpec spec = makeSpec(id.seed, index, mode, rng);
  std::vector<uint8_t> code;
  if (mode == CodeMode::Bytes) {
    code.resize(kCodeBytes);
    for (uint8_t& b : code) b = rng.u8();
  } else {
    code = gen.fill(rng, spec.ram_bytes, kCodeBytes);
  }

  CaseOutcome out;
  out.index = index;
  std::string failure;
  btvm::RunResult r{btvm::ExitKind::Halted, 0, ""};
  std::unique_ptr<btvm::Machine> m;
  try {
    btvm::MachineConfig cfg;
    cfg.ram_bytes = spec.ram_bytes;
    cfg.max_insns = o.max_insns;
    cfg.code_cache_bytes = 2u << 20;
    m = std::make_unique<btvm::Machine>(cfg);
    uint32_t start = buildCase(*m, spec, code.data(), code.size(), rng);
    if (o.one) {
      fmt::print("case {} of seed {}: {}\ncode at {:08x} (after a {}-byte prologue):\n", index, id.seed, describe(spec),
                 start, start - kCode);
      disassemble(code, start, 40);
      std::fflush(stdout);
    }
    alarm(o.timeout_s);
    r = m->run();
    alarm(0);
    failure = checkResult(*m, r, o.max_insns);
  } catch (const std::exception& e) {
    alarm(0);
    failure = fmt::format("exception out of btvm: {}", e.what());
  } catch (...) {
    alarm(0);
    failure = "unknown exception out of btvm";
  }

  if (!failure.empty()) {
    fmt::print("FAIL seed {} case {} ({}): {}\n  {}\n  replay: {}\n", id.seed, index, modeName(mode), failure,
               describe(spec), replay);
    out.failed = true;
    out.text = failure;
    return out;
  }
  out.kind = kindName(r.kind);
  out.vector = haltedVector(*m, r);
  out.halted_elsewhere = out.vector < 0 && r.kind == btvm::ExitKind::Halted;
  out.insns = m->instructionsExecuted();
  if (r.kind == btvm::ExitKind::Unsupported) out.text = messageShape(r.message);
  if (o.verbose || o.one) {
    const btvm::CpuState& c = m->cpu();
    fmt::print("case {} ({}): {}{} after {} instructions, eip={:08x} cpl={} | {}\n", index, modeName(mode), out.kind,
               out.vector >= 0 ? fmt::format(" in stub {}", out.vector) : "", out.insns, c.eip, c.cpl,
               r.message.substr(0, r.message.find('\n')));
  }
  return out;
}

// Runs the cases in forked children so that a crash or a hang costs one case, not the campaign:
// a child reports "S position" before a case and "R position ..." after it; when it dies, the case
// it started last is recorded as failed and a new child carries on after it.
void runForked(const Options& o, const std::vector<CaseId>& ids, InsnGen& gen, Summary& sum) {
  size_t next = 0, end = ids.size();
  while (next < end) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      close(fds[0]);
      struct rlimit no_core {0, 0};
      setrlimit(RLIMIT_CORE, &no_core);  // a crash is reported by its replay command, not a core file
      std::FILE* w = fdopen(fds[1], "w");
      for (size_t i = next; i < end; ++i) {
        std::fprintf(w, "S %zu\n", i);
        std::fflush(w);
        CaseOutcome c = runCase(o, ids[i], gen);
        std::fprintf(w, "R %zu %d %s %d %d %llu %s\n", i, c.failed ? 1 : 0, c.kind.c_str(), c.vector,
                     c.halted_elsewhere ? 1 : 0, (unsigned long long)c.insns, c.text.c_str());
        std::fflush(w);
      }
      std::fflush(stdout);
      _exit(0);
    }
    close(fds[1]);
    std::FILE* rd = fdopen(fds[0], "r");
    char* line = nullptr;
    size_t cap = 0;
    int64_t started = -1;
    while (getline(&line, &cap, rd) > 0) {
      std::string_view l(line);
      if (!l.empty() && l.back() == '\n') l.remove_suffix(1);
      if (l.size() > 2 && l[0] == 'S') {
        started = int64_t(std::strtoull(line + 2, nullptr, 10));
      } else if (l.size() > 2 && l[0] == 'R') {
        CaseOutcome c;
        char kind[32] = "";
        unsigned long long insns = 0;
        size_t pos = 0;
        int failed = 0, elsewhere = 0, consumed = 0;
        std::sscanf(line, "R %zu %d %31s %d %d %llu %n", &pos, &failed, kind, &c.vector, &elsewhere, &insns, &consumed);
        if (pos >= end) continue;
        c.index = ids[pos].index, c.failed = failed, c.kind = kind, c.halted_elsewhere = elsewhere, c.insns = insns;
        c.text = std::string(l.substr(size_t(consumed) <= l.size() ? size_t(consumed) : l.size()));
        sum.add(c, replayCommand(o, ids[pos]));
        started = -1;
        next = pos + 1;
      }
    }
    std::free(line);
    std::fclose(rd);
    int status = 0;
    waitpid(pid, &status, 0);
    if (started >= 0 && size_t(started) < end) {
      const CaseId& id = ids[size_t(started)];
      std::string why = WIFSIGNALED(status) ? fmt::format("died of signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)))
                                            : fmt::format("exited with status {} mid-case", WEXITSTATUS(status));
      fmt::print("FAIL seed {} case {} ({}): the process {} (crash, sanitizer report or watchdog: see stderr above)\n"
                 "  replay: {}\n", id.seed, id.index, modeName(id.mode), why, replayCommand(o, id));
      CaseOutcome c;
      c.index = id.index;
      c.failed = true;
      c.text = why;
      sum.add(c, replayCommand(o, id));
      next = size_t(started) + 1;
    } else if (next < end) {
      fmt::print("btvm-randomcode: a child stopped between cases (status {:#x}); going on\n", status);
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) ++next;  // never loop forever on one case
    }
  }
}

void printSummary(const Options& o, const Summary& s, double secs) {
  if (o.only_known)
    fmt::print("btvm-randomcode: {} known-failure cases from {}, {:.1f} s, {} guest instructions\n", s.cases,
               o.known_file, secs, s.insns);
  else
    fmt::print("btvm-randomcode: seed {}, cases {}..{} (mode {}): {} run, {} skipped as known failures; {:.1f} s, "
               "{} guest instructions\n", o.seed, o.first, o.first + o.count - 1,
               o.mode == 0 ? "bytes" : o.mode == 1 ? "insns" : "mixed", s.cases, s.skipped_known, secs, s.insns);
  fmt::print("outcomes:");
  for (auto& [k, n] : s.kinds) fmt::print(" {} {}", k, n);
  fmt::print(" (halted outside a stub: {})\n", s.halted_elsewhere);
  fmt::print("vectors seen (halted in stub):");
  for (auto& [v, n] : s.vectors) fmt::print(" #{}:{}", v, n);
  fmt::print("\n");
  for (auto& [msg, n] : s.unsupported) fmt::print("unsupported x{}: {}\n", n, msg);
  if (!s.failed.empty()) {
    fmt::print("failed cases ({}):\n", s.failed.size());
    for (size_t i = 0; i < s.failed.size() && i < 50; ++i) fmt::print("  {}\n", s.failed[i]);
  }
  fmt::print("{} passed, {} failed\n", s.cases - s.failures, s.failures);
}

[[noreturn]] void usage(const char* why) {
  fmt::print(stderr, "btvm-randomcode: {}\nusage: btvm-randomcode [--seed S] [--count N] [--first I] "
                     "[--mode bytes|insns|mixed] [--max-insns N] [--timeout SECONDS] [--case I] [--no-fork] [--known FILE [--only-known]] [-v]\n", why);
  std::exit(2);
}

uint64_t number(const char* s) {
  char* end;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 0);
  if (!*s || *end || errno) usage(fmt::format("bad number '{}'", s).c_str());
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) usage(fmt::format("option {} needs a value", a).c_str());
      return argv[++i];
    };
    if (a == "--seed") o.seed = number(val());
    else if (a == "--count") o.count = number(val());
    else if (a == "--first") o.first = number(val());
    else if (a == "--max-insns") o.max_insns = number(val());
    else if (a == "--timeout") o.timeout_s = unsigned(number(val()));
    else if (a == "--case") o.first = number(val()), o.count = 1, o.one = true;
    else if (a == "-v") o.verbose = true;
    else if (a == "--no-fork") o.fork = false;
    else if (a == "--known") o.known_file = val();
    else if (a == "--only-known") o.only_known = true;
    else if (a == "--mode") {
      std::string_view m = val();
      o.mode = m == "bytes" ? 0 : m == "insns" ? 1 : m == "mixed" ? 2 : -1;
      if (o.mode < 0) usage("--mode must be bytes, insns or mixed");
    } else usage(fmt::format("unknown option '{}'", a).c_str());
  }
  installHandlers();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::set<CaseId> known;
  if (!o.known_file.empty()) known = readKnown(o.known_file);
  if (o.only_known && o.known_file.empty()) usage("--only-known needs --known FILE");
  std::vector<CaseId> ids;
  Summary sum;
  if (o.only_known) {
    ids.assign(known.begin(), known.end());
  } else {
    ids.reserve(o.count);
    for (uint64_t i = o.first; i < o.first + o.count; ++i) {
      CaseId id{o.seed, i, caseMode(o, i)};
      if (!o.one && known.count(id)) ++sum.skipped_known;
      else ids.push_back(id);
    }
  }
  InsnGen gen;
  auto t0 = std::chrono::steady_clock::now();
  if (o.fork && !o.one) {
    runForked(o, ids, gen, sum);
  } else {
    for (const CaseId& id : ids) sum.add(runCase(o, id, gen), replayCommand(o, id));
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::snprintf(g_current, sizeof g_current, "no case running (after the campaign)\n");
  printSummary(o, sum, secs);
  return sum.failures ? 1 : 0;
}
