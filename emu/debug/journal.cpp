#include "emu/debug/journal.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace btvm {

namespace {

constexpr char kMagic[8] = {'B', 'T', 'V', 'M', 'R', 'P', 'L', '\n'};
// Version 2: recorded with exact device events (the dispatcher, vm.exact_budget); a version-1
// recording would take its interrupts elsewhere and diverge.
constexpr uint32_t kVersion = 2;
constexpr size_t kFlushBytes = 64 << 10;

void putVarint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  s.push_back(char(v));
}

void putString(std::string& s, const std::string& v) {
  putVarint(s, v.size());
  s += v;
}

uint64_t zigzag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
int64_t unzigzag(uint64_t v) { return int64_t(v >> 1) ^ -int64_t(v & 1); }

// Reads the file's bytes in order; every read past the end (a recording cut short) sets `short_`.
struct Reader {
  const std::string& d;
  size_t pos = 0;
  bool short_ = false;
  bool done() const { return pos >= d.size(); }
  uint8_t byte() {
    if (pos >= d.size()) {
      short_ = true;
      return 0;
    }
    return uint8_t(d[pos++]);
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      uint8_t b = byte();
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    short_ = true;  // more than 10 bytes: not a varint of ours
    return v;
  }
  std::string str(size_t max) {
    uint64_t n = varint();
    if (n > max || n > d.size() - std::min(pos, d.size())) {
      short_ = true;
      return {};
    }
    std::string s = d.substr(pos, n);
    pos += n;
    return s;
  }
};

const char* kindName(Journal::Kind k) {
  switch (k) {
    case Journal::Kind::PowerOn: return "power-on";
    case Journal::Kind::Clock: return "a clock reading";
    case Journal::Kind::Receive: return "serial input";
    case Journal::Kind::InputOpen: return "the serial input opening or ending";
    case Journal::Kind::ReadAhead: return "typed-ahead serial input waking HLT";
    case Journal::Kind::Readable: return "serial input waking HLT";
    case Journal::Kind::End: return "the end of the run";
  }
  return "an unknown event";
}

}  // namespace

std::string Journal::describe(const Event& e) {
  switch (e.kind) {
    case Kind::Receive: return fmt::format("{} ({} bytes)", kindName(e.kind), e.bytes.size());
    case Kind::Clock: return fmt::format("{} ({} ns)", kindName(e.kind), e.value);
    default: return kindName(e.kind);
  }
}

std::unique_ptr<Journal> Journal::record(const std::string& path, const std::vector<JournalItem>& items) {
  std::unique_ptr<Journal> j(new Journal);
  j->out_ = std::fopen(path.c_str(), "wb");
  if (!j->out_) throw std::runtime_error(fmt::format("cannot create recording '{}': {}", path, std::strerror(errno)));
  j->items_ = items;
  std::string h(kMagic, sizeof kMagic);
  putVarint(h, kVersion);
  putVarint(h, items.size());
  for (const JournalItem& it : items) {
    putString(h, it.name);
    putString(h, it.value);
    h.push_back(char(it.compared));
  }
  j->buf_ = std::move(h);
  return j;
}

std::unique_ptr<Journal> Journal::replay(const std::string& path, const std::vector<JournalItem>& items) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(fmt::format("cannot open recording '{}': {}", path, std::strerror(errno)));
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    throw std::runtime_error(fmt::format("'{}' is not a btvm recording (made by --record)", path));
  Reader r{data, sizeof kMagic};
  uint64_t version = r.varint();
  if (version != kVersion)
    throw std::runtime_error(fmt::format("'{}' is a recording of version {}; this btvm replays version {}", path,
                                         version, kVersion));
  std::unique_ptr<Journal> j(new Journal);
  j->replaying_ = true;
  uint64_t n = r.varint();
  for (uint64_t i = 0; i < n && !r.short_; ++i) {
    JournalItem it;
    it.name = r.str(256);
    it.value = r.str(4096);
    it.compared = r.byte() != 0;
    j->items_.push_back(std::move(it));
  }
  if (r.short_) throw std::runtime_error(fmt::format("'{}': the recording's header is damaged", path));
  // The header first: another kernel or other options make the guest another guest.
  for (const JournalItem& now : items) {
    if (!now.compared) continue;
    std::string then = j->item(now.name);
    if (then != now.value)
      throw ReplayDiverged(fmt::format("replay diverged at instruction 0: the recording was made with {} '{}', this "
                                       "run has {} '{}'", now.name, then, now.name, now.value));
  }
  for (const JournalItem& then : j->items_) {
    bool here = false;
    for (const JournalItem& now : items) here |= now.name == then.name;
    if (then.compared && !here)
      throw ReplayDiverged(fmt::format("replay diverged at instruction 0: the recording was made with {} '{}', "
                                       "which this btvm does not know", then.name, then.value));
  }
  uint64_t ordinal = 0, count = 0;
  while (!r.done()) {
    Event e;
    ordinal += r.varint();
    e.ordinal = ordinal;
    e.count = count = count + uint64_t(unzigzag(r.varint()));
    e.kind = Kind(r.byte());
    switch (e.kind) {
      case Kind::PowerOn: e.value = r.varint(); break;
      case Kind::Clock: e.value = r.varint(); break;  // a zigzag delta, resolved below
      case Kind::Receive: {
        std::string b = r.str(4096);
        e.bytes.assign(b.begin(), b.end());
        break;
      }
      case Kind::InputOpen: e.value = r.byte(); break;
      case Kind::ReadAhead:
      case Kind::Readable: break;
      case Kind::End:
        e.value = r.varint();
        e.status = int(r.varint());
        e.quit = r.byte() != 0;
        break;
      default:
        throw std::runtime_error(fmt::format("'{}': unknown event kind {} after {} events (a damaged recording)", path,
                                             unsigned(e.kind), j->log_.size()));
    }
    if (r.short_) break;  // cut short inside its last event: the events before it stand
    j->log_.push_back(std::move(e));
  }
  // Clock values are deltas from the previous reading (one boot after another).
  uint64_t clock = 0;
  for (Event& e : j->log_) {
    if (e.kind == Kind::PowerOn) clock = 0;
    if (e.kind == Kind::Clock) e.value = clock = clock + uint64_t(unzigzag(e.value));
  }
  return j;
}

