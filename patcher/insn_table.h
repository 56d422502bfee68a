// The instruction-class table: one row per Capstone instruction ID that btvm implements, saying
// how the translator handles it and whether it is privileged or sensitive (and why). Capstone's own
// groups are not used: X86_GRP_PRIVILEGE is wrong in both directions (see notes/toolchain.md).
// An ID without a row raises #UD in the guest and is counted by mnemonic in --stats.
#pragma once
#include <cstdint>

namespace btvm {

// How the translator emits an instruction.
enum class Emit : uint8_t {
  Generic,    // the same host instruction, memory operand rebuilt through the access path
  BitMem,     // BT/BTS/BTR/BTC: a register bit offset also moves the memory address
  Lea,        // address arithmetic only, no access
  Nop,        // nothing (also NOP r/m, which must not touch memory)
  Xlat,
  Push, Pop, Pusha, Popa, Leave,
  Jmp, Jcc, Loop, Call, Ret,  // near control flow, chained or looked up inline
  Helper,     // a call to a VMM helper (HelperId), inline in translated code
  Undefined,  // #UD (UD2, and encodings Capstone decodes but hardware rejects)
};

// VMM helpers: one C++ function per instruction meaning, used by every mode.
enum class HelperId : uint8_t {
  None,
  Div, Idiv, Daa, Das, Aaa, Aas, Aam, Aad, Salc, Bound, Arpl, Enter,
  Cld, Std, Cli, Sti, Pushf, Popf, Cpuid, Rdtsc, Rdmsr, Wrmsr, Hlt,
  String, In, Out, Ins, Outs,
  MovToSeg, MovFromSeg, PushSeg, PopSeg, LoadFarPtr,
  JmpFar, CallFar, RetFar, Int, Int1, Int3, Into, Iret,
  Lgdt, Lidt, Sgdt, Sidt, Lldt, Sldt, Ltr, Str, Lmsw, Smsw, Clts,
  MovToCr, MovFromCr, MovToDr, MovFromDr, Invlpg, Invd, Wbinvd,
  Lar, Lsl, Verr, Verw,
  Fpu,  // every x87 instruction and WAIT (emu/cpu/fpu.h)
  Sysenter, Sysexit,
  Count
};

namespace cls {  // InsnRow::cls bits
constexpr uint16_t kPrivileged = 1 << 0;  // faults at CPL > 0 (or per IOPL): a VMM sees it trap
constexpr uint16_t kSensitive = 1 << 1;   // reads or writes privileged state without faulting
constexpr uint16_t kBlockEnd = 1 << 2;    // ends a translation block
constexpr uint16_t kIopl = 1 << 3;        // privileged only when CPL > IOPL (CLI, STI, IN, OUT...)
constexpr uint16_t kSegChange = 1 << 4;   // changes segment state the block was keyed on
}  // namespace cls

// Operand forms that share a Capstone ID but not a meaning (MOV to CR0 is not MOV to EAX).
enum class Form : uint8_t { Plain, ToSeg, FromSeg, ToCr, FromCr, ToDr, FromDr };

struct InsnRow {
  unsigned id;          // Capstone X86_INS_*
  Form form;
  Emit emit;
  HelperId helper;
  uint16_t cls;
  const char* why;      // why it is privileged or sensitive, empty otherwise
};

// nullptr when btvm does not implement the instruction in that form.
const InsnRow* findInsn(unsigned capstone_id, Form form = Form::Plain);
// Every row, for tests and documentation.
const InsnRow* insnTable(unsigned* count);
const char* helperName(HelperId h);

}  // namespace btvm
