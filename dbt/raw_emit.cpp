#include "dbt/raw_emit.h"

#include <cstring>
#include <functional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "dbt/assembler.h"
#include "dbt/host_regs.h"

namespace btvm {

using namespace asmjit;

namespace {

constexpr uint64_t kSentinel = 0x5a17e9b3c4d2f1a6ull;

struct Template {
  std::vector<uint8_t> bytes;  // the sentinel's bytes removed: the caller appends its value
};

// Assembles `emit(a, sentinel)` once and checks that the last `tail` bytes are the sentinel's.
Template makeTemplate(const std::function<void(x86::Assembler&, uint64_t)>& emit, size_t tail) {
  CodeHolder code;
  x86::Assembler a;
  AsmErrorHandler eh;
  initAssembler(code, a, eh);
  uint64_t sentinel = tail == 8 ? kSentinel : kSentinel & 0x7fffffff;
  emit(a, sentinel);
  const uint8_t* b = code.textSection()->data();
  size_t n = a.offset();
  if (n < tail || std::memcmp(b + n - tail, &sentinel, tail) != 0)
    throw std::logic_error("raw_emit: the template's value is not in its last bytes");
  return Template{std::vector<uint8_t>(b, b + n - tail)};
}

const Template& storeTemplate(int32_t off) {
  thread_local std::unordered_map<int32_t, Template> cache;
  auto it = cache.find(off);
  if (it != cache.end()) return it->second;
  Template t = makeTemplate([off](x86::Assembler& a, uint64_t s) { a.mov(host::st(size_t(off)), uint32_t(s)); }, 4);
  return cache.emplace(off, std::move(t)).first->second;
}

}  // namespace

RawBuf& RawBuf::put(const uint8_t* tmpl, size_t len, const void* tail, size_t tail_len) {
  if (n_ + len + tail_len > sizeof buf_) flush();
  std::memcpy(buf_ + n_, tmpl, len);
  std::memcpy(buf_ + n_ + len, tail, tail_len);
  n_ += len + tail_len;
  return *this;
}

RawBuf& RawBuf::storeImm32(int32_t state_off, uint32_t imm) {
  const Template& t = storeTemplate(state_off);
  return put(t.bytes.data(), t.bytes.size(), &imm, 4);
}

RawBuf& RawBuf::movR9(uint64_t imm) {
  static const Template t = makeTemplate([](x86::Assembler& a, uint64_t s) { a.movabs(x86::r9, s); }, 8);
  return put(t.bytes.data(), t.bytes.size(), &imm, 8);
}

RawBuf& RawBuf::movR9d(uint32_t imm) {
  static const Template t = makeTemplate([](x86::Assembler& a, uint64_t s) { a.mov(x86::r9d, uint32_t(s)); }, 4);
  return put(t.bytes.data(), t.bytes.size(), &imm, 4);
}

RawBuf& RawBuf::movR11d(uint32_t imm) {
  static const Template t = makeTemplate([](x86::Assembler& a, uint64_t s) { a.mov(x86::r11d, uint32_t(s)); }, 4);
  return put(t.bytes.data(), t.bytes.size(), &imm, 4);
}

RawBuf& RawBuf::movR11(uint64_t imm) {
  static const Template t = makeTemplate([](x86::Assembler& a, uint64_t s) { a.movabs(x86::r11, s); }, 8);
  return put(t.bytes.data(), t.bytes.size(), &imm, 8);
}

RawBuf& RawBuf::copy(size_t begin, size_t end) {
  size_t len = end - begin;
  if (len > sizeof buf_) throw std::logic_error("raw_emit: a copy longer than the buffer");
  flush();  // the source is in the assembler's buffer, which embed may move: copy it out first
  std::memcpy(buf_, a_.bufferData() + begin, len);
  n_ = len;
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
  int64_t rel = int64_t(target_offset) - int64_t(offset() + t.bytes.size() + 4);
  int32_t rel32 = int32_t(rel);
  return put(t.bytes.data(), t.bytes.size(), &rel32, 4);
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

void RawBuf::flush() {
  if (!n_) return;
  a_.embed(buf_, n_);
  n_ = 0;
}

}  // namespace btvm