Journal::~Journal() {
  if (!out_) return;
  std::fwrite(buf_.data(), 1, buf_.size(), out_);
  std::fclose(out_);
}

std::string Journal::item(const std::string& name) const {
  for (const JournalItem& it : items_)
    if (it.name == name) return it.value;
  return {};
}

void Journal::attach(std::function<uint64_t()> count, StopFn stop) {
  count_ = std::move(count);
  stop_ = std::move(stop);
}

void Journal::detach() {
  count_ = nullptr;
  stop_ = nullptr;
}

// The message is built in why_ by the caller, in a statement of its own: stop_ leaves by
// longjmp, and any std::string alive across it (a temporary argument, a local) would leak.
void Journal::diverged() {
  why_ = fmt::format("replay diverged at instruction {}: {}", now(), why_);
  if (stop_) stop_(why_, true);
  throw ReplayDiverged(why_);  // no machine runs (power-on): the caller reports it
}

Journal::Event Journal::event(Kind kind, uint64_t value) const {
  Event e;
  e.ordinal = ordinal_;
  e.count = now();
  e.kind = kind;
  e.value = value;
  return e;
}

void Journal::write(const Event& e) {
  putVarint(buf_, ordinal_ - last_ordinal_);
  last_ordinal_ = ordinal_;
  putVarint(buf_, zigzag(int64_t(e.count - last_count_)));  // counts restart at a reboot
  last_count_ = e.count;
  buf_.push_back(char(e.kind));
  switch (e.kind) {
    case Kind::PowerOn: putVarint(buf_, e.value); break;
    case Kind::Clock:
      putVarint(buf_, zigzag(int64_t(e.value - last_clock_)));
      last_clock_ = e.value;
      break;
    case Kind::Receive:
      putVarint(buf_, e.bytes.size());
      buf_.append(e.bytes.begin(), e.bytes.end());
      break;
    case Kind::InputOpen: buf_.push_back(char(e.value)); break;
    case Kind::ReadAhead:
    case Kind::Readable: break;
    case Kind::End:
      putVarint(buf_, e.value);
      putVarint(buf_, uint64_t(e.status));
      buf_.push_back(char(e.quit));
      break;
  }
  ++written_;
  if (buf_.size() >= kFlushBytes || e.kind == Kind::End) {
    std::fwrite(buf_.data(), 1, buf_.size(), out_);
    std::fflush(out_);
    buf_.clear();
  }
}

