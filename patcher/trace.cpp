#include "patcher/trace.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <vector>

namespace btvm {

const char* handlingName(Handling h) {
  switch (h) {
    case Handling::Translated: return "translated";
    case Handling::Trapped: return "trapped";
    case Handling::Patched: return "patched";
    case Handling::Missed: return "missed";
    default: return "none";
  }
}

const char* modeName(VirtMode m) {
  switch (m) {
    case VirtMode::Trap: return "trap";
    case VirtMode::Patch: return "patch";
    default: return "translate";
  }
}

TraceWriter::TraceWriter(const std::string& path) : f_(std::fopen(path.c_str(), "w")) {
  if (!f_) throw std::runtime_error(fmt::format("cannot write trace file {}: {}", path, std::strerror(errno)));
}

TraceWriter::~TraceWriter() { std::fclose(f_); }

static std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o.push_back('\\');
    o.push_back(c);
  }
  return o;
}

void TraceWriter::write(const TraceEvent& e) {
  fmt::print(f_,
             "{{\"seq\":{},\"eip\":\"0x{:08x}\",\"cpl\":{},\"real_cpl\":{},\"bytes\":\"{}\",\"mnemonic\":\"{}\","
             "\"class\":\"{}\",\"handling\":\"{}\",\"state\":\"{}\"}}\n",
             e.seq, e.eip, e.cpl, e.real_cpl, e.bytes, e.mnemonic, e.cls, handlingName(e.handling), jsonEscape(e.state));
}

namespace {

// One trace line, read back: flat JSON objects of strings and integers (our own format).
struct Line {
  std::map<std::string, std::string> f;
  const std::string& get(const char* k) const {
    static const std::string empty;
    auto it = f.find(k);
    return it == f.end() ? empty : it->second;
  }
};

bool parseLine(const std::string& s, Line* out) {
  size_t i = 0;
  auto skip = [&] { while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '{' || s[i] == '}')) ++i; };
  auto str = [&](std::string* v) {
    if (i >= s.size() || s[i] != '"') return false;
    ++i;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      v->push_back(s[i++]);
    }
    return i++ < s.size();
  };
  for (skip(); i < s.size(); skip()) {
    std::string k, v;
    if (!str(&k) || i >= s.size() || s[i++] != ':') return false;
    if (i < s.size() && s[i] == '"') {
      if (!str(&v)) return false;
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '}') v.push_back(s[i++]);
    }
    out->f[k] = v;
  }
  return !out->f.empty();
}

bool readTrace(const std::string& path, std::vector<Line>* out, std::FILE* err) {
  std::ifstream in(path);
  if (!in) {
    fmt::print(err, "trace-diff: cannot read {}\n", path);
    return false;
  }
  std::string s;
  for (size_t n = 1; std::getline(in, s); ++n) {
    if (s.empty()) continue;
    Line l;
    if (!parseLine(s, &l)) {
      fmt::print(err, "trace-diff: {}:{}: not a trace line\n", path, n);
      return false;
    }
    out->push_back(std::move(l));
  }
  return true;
}

bool caught(const Line& l) { return l.get("handling") != "missed"; }

std::string show(const Line& l) {
  return fmt::format("{} {:<8} {:<10} {:<10} {}", l.get("eip"), l.get("mnemonic"), l.get("handling"),
                     "cpl " + l.get("cpl") + "/" + l.get("real_cpl"), l.get("state"));
}

}  // namespace

int traceDiff(const std::string& pa, const std::string& pb, std::FILE* out) {
  std::vector<Line> a, b;
  if (!readTrace(pa, &a, out) || !readTrace(pb, &b, out)) return 2;
  struct Row { uint64_t exec_a = 0, exec_b = 0, caught_a = 0, caught_b = 0, missed_a = 0, missed_b = 0, differ = 0; };
  std::map<std::string, Row> rows;
  for (const Line& l : a) {
    Row& r = rows[l.get("mnemonic")];
    ++r.exec_a;
    (caught(l) ? r.caught_a : r.missed_a)++;
  }
  for (const Line& l : b) {
    Row& r = rows[l.get("mnemonic")];
    ++r.exec_b;
    (caught(l) ? r.caught_b : r.missed_b)++;
  }
  // Events align by position while both traces run the same instructions.
  size_t first = SIZE_MAX, n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    bool same_insn = a[i].get("eip") == b[i].get("eip") && a[i].get("mnemonic") == b[i].get("mnemonic");
    bool same = same_insn && a[i].get("state") == b[i].get("state") && caught(a[i]) == caught(b[i]);
    if (same_insn && a[i].get("state") != b[i].get("state")) rows[a[i].get("mnemonic")].differ++;
    if (!same && first == SIZE_MAX) first = i;
  }
  if (first == SIZE_MAX && a.size() != b.size()) first = n;
  fmt::print(out, "A: {} ({} events)\nB: {} ({} events)\n", pa, a.size(), pb, b.size());
  if (first == SIZE_MAX) {
    fmt::print(out, "traces are equivalent: same instructions, same handling class, same virtual state\n");
  } else {
    fmt::print(out, "\nfirst divergence at event {}:\n", first + 1);
    size_t from = first >= 3 ? first - 3 : 0;
    for (size_t i = from; i <= first + 2 && (i < a.size() || i < b.size()); ++i) {
      const char* mark = i == first ? ">>" : "  ";
      fmt::print(out, "{} A {:>5}  {}\n", mark, i + 1, i < a.size() ? show(a[i]) : "(end of trace)");
      fmt::print(out, "{} B {:>5}  {}\n", mark, i + 1, i < b.size() ? show(b[i]) : "(end of trace)");
    }
  }
  fmt::print(out, "\n{:<12} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>10}\n", "instruction", "exec A", "exec B",
             "caught A", "caught B", "missed A", "missed B", "diff value");
  for (const auto& [m, r] : rows)
    fmt::print(out, "{:<12} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>10}\n", m, r.exec_a, r.exec_b, r.caught_a,
               r.caught_b, r.missed_a, r.missed_b, r.differ);
  return first == SIZE_MAX ? 0 : 1;
}

}  // namespace btvm
