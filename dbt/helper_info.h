// The second argument of every VMM helper called from translated code: what the instruction's
// operands are, packed in 64 bits, so one C++ function serves every encoding of an instruction.
// The first argument (R10) is the memory operand's effective address (segment offset) when the
// instruction has one, else the value of its register or immediate source.
#pragma once
#include <cstdint>

namespace btvm::hinfo {

// bits 0..7 instruction length, 8..11 operand size in bytes, 12..14 segment of the memory operand,
// 15 the instruction has a memory operand, 16..19 the first register operand (GPR in ModRM
// order, or sreg / CR / DR number), 20..23 the second register operand, 24..25 REP prefix
// (1 = REP/REPE, 2 = REPNE), 26 16-bit address size, 27..31 a sub-operation (string op, segment
// of LxS), 32..47 first immediate, 48..55 second immediate, 56 the instruction has an immediate,
// 57 the instruction ends its block and the helper returns where translated code goes on
// (emu/helper_exit.h).
struct Info {
  uint8_t length, size, seg, rm_is_mem, reg, rm, rep, addr16, sub, has_imm, ends_block;
  uint16_t imm;
  uint8_t imm2;
};

constexpr uint64_t pack(const Info& i) {
  return uint64_t(i.length) | uint64_t(i.size & 15) << 8 | uint64_t(i.seg & 7) << 12 |
         uint64_t(i.rm_is_mem & 1) << 15 | uint64_t(i.reg & 15) << 16 | uint64_t(i.rm & 15) << 20 |
         uint64_t(i.rep & 3) << 24 | uint64_t(i.addr16 & 1) << 26 | uint64_t(i.sub & 31) << 27 |
         uint64_t(i.imm) << 32 | uint64_t(i.imm2) << 48 | uint64_t(i.has_imm & 1) << 56 |
         uint64_t(i.ends_block & 1) << 57;
}

constexpr Info unpack(uint64_t v) {
  Info i{};
  i.length = uint8_t(v);
  i.size = (v >> 8) & 15;
  i.seg = (v >> 12) & 7;
  i.rm_is_mem = (v >> 15) & 1;
  i.reg = (v >> 16) & 15;
  i.rm = (v >> 20) & 15;
  i.rep = (v >> 24) & 3;
  i.addr16 = (v >> 26) & 1;
  i.sub = (v >> 27) & 31;
  i.imm = uint16_t(v >> 32);
  i.imm2 = uint8_t(v >> 48);
  i.has_imm = (v >> 56) & 1;
  i.ends_block = (v >> 57) & 1;
  return i;
}

// Sub-operations for the string helper.
enum StringOp : uint8_t { kMovs, kStos, kLods, kCmps, kScas, kIns, kOuts };

// Arguments of the memory slow path (R9): size, access kind, segment.
constexpr uint64_t memInfo(unsigned size, unsigned kind /*0 read 1 write 2 rw*/, unsigned seg) {
  return uint64_t(size) | uint64_t(kind) << 8 | uint64_t(seg) << 12;
}

}  // namespace btvm::hinfo