const Journal::Event* Journal::take(Kind kind, bool quiet_ok) {
  uint64_t count = now();
  if (next_ >= log_.size()) {
    why_ = fmt::format("the guest asks for {}, but the recording ends before (it was cut short)", kindName(kind));
    diverged();
  }
  const Event& e = log_[next_];
  // The end has an ordinal of its own, after the recorded run's last call: a call that reaches
  // it is one the recorded run did not make.
  if (e.kind == Kind::End && ordinal_ >= e.ordinal) {
    if (e.quit && stop_) {
      why_ = "replay: the recorded run was ended here (Ctrl-A x)";
      stop_(why_, false);
    }
    why_ = fmt::format("the guest asks for {} after the recorded run had ended", kindName(kind));
    diverged();
  }
  if (e.ordinal == ordinal_) {
    if (e.kind != kind || e.count != count) {
      why_ = fmt::format("the guest asks for {}, the recording has {} at instruction {}", kindName(kind), describe(e),
                         e.count);
      diverged();
    }
    ++next_;
    return &e;
  }
  // A quiet call: nothing was recorded for it, unless the guest has gone past the next event.
  // (Power-on and the end count from zero and in all boots: no count to pass.)
  bool passed = e.kind != Kind::PowerOn && e.kind != Kind::End && e.count < count;
  if (!quiet_ok || e.ordinal < ordinal_ || passed) {
    why_ = fmt::format("the guest asks for {}, the recording has {} at instruction {} next", kindName(kind),
                       describe(e), e.count);
    diverged();
  }
  return nullptr;
}

int64_t Journal::powerOn(int64_t host_epoch) {
  ++ordinal_;
  open_ = false;
  last_clock_ = 0;
  if (replaying_) return unzigzag(take(Kind::PowerOn, false)->value);
  write(event(Kind::PowerOn, zigzag(host_epoch)));
  return host_epoch;
}

uint64_t Journal::clock(uint64_t host_ns) {
  if (ended_) return host_ns;
  ++ordinal_;
  if (replaying_) return take(Kind::Clock, false)->value;
  write(event(Kind::Clock, host_ns));
  return host_ns;
}

size_t Journal::receive(uint8_t* buf, size_t max, const std::function<size_t(uint8_t*, size_t)>& host) {
  if (ended_) return 0;
  ++ordinal_;
  if (replaying_) {
    const Event* e = take(Kind::Receive, true);
    if (!e) return 0;
    if (e->bytes.size() > max) {
      why_ = fmt::format("the UART has room for {} bytes, the recording gives it {}", max, e->bytes.size());
      diverged();
    }
    std::memcpy(buf, e->bytes.data(), e->bytes.size());
    return e->bytes.size();
  }
  in_host_ = true;  // Ctrl-A x may end the run inside (the console reads the keys)
  size_t n = host(buf, max);
  in_host_ = false;
  if (n) {
    Event e = event(Kind::Receive);
    e.bytes.assign(buf, buf + n);
    write(e);
  }
  return n;
}

bool Journal::inputOpen(bool host_answer) {
  if (ended_) return open_;
  ++ordinal_;
  if (replaying_) {
    if (const Event* e = take(Kind::InputOpen, true)) open_ = e->value != 0;
    return open_;
  }
  if (host_answer != open_) {
    open_ = host_answer;
    write(event(Kind::InputOpen, uint64_t(open_)));
  }
  return open_;
}

bool Journal::readAhead(bool host_answer) {
  if (ended_) return false;
  ++ordinal_;
  if (replaying_) return take(Kind::ReadAhead, true) != nullptr;
  if (host_answer) write(event(Kind::ReadAhead));
  return host_answer;
}

bool Journal::readable(const std::function<bool()>& host) {
  if (ended_) return false;
  ++ordinal_;
  if (replaying_) return take(Kind::Readable, true) != nullptr;
  in_host_ = true;
  bool yes = host();
  in_host_ = false;
  if (yes) write(event(Kind::Readable));
  return yes;
}

std::string Journal::end(uint64_t total, int status, bool quit) {
  if (ended_) return {};
  ended_ = true;
  if (!replaying_) {
    // The end's ordinal: after the last call, or that call's own if the run ended inside it
    // (Ctrl-A x read while asking the host for input): the replay stops at the same point.
    if (!in_host_) ++ordinal_;
    Event e = event(Kind::End, total);
    e.count = total;
    e.status = status;
    e.quit = quit;
    write(e);
    return {};
  }
  // The events the replay did not use, then the end itself.
  if (next_ < log_.size() && log_[next_].kind != Kind::End)
    return fmt::format("replay diverged at instruction {}: the run ended (status {}), the recording has {} at "
                       "instruction {} next", total, status, describe(log_[next_]), log_[next_].count);
  if (next_ >= log_.size())
    return fmt::format("replay ended at instruction {} (status {}); the recording was cut short before its end, so "
                       "whether the runs agree is unknown", total, status);
  const Event& e = log_[next_];
  if (e.value != total || e.status != status)
    return fmt::format("replay diverged at instruction {}: the run ended with status {}, the recorded run ended "
                       "after {} instructions with status {}", total, status, e.value, e.status);
  return {};
}

std::optional<std::pair<uint64_t, int>> Journal::quitAt() const {
  if (!replaying_ || log_.empty() || log_.back().kind != Kind::End || !log_.back().quit) return std::nullopt;
  return std::make_pair(log_.back().value, log_.back().status);
}

}  // namespace btvm
