// Capstone operands -> guest register numbers and host (AsmJit) operands.
#pragma once
#include <asmjit/x86.h>
#include <capstone/capstone.h>

namespace btvm {

// Guest GPR number (EAX=0 .. EDI=7) of a 32- or 16-bit register, -1 otherwise.
int gprIndex(x86_reg r);
// Number in ModRM order of any GPR (8-bit: AL,CL,DL,BL,AH,CH,DH,BH = 0..7), -1 otherwise.
int regNumber(x86_reg r);
// ES=0..GS=5, -1 if not a segment register.
int segIndex(x86_reg r);
// CR0..CR7 / DR0..DR7 -> 0..7, -1 otherwise.
int crIndex(x86_reg r);
int drIndex(x86_reg r);
// The host register that holds a guest GPR of any width; an invalid Gp if none.
asmjit::x86::Gp hostReg(x86_reg r);
bool isHighByte(x86_reg r);
// Capstone instruction ID -> AsmJit instruction ID (by name), kIdNone when AsmJit lacks it.
asmjit::InstId asmjitId(unsigned capstone_id);
// Segment override prefix of an instruction, or -1.
int segmentOverride(const cs_x86& x);
// Operand size of the instruction in bytes: the code segment's default (2 when CS.D = 0, else
// 4), the other one with a 0x66 prefix.
inline unsigned operandSize(const cs_x86& x, bool code16) { return (x.prefix[2] == 0x66) != code16 ? 2 : 4; }
// Element size of a string instruction, from the opcode and the operand size, not the mnemonic:
// Capstone 4 names "66 f3 ab" REP STOSD.
inline unsigned stringSize(const cs_x86& x, bool code16) {
  return (x.opcode[0] & 1) ? operandSize(x, code16) : 1;  // A4 A6 AA AC AE 6C 6E: byte forms
}

}  // namespace btvm
