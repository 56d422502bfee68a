// Byte templates for the fixed instructions that every block repeats (state stores, stub calls,
// exits): each is assembled once by AsmJit itself with a sentinel in its immediate or
// displacement, which must sit in the last bytes, and is then copied with the real value
// patched in. AsmJit's encoder costs about 150 host instructions per host instruction; a copy
// costs a few. Several pieces go into one RawBuf and reach the assembler in one embed.
#pragma once
#include <asmjit/x86.h>

#include <cstddef>
#include <cstdint>

namespace btvm {

class RawBuf {
 public:
  static constexpr size_t kMaxTemplate = 24;  // bytes of the longest template
  explicit RawBuf(asmjit::x86::Assembler& a) : a_(a) {}
  ~RawBuf() { flush(); }
  RawBuf(const RawBuf&) = delete;
  RawBuf& operator=(const RawBuf&) = delete;

  // mov dword [state + off], imm32 (host::st).
  RawBuf& storeImm32(int32_t state_off, uint32_t imm);
  // mov r9, imm64 in its 10-byte MOVABS form.
  RawBuf& movR9(uint64_t imm);
  // mov r9d, imm32.
  RawBuf& movR9d(uint32_t imm);
  // mov r11d, imm32.
  RawBuf& movR11d(uint32_t imm);
  // mov r11, imm64 in its 10-byte MOVABS form.
  RawBuf& movR11(uint64_t imm);
  // A copy of code already emitted, [begin, end) in the assembler's buffer (position-independent).
  RawBuf& copy(size_t begin, size_t end);
  // Bytes as they are (a template of the caller's).
  RawBuf& bytes(const uint8_t* p, size_t len);
  // call / jmp rel32 to an absolute address, e.g. a runtime stub (always rel32, where AsmJit
  // would take a JMP rel8 to a target within reach). Needs a code holder with a
  // base address (initAssembler's `base`); without one, and out of rel32 reach, through AsmJit.
  RawBuf& call(const void* target) { return branch(0xe8, target); }
  RawBuf& jmp(const void* target) { return branch(0xe9, target); }
  // jmp to code already emitted at `target_offset`: rel8 when it reaches, as AsmJit picks.
  RawBuf& jmpBack(size_t target_offset);
  // jmp rel32 with rel32 = 0: a chainable exit that falls through until patched.
  RawBuf& jmpNext();
  // lea r11, [rip + disp32] to the given offset in the code buffer.
  RawBuf& leaR11(size_t target_offset);
  // lea dst, [base + disp] and mov dst, [base + disp] (the load's size is dst's), base a 64-bit
  // register: the displacement encoded as AsmJit picks it (none, disp8 or disp32).
  RawBuf& lea(const asmjit::x86::Gp& dst, const asmjit::x86::Gp& base, int32_t disp);
  RawBuf& load(const asmjit::x86::Gp& dst, const asmjit::x86::Gp& base, int32_t disp);
  // A fixed sequence: `emit` assembles it once (the function's address is the key), later calls
  // copy its bytes. For a few sequences per program: they are searched one after another.
  RawBuf& fixed(void (*emit)(asmjit::x86::Assembler&));
  // Where the next byte added lands in the code buffer.
  size_t offset() const { return a_.offset() + n_; }
  void flush();

 private:
  RawBuf& put(const uint8_t* tmpl, size_t len, const void* tail, size_t tail_len);
  // A template (kMaxTemplate bytes, `len` of them used) and the low `tail_len` bytes of `tail`.
  RawBuf& putTemplate(const uint8_t* tmpl, size_t len, uint64_t tail, size_t tail_len);
  RawBuf& branch(uint8_t opcode, const void* target);
  RawBuf& memOp(bool load, const asmjit::x86::Gp& dst, const asmjit::x86::Gp& base, int32_t disp);

  asmjit::x86::Assembler& a_;
  uint8_t buf_[128];
  size_t n_ = 0;
};

}  // namespace btvm
