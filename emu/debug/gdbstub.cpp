#include "emu/debug/gdbstub.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "emu/debug/debug_memory.h"
#include "emu/debug/gdb_connection.h"
#include "emu/debug/gdb_regs.h"

namespace btvm {

using gdb::fromHex;
using gdb::parseHexNumber;
using gdb::toHex;

namespace {

constexpr int kSigInt = 2, kSigTrap = 5;
// Largest packet gdb may send (and so the most memory one 'm' reads): hex doubles the bytes.
constexpr size_t kPacketSize = 0x4000;
constexpr uint64_t kPollIntervalNs = 5000000;  // Ctrl-C latency bound, in host time

// "ADDR,LEN" (then ':' or the end): the numbers of m, M, X and Z packets.
bool parseAddrLen(const std::string& s, uint64_t& addr, uint64_t& len, size_t* rest = nullptr) {
  size_t comma = s.find(',');
  if (comma == std::string::npos) return false;
  size_t end = s.find_first_of(":;", comma + 1);
  auto a = parseHexNumber(std::string_view(s).substr(0, comma));
  auto l = parseHexNumber(std::string_view(s).substr(comma + 1, end == std::string::npos ? end : end - comma - 1));
  if (!a || !l) return false;
  addr = *a;
  len = *l;
  if (rest) *rest = end;
  return true;
}

}  // namespace

GdbStub::GdbStub(Machine::Impl& vm, const std::string& spec, bool wait)
    : vm_(vm), conn_(std::make_unique<gdb::Connection>(spec)), wait_first_(wait) {
  // A test (or a person) that asked for any free port learns which one here.
  if (wait) fmt::print(stderr, "btvm: waiting for gdb on port {}\n", conn_->port());
}

GdbStub::~GdbStub() = default;

uint16_t GdbStub::port() const { return conn_->port(); }

uint32_t GdbStub::linearEip() const { return vm_.cpu.seg[CS].base + vm_.cpu.eip; }

// Not while snapshots are taken: a re-run from one (reverse execution) takes interrupts where
// they fall, so the first run must too.
bool GdbStub::holdsInterrupts() const { return stepping_ && !vm_.cpu.halted && !vm_.history; }

bool GdbStub::breakpointIn(uint32_t linear, uint32_t len) const {
  auto it = breaks_.lower_bound(linear);
  return it != breaks_.end() && *it - linear < len;
}

bool GdbStub::watchesPage(uint32_t linear) const {
  for (const Watch& w : watches_)
    if (w.range.onPage(linear)) return true;
  return false;
}

bool GdbStub::accessHits(uint32_t linear, unsigned size, bool write, bool record) {
  for (const Watch& w : watches_) {
    if (!w.range.hits(linear, size, write)) continue;
    if (record) hits_.push_back(Hit{std::max(linear, w.range.addr), w.type});
    return true;
  }
  return false;
}

bool GdbStub::pollDue() {
  if (++visits_ & 15) return false;
  uint64_t t = hostMonotonicNs();
  if (t - last_poll_ns_ < kPollIntervalNs) return false;
  last_poll_ns_ = t;
  return conn_->readable();
}

std::string GdbStub::stopReply(int signal, const std::string& extra) const {
  return fmt::format("T{:02x}{}thread:01;", signal, extra);
}

bool GdbStub::atBoundary(bool before_block) {
  restored_ = false;
  if (reverse_ != Reverse::None) {  // a re-run of a reverse command: nothing is reported on the way
    if (before_block) {
      if (reverse_ == Reverse::Scan && breaks_.count(linearEip()) && vm_.executed < scan_before_) {
        scan_hit_ = true;
        scan_watch_ = false;
        scan_hit_at_ = vm_.executed;
      }
      return false;
    }
    std::string reply;
    if (reverseAtTop(reply)) stop(reply);
    if (killed_) stopRun(vm_, ExitKind::Quit, exit_status::kOk, "killed by gdb");
    if (reverse_ != Reverse::None || restored_) return restored_;
  }
  bool skip_here = skip_valid_ && skip_ == linearEip();
  if (before_block) skip_valid_ = false;
  if (!conn_->connected()) {
    if (wait_first_ || pollDue()) {
      if (conn_->accept(wait_first_)) {
        wait_first_ = false;
        stop(stopReply(kSigTrap), false);  // gdb asks with '?' when it is ready
      }
    }
  } else if (step_ran_) {
    stop(stopReply(kSigTrap));
  } else if (!hits_.empty()) {
    Hit h = hits_.front();
    hits_.clear();
    const char* name = h.type == 2 ? "watch" : h.type == 3 ? "rwatch" : "awatch";
    stop(stopReply(kSigTrap, fmt::format("{}:{:08x};", name, h.addr)));
  } else if (before_block && !skip_here && breaks_.count(linearEip())) {
    stop(stopReply(kSigTrap, swbreak_ ? "swbreak:;" : ""));
    // Resuming here runs the instruction first, as EFLAGS.RF does for a hardware breakpoint
    // (gdb itself steps over its breakpoints; a plain 'c' from another client needs this).
    if (conn_->connected() && !stepping_ && !restored_) {
      skip_valid_ = true;
      skip_ = linearEip();
    }
  } else if (pollDue()) {
    while (auto e = conn_->poll()) {
      if (e->kind == gdb::Event::Interrupt) {
        stop(stopReply(kSigInt));
        break;
      }
    }
    if (!conn_->connected()) detach();
  }
  // Ends the run from here, where no frame below holds anything the longjmp would skip.
  if (killed_) stopRun(vm_, ExitKind::Quit, exit_status::kOk, "killed by gdb");
  // The block about to run is the step's one instruction.
  if (before_block && stepping_ && !vm_.cpu.halted && !restored_) step_ran_ = true;
  return restored_;
}

void GdbStub::stop(const std::string& reply, bool announce) {
  stepping_ = step_ran_ = false;
  hits_.clear();
  vm_.console.flush();
  last_stop_ = reply;
  if (announce) conn_->send(reply);
  for (;;) {
    std::optional<gdb::Event> e = conn_->next();
    if (!e) {  // gdb went away: as after a detach, the guest runs on
      detach();
      return;
    }
    if (e->kind != gdb::Event::Packet) continue;
    if (e->payload == "QStartNoAckMode") {  // acknowledged in the old mode, then no more acks
      conn_->send("OK");
      conn_->stopAcks();
      continue;
    }
    std::string out;
    bool resumed = handle(e->payload, out);
    if (!resumed || !out.empty()) conn_->send(out);
    if (resumed) break;
  }
  // Blocks built while stopped may have been chained to a breakpoint removed since; the
  // breakpoints now set are the ones whose blocks stay unchained.
  for (auto it = clean_.begin(); it != clean_.end();)
    it = breaks_.count(*it) ? std::next(it) : clean_.erase(it);
}

bool GdbStub::handle(const std::string& p, std::string& reply) {
  if (p.empty()) return false;
  std::string args = p.substr(1);
  switch (p[0]) {
    case '?': reply = last_stop_; return false;
    case 'g': reply = readRegisters(); return false;
    case 'G': reply = writeRegisters(args) ? "OK" : "E22"; return false;
    case 'p': {
      auto n = parseHexNumber(args);
      unsigned size = n ? gdb::regSize(int(*n)) : 0;
      if (!size) { reply = "E45"; return false; }
      uint8_t buf[10];
      gdb::readReg(vm_.cpu, int(*n), buf);
      reply = toHex(buf, size);
      return false;
    }
    case 'P': {
      size_t eq = args.find('=');
      auto n = parseHexNumber(args.substr(0, eq == std::string::npos ? 0 : eq));
      unsigned size = n ? gdb::regSize(int(*n)) : 0;
      auto bytes = size ? fromHex(args.substr(eq + 1)) : std::nullopt;
      reply = bytes && bytes->size() == size && gdb::writeReg(vm_.cpu, int(*n), bytes->data()) ? "OK" : "E22";
      return false;
    }
    case 'm': reply = readMemory(args); return false;
    case 'M': reply = writeMemory(args, false); return false;
    case 'X': reply = writeMemory(args, true); return false;
    case 'Z': case 'z': reply = breakpoint(args, p[0] == 'Z'); return false;
    case 'c': case 's': return resume(p[0] == 's', args);
    case 'b':  // bs, bc: reverse step and continue (gdb_reverse.cpp)
      if (args == "s" || args == "c") return reverseStart(args == "s", reply);
      reply.clear();
      return false;
    case 'C': case 'S': {  // the signal is ignored: a guest has no signals to deliver
      size_t semi = args.find(';');
      return resume(p[0] == 'S', semi == std::string::npos ? "" : args.substr(semi + 1));
    }
    case 'D':
      conn_->send("OK");
      detach();
      return true;
    case 'k':  // gdb expects no reply
      conn_->close();
      killed_ = true;
      return true;
    case 'H': case 'T': reply = "OK"; return false;
    case 'q': case 'Q': reply = query(p); return false;
    case 'v': {
      bool resumed = false;
      reply = vCont(p, resumed);
      return resumed;
    }
    default: reply.clear(); return false;  // unsupported: the empty reply
  }
}

bool GdbStub::resume(bool step, const std::string& addr) {
  if (!addr.empty()) {
    if (auto a = parseHexNumber(addr)) vm_.cpu.eip = uint32_t(*a);
  }
  stepping_ = step;
  return true;
}

std::string GdbStub::vCont(const std::string& p, bool& resumed) {
  if (p == "vCont?") return "vCont;c;C;s;S";
  if (p == "vMustReplyEmpty") return "";
  if (p == "vKill" || p.rfind("vKill;", 0) == 0) {
    conn_->send("OK");
    conn_->close();
    killed_ = true;
    resumed = true;
    return "";
  }
  if (p.rfind("vCont;", 0) != 0) return "";
  // One CPU: the first action that names it (or no thread) decides.
  std::string_view rest = std::string_view(p).substr(6);
  while (!rest.empty()) {
    size_t semi = rest.find(';');
    std::string_view action = rest.substr(0, semi);
    size_t colon = action.find(':');
    std::string_view thread = colon == std::string_view::npos ? "" : action.substr(colon + 1);
    if (thread.empty() || thread == "-1" || thread == "1" || thread == "01") {
      char a = action[0];
      if (a == 'c' || a == 'C' || a == 's' || a == 'S') {
        resumed = resume(a == 's' || a == 'S', "");
        return "";
      }
    }
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  return "E22";
}

std::string GdbStub::query(const std::string& p) {
  if (p.rfind("qSupported", 0) == 0) {
    swbreak_ = p.find("swbreak+") != std::string::npos;
    return fmt::format("PacketSize={:x};qXfer:features:read+;QStartNoAckMode+;vContSupported+;ReverseStep+;"
                       "ReverseContinue+{}", kPacketSize,
                       swbreak_ ? ";swbreak+;hwbreak+" : "");
  }
  if (p.rfind("qXfer:features:read:target.xml:", 0) == 0) {
    uint64_t off, len;
    if (!parseAddrLen(p.substr(std::strlen("qXfer:features:read:target.xml:")), off, len)) return "E22";
    const std::string& xml = gdb::targetXml();
    if (off >= xml.size()) return "l";
    std::string chunk = xml.substr(off, std::min<uint64_t>(len, kPacketSize / 2));
    return (off + chunk.size() >= xml.size() ? "l" : "m") + chunk;
  }
  if (p.rfind("qXfer:features:read:", 0) == 0) return "E00";  // no other annex
  if (p == "qAttached") return "1";  // gdb attached to a running machine: quitting detaches
  if (p == "qC") return "QC01";
  if (p == "qfThreadInfo") return "m01";
  if (p == "qsThreadInfo") return "l";
  if (p.rfind("qSymbol", 0) == 0) return "OK";
  return {};
}

std::string GdbStub::readRegisters() const {
  std::string s;
  uint8_t buf[10];
  for (int n = 0; n < gdb::kNumRegs; ++n) {
    gdb::readReg(vm_.cpu, n, buf);
    s += toHex(buf, gdb::regSize(n));
  }
  return s;
}

bool GdbStub::writeRegisters(const std::string& hex) {
  auto bytes = fromHex(hex);
  if (!bytes) return false;
  // Check every register first, so a refused one leaves the others unwritten.
  CpuState copy = vm_.cpu;
  size_t off = 0;
  for (int n = 0; n < gdb::kNumRegs && off < bytes->size(); ++n) {
    unsigned size = gdb::regSize(n);
    if (off + size > bytes->size()) return false;
    if (!gdb::writeReg(copy, n, bytes->data() + off)) return false;
    off += size;
  }
  for (size_t n = 0, o = 0; o < off; o += gdb::regSize(int(n)), ++n) gdb::writeReg(vm_.cpu, int(n), bytes->data() + o);
  return true;
}

std::string GdbStub::readMemory(const std::string& args) {
  uint64_t addr, len;
  if (!parseAddrLen(args, addr, len) || addr > 0xffffffffu) return "E22";
  len = std::min<uint64_t>(len, kPacketSize / 2 - 8);
  std::vector<uint8_t> buf(len);
  uint32_t n = debugRead(vm_, uint32_t(addr), buf.data(), uint32_t(len));
  if (n == 0 && len > 0) return "E14";  // EFAULT, as QEMU answers for an unmapped page
  return toHex(buf.data(), n);
}

std::string GdbStub::writeMemory(const std::string& args, bool binary) {
  uint64_t addr, len;
  size_t colon;
  if (!parseAddrLen(args, addr, len, &colon) || colon == std::string::npos || addr > 0xffffffffu) return "E22";
  std::vector<uint8_t> data;
  if (binary) {
    data.assign(args.begin() + long(colon) + 1, args.end());  // escapes already undone
  } else {
    auto h = fromHex(std::string_view(args).substr(colon + 1));
    if (!h) return "E22";
    data = std::move(*h);
  }
  if (data.size() != len) return "E22";
  if (len == 0) return "OK";  // gdb probes for X with an empty write
  return debugWrite(vm_, uint32_t(addr), data.data(), uint32_t(len)) == len ? "OK" : "E14";
}

void GdbStub::dropCodeAt(uint32_t linear) {
  // Blocks holding this address may be chained into: forget them so that the next entry goes
  // through the dispatcher. Unmapped now: it may be mapped later with old blocks: forget all.
  if (auto phys = debugTranslate(vm_, linear)) vm_.dbt->invalidate(*phys, 1);
  else vm_.dbt->flushAll();
  vm_.dbt->flushJumpCache();
  vm_.cpu.last_exit = 0;  // it may belong to a dropped block
}

std::string GdbStub::breakpoint(const std::string& args, bool insert) {
  if (args.size() < 2 || args[1] != ',') return "E22";
  int type = args[0] - '0';
  uint64_t addr, len;
  if (type < 0 || type > 4 || !parseAddrLen(args.substr(2), addr, len) || addr > 0xffffffffu) return "E22";
  auto a = uint32_t(addr);
  if (type <= 1) {  // software and hardware breakpoints alike: nothing is written to the guest
    if (!insert) {
      breaks_.erase(a);
      return "OK";
    }
    breaks_.insert(a);
    if (clean_.insert(a).second) dropCodeAt(a);
    return "OK";
  }
  if (len == 0 || len > 0x10000) return "E22";
  // Z2 watches writes, Z3 reads, Z4 both.
  Watch w{WatchRange{a, uint32_t(len), type != 2, type != 3}, type};
  auto same = [&w](const Watch& x) {
    return x.range.addr == w.range.addr && x.range.len == w.range.len && x.type == w.type;
  };
  if (insert) {
    watches_.push_back(w);
    vm_.mmu.flushAll();  // the page's soft-TLB entries would let accesses bypass the check
  } else {
    auto it = std::find_if(watches_.begin(), watches_.end(), same);
    if (it != watches_.end()) watches_.erase(it);
  }
  return "OK";
}

void GdbStub::detach() {
  // As QEMU: breakpoints and watchpoints go away and the guest runs on.
  breaks_.clear();
  watches_.clear();
  hits_.clear();
  stepping_ = step_ran_ = false;
  conn_->close();
}

void GdbStub::guestExited(int status) {
  if (!conn_->connected()) return;
  conn_->send(fmt::format("W{:02x}", status & 0xff));
  conn_->close();
}

}  // namespace btvm
