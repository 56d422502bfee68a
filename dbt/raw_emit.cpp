#include "dbt/raw_emit.h"

#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "dbt/assembler.h"
#include "dbt/host_regs.h"

namespace btvm {

using namespace asmjit;

namespace {

constexpr uint64_t kSentinel = 0x5a17e9b3c4d2f1a6ull;
constexpr int8_t kSentinel8 = 0x5a;

// The sentinel's bytes removed: the caller appends its value. A fixed array, so that RawBuf::put
// copies it with a constant-size copy (a few vector moves, no call to memcpy).
struct Template {
  uint8_t bytes[RawBuf::kMaxTemplate];
  size_t len;
};

// Assembles `emit(a, sentinel)` once and checks that the last `tail` bytes (0, 1, 4 or 8) are the
// sentinel's.
Template makeTemplate(const std::function<void(x86::Assembler&, uint64_t)>& emit, size_t tail) {
  CodeHolder code;
  x86::Assembler a;
  AsmErrorHandler eh;
  initAssembler(code, a, eh);
  uint64_t sentinel = tail == 8 ? kSentinel : tail == 1 ? uint64_t(kSentinel8) : kSentinel & 0x7fffffff;
  emit(a, sentinel);
  const uint8_t* b = code.textSection()->data();
  size_t n = a.offset();
  if (n < tail || std::memcmp(b + n - tail, &sentinel, tail) != 0)
    throw std::logic_error("raw_emit: the template's value is not in its last bytes");
  if (n - tail > RawBuf::kMaxTemplate) throw std::logic_error("raw_emit: a template longer than kMaxTemplate");
  Template t{};
  std::memcpy(t.bytes, b, n - tail);
  t.len = n - tail;
  return t;
}

const Template& storeTemplate(int32_t off) {
  thread_local std::unordered_map<int32_t, Template> cache;
  auto it = cache.find(off);
  if (it != cache.end()) return it->second;
  Template t = makeTemplate([off](x86::Assembler& a, uint64_t s) { a.mov(host::st(size_t(off)), uint32_t(s)); }, 4);
  return cache.emplace(off, std::move(t)).first->second;
}

// lea/mov reg, [base + disp]: one template per instruction, registers and displacement width.
enum class DispWidth { None, Byte, Dword };

constexpr size_t kMemTemplates = 2 * 16 * 16 * 4 * 3;
// A table of plain pointers (no thread_local guard on the hot path); makeMemTemplate keeps them.
thread_local const Template* tMemTemplates[kMemTemplates];

[[gnu::noinline]] const Template* makeMemTemplate(size_t key, bool load, const x86::Gp& dst, const x86::Gp& base,
                                                  DispWidth w) {
  thread_local std::vector<std::unique_ptr<Template>> owned;
  size_t tail = w == DispWidth::None ? 0 : w == DispWidth::Byte ? 1 : 4;
  owned.push_back(std::make_unique<Template>(makeTemplate(
      [&](x86::Assembler& a, uint64_t s) {
        int32_t disp = w == DispWidth::None ? 0 : w == DispWidth::Byte ? int32_t(int8_t(s)) : int32_t(s);
        x86::Mem m = x86::ptr(base, disp, load ? dst.size() : 0);
        if (load) a.mov(dst, m);
        else a.lea(dst, m);
      },
      tail)));
  return tMemTemplates[key] = owned.back().get();
}

inline const Template& memTemplate(bool load, const x86::Gp& dst, const x86::Gp& base, DispWidth w) {
  unsigned size_code = dst.size() == 1 ? 0 : dst.size() == 2 ? 1 : dst.size() == 4 ? 2 : 3;
  size_t key = (((size_t(load) * 16 + dst.id()) * 16 + base.id()) * 4 + size_code) * 3 + size_t(w);
  const Template* t = tMemTemplates[key];
  return t ? *t : *makeMemTemplate(key, load, dst, base, w);
}

}  // namespace

RawBuf& RawBuf::lea(const x86::Gp& dst, const x86::Gp& base, int32_t disp) { return memOp(false, dst, base, disp); }
RawBuf& RawBuf::load(const x86::Gp& dst, const x86::Gp& base, int32_t disp) { return memOp(true, dst, base, disp); }

RawBuf& RawBuf::memOp(bool load, const x86::Gp& dst, const x86::Gp& base, int32_t disp) {
  if (disp == 0) {
    const Template& t = memTemplate(load, dst, base, DispWidth::None);
    return putTemplate(t.bytes, t.len, 0, 0);
  }
  if (disp >= -128 && disp <= 127) {
    const Template& t = memTemplate(load, dst, base, DispWidth::Byte);
    int8_t d = int8_t(disp);  // its one byte
    return putTemplate(t.bytes, t.len, uint8_t(d), 1);
  }
  const Template& t = memTemplate(load, dst, base, DispWidth::Dword);
  return putTemplate(t.bytes, t.len, uint32_t(disp), 4);
}

RawBuf& RawBuf::fixed(void (*emit)(x86::Assembler&)) {
  struct Entry {
    void (*emit)(x86::Assembler&);
    Template t;
  };
  thread_local std::vector<Entry> cache;
  for (const Entry& e : cache)
    if (e.emit == emit) return putTemplate(e.t.bytes, e.t.len, 0, 0);
  cache.push_back(Entry{emit, makeTemplate([emit](x86::Assembler& a, uint64_t) { emit(a); }, 0)});
  const Template& t = cache.back().t;
  return putTemplate(t.bytes, t.len, 0, 0);
}

// Templates are kMaxTemplate-byte arrays and tails at most 8 bytes: both copies have a constant
// size (the bytes past len are overwritten by the next put or never flushed).
RawBuf& RawBuf::putTemplate(const uint8_t* tmpl, size_t len, uint64_t tail, size_t tail_len) {
  if (n_ + kMaxTemplate + 8 > sizeof buf_) flush();
  std::memcpy(buf_ + n_, tmpl, kMaxTemplate);
  std::memcpy(buf_ + n_ + len, &tail, 8);
  n_ += len + tail_len;
  return *this;
}

RawBuf& RawBuf::put(const uint8_t* tmpl, size_t len, const void* tail, size_t tail_len) {
  if (n_ + len + tail_len > sizeof buf_) flush();
  std::memcpy(buf_ + n_, tmpl, len);
  if (tail_len) std::memcpy(buf_ + n_ + len, tail, tail_len);
  n_ += len + tail_len;
  return *this;
}

RawBuf& RawBuf::storeImm32(int32_t state_off, uint32_t imm) {
  const Template& t = storeTemplate(state_off);
  return putTemplate(t.bytes, t.len, uint32_t(imm), 4);
}

RawBuf& RawBuf::movR9(uint64_t imm) {
  static const Template t = makeTemplate([](x86::Assembler& a, uint64_t s) { a.movabs(x86::r9, s); }, 8);
  return putTemplate(t.bytes, t.len, imm, 8);
}

RawBuf& RawBuf::movR9d(uint32_t imm) {
  static const Template t = makeTemplate([](x86::Assembler& a, uint64_t s) { a.mov(x86::r9d, uint32_t(s)); }, 4);
  return putTemplate(t.bytes, t.len, uint32_t(imm), 4);
}

RawBuf& RawBuf::movR11d(uint32_t imm) {
  static const Template t = makeTemplate([](x86::Assembler& a, uint64_t s) { a.mov(x86::r11d, uint32_t(s)); }, 4);
  return putTemplate(t.bytes, t.len, uint32_t(imm), 4);
}

RawBuf& RawBuf::movR11(uint64_t imm) {
  static const Template t = makeTemplate([](x86::Assembler& a, uint64_t s) { a.movabs(x86::r11, s); }, 8);
  return putTemplate(t.bytes, t.len, imm, 8);
}

RawBuf& RawBuf::copy(size_t begin, size_t end) {
  // The source is in the assembler's buffer, which a flush may move (it can grow): copied into
  // buf_ at once, after any flush.
  size_t len = end - begin;
  if (end < begin || end > a_.offset()) throw std::logic_error("raw_emit: a copy of code not emitted yet");
  if (len > sizeof buf_) throw std::logic_error("raw_emit: a copy longer than the buffer");
  if (n_ + len > sizeof buf_) flush();
  std::memcpy(buf_ + n_, a_.bufferData() + begin, len);
  n_ += len;
  return *this;
}

RawBuf& RawBuf::bytes(const uint8_t* p, size_t len) {
  if (n_ + len > sizeof buf_) flush();
  if (len > sizeof buf_) {
    a_.embed(p, len);
    return *this;
  }
  std::memcpy(buf_ + n_, p, len);
  n_ += len;
  return *this;
}

RawBuf& RawBuf::jmpNext() {
  static const uint8_t op = 0xe9;
  const uint32_t zero = 0;
  return put(&op, 1, &zero, 4);
}

RawBuf& RawBuf::jmpBack(size_t target_offset) {
  int64_t rel8 = int64_t(target_offset) - int64_t(offset() + 2);
  if (rel8 >= -128 && rel8 <= 127) {
    const uint8_t op = 0xeb;
    const int8_t r = int8_t(rel8);
    return put(&op, 1, &r, 1);
  }
  const uint8_t op = 0xe9;
  const int32_t rel32 = int32_t(int64_t(target_offset) - int64_t(offset() + 5));
  return put(&op, 1, &rel32, 4);
}

RawBuf& RawBuf::leaR11(size_t target_offset) {
  static const Template t =
      makeTemplate([](x86::Assembler& a, uint64_t s) { a.lea(x86::r11, x86::ptr(x86::rip, int32_t(s))); }, 4);
  int64_t rel = int64_t(target_offset) - int64_t(offset() + t.len + 4);
  int32_t rel32 = int32_t(rel);
  return putTemplate(t.bytes, t.len, uint32_t(rel32), 4);
}

RawBuf& RawBuf::branch(uint8_t opcode, const void* target) {
  const CodeHolder* code = a_.code();
  if (code->hasBaseAddress()) {
    int64_t rel = int64_t(reinterpret_cast<uint64_t>(target)) - int64_t(code->baseAddress() + offset() + 5);
    if (rel == int64_t(int32_t(rel))) {
      int32_t rel32 = int32_t(rel);
      return put(&opcode, 1, &rel32, 4);
    }
  }
  flush();
  if (opcode == 0xe8) a_.call(Imm(reinterpret_cast<uint64_t>(target)));
  else a_.jmp(Imm(reinterpret_cast<uint64_t>(target)));
  return *this;
}

namespace {
// What BaseAssembler::embed does when its buffer has room and no logger is attached (copy,
// advance the write pointer, grow the section's size to it), without its checks and the call:
// embed was a tenth of emit's cost. The write pointer is protected; a derived class's member
// pointer reaches it.
struct BufferAccess : x86::Assembler {
  static bool append(x86::Assembler& a, const uint8_t* p, size_t n) {
    uint8_t* BaseAssembler::*ptr = &BufferAccess::_bufferPtr;
    if (a.logger() || !a.currentSection() || a.remainingSpace() < n) return false;
    std::memcpy(a.*ptr, p, n);
    a.*ptr += n;
    CodeBuffer& buffer = a.currentSection()->_buffer;
    if (buffer._size < a.offset()) buffer._size = a.offset();
    return true;
  }
};
}  // namespace

void RawBuf::flush() {
  if (!n_) return;
  if (!BufferAccess::append(a_, buf_, n_)) a_.embed(buf_, n_);
  n_ = 0;
}

}  // namespace btvm
