#include "patcher/insn_table.h"

#include <capstone/capstone.h>

#include <array>

namespace btvm {
namespace {

using enum Emit;
using H = HelperId;
constexpr uint16_t P = cls::kPrivileged, S = cls::kSensitive, E = cls::kBlockEnd, I = cls::kIopl,
                   G = cls::kSegChange;

#define GEN(id) {X86_INS_##id, Form::Plain, Generic, H::None, 0, ""}
#define ROW(id, emit, cls_, why) {X86_INS_##id, Form::Plain, emit, H::None, cls_, why}
#define HLP(id, h, cls_, why) {X86_INS_##id, Form::Plain, Helper, H::h, cls_, why}
#define FPU(id) {X86_INS_##id, Form::Plain, Helper, H::Fpu, 0, ""}
#define FRM(id, form, h, cls_, why) {X86_INS_##id, Form::form, Helper, H::h, cls_, why}

constexpr InsnRow kRows[] = {
    // Integer ALU: re-emitted as the same host instruction.
    GEN(ADD), GEN(OR), GEN(ADC), GEN(SBB), GEN(AND), GEN(SUB), GEN(XOR), GEN(CMP), GEN(TEST),
    GEN(MOV), GEN(MOVZX), GEN(MOVSX), GEN(INC), GEN(DEC), GEN(NEG), GEN(NOT),
    GEN(SHL), GEN(SAL), GEN(SHR), GEN(SAR), GEN(ROL), GEN(ROR), GEN(RCL), GEN(RCR),
    GEN(SHLD), GEN(SHRD), GEN(BSF), GEN(BSR), GEN(BSWAP), GEN(XCHG), GEN(XADD),
    GEN(CMPXCHG), GEN(CMPXCHG8B), GEN(MUL), GEN(IMUL), GEN(CBW), GEN(CWDE), GEN(CWD), GEN(CDQ),
    GEN(CLC), GEN(STC), GEN(CMC), GEN(LAHF), GEN(SAHF),
    GEN(CMOVA), GEN(CMOVAE), GEN(CMOVB), GEN(CMOVBE), GEN(CMOVE), GEN(CMOVG), GEN(CMOVGE),
    GEN(CMOVL), GEN(CMOVLE), GEN(CMOVNE), GEN(CMOVNO), GEN(CMOVNP), GEN(CMOVNS), GEN(CMOVO),
    GEN(CMOVP), GEN(CMOVS),
    GEN(SETA), GEN(SETAE), GEN(SETB), GEN(SETBE), GEN(SETE), GEN(SETG), GEN(SETGE), GEN(SETL),
    GEN(SETLE), GEN(SETNE), GEN(SETNO), GEN(SETNP), GEN(SETNS), GEN(SETO), GEN(SETP), GEN(SETS),
    ROW(BT, BitMem, 0, ""), ROW(BTS, BitMem, 0, ""), ROW(BTR, BitMem, 0, ""), ROW(BTC, BitMem, 0, ""),
    ROW(LEA, Lea, 0, ""), ROW(NOP, Nop, 0, ""), ROW(PAUSE, Nop, 0, ""), ROW(XLATB, Xlat, 0, ""),
    ROW(UD2, Undefined, 0, ""), ROW(UD2B, Undefined, 0, ""),

    // Stack: lowered to loads and stores at SS:ESP (64-bit PUSH/POP are 8 bytes wide).
    ROW(PUSH, Push, 0, ""), ROW(POP, Pop, 0, ""), ROW(PUSHAL, Pusha, 0, ""), ROW(PUSHAW, Pusha, 0, ""),
    ROW(POPAL, Popa, 0, ""), ROW(POPAW, Popa, 0, ""), ROW(LEAVE, Leave, 0, ""),
    HLP(ENTER, Enter, 0, ""),

    // Near control flow.
    ROW(JMP, Jmp, E, ""), ROW(CALL, Call, E, ""), ROW(RET, Ret, E, ""),
    ROW(JA, Jcc, E, ""), ROW(JAE, Jcc, E, ""), ROW(JB, Jcc, E, ""), ROW(JBE, Jcc, E, ""),
    ROW(JE, Jcc, E, ""), ROW(JG, Jcc, E, ""), ROW(JGE, Jcc, E, ""), ROW(JL, Jcc, E, ""),
    ROW(JLE, Jcc, E, ""), ROW(JNE, Jcc, E, ""), ROW(JNO, Jcc, E, ""), ROW(JNP, Jcc, E, ""),
    ROW(JNS, Jcc, E, ""), ROW(JO, Jcc, E, ""), ROW(JP, Jcc, E, ""), ROW(JS, Jcc, E, ""),
    ROW(JECXZ, Loop, E, ""), ROW(JCXZ, Loop, E, ""), ROW(LOOP, Loop, E, ""), ROW(LOOPE, Loop, E, ""),
    ROW(LOOPNE, Loop, E, ""),

    // Instructions whose encodings are invalid or different in 64-bit mode: VMM helpers.
    HLP(DIV, Div, 0, ""), HLP(IDIV, Idiv, 0, ""), HLP(DAA, Daa, 0, ""), HLP(DAS, Das, 0, ""),
    HLP(AAA, Aaa, 0, ""), HLP(AAS, Aas, 0, ""), HLP(AAM, Aam, 0, ""), HLP(AAD, Aad, 0, ""),
    HLP(SALC, Salc, 0, ""), HLP(BOUND, Bound, 0, ""), HLP(CLD, Cld, 0, ""), HLP(STD, Std, 0, ""),
    HLP(CPUID, Cpuid, S, "reports the host CPU unless virtualized"),
    HLP(RDTSC, Rdtsc, S, "reads the host time-stamp counter unless virtualized"),
    HLP(MOVSB, String, 0, ""), HLP(MOVSW, String, 0, ""), HLP(MOVSD, String, 0, ""),
    HLP(STOSB, String, 0, ""), HLP(STOSW, String, 0, ""), HLP(STOSD, String, 0, ""),
    HLP(LODSB, String, 0, ""), HLP(LODSW, String, 0, ""), HLP(LODSD, String, 0, ""),
    HLP(CMPSB, String, 0, ""), HLP(CMPSW, String, 0, ""), HLP(CMPSD, String, 0, ""),
    HLP(SCASB, String, 0, ""), HLP(SCASW, String, 0, ""), HLP(SCASD, String, 0, ""),

    // Privileged: fault at CPL > 0, so a trap-and-emulate VMM sees them.
    HLP(HLT, Hlt, P | E, "stops the CPU until an interrupt"),
    HLP(CLI, Cli, P | I, "clears the interrupt flag (IOPL-sensitive)"),
    HLP(STI, Sti, P | I | E, "sets the interrupt flag (IOPL-sensitive); interrupts may be taken"),
    HLP(IN, In, P | I, "reads an I/O port (IOPL-sensitive)"),
    HLP(OUT, Out, P | I, "writes an I/O port (IOPL-sensitive)"),
    HLP(INSB, Ins, P | I, "reads an I/O port (IOPL-sensitive)"), HLP(INSW, Ins, P | I, "reads an I/O port (IOPL-sensitive)"),
    HLP(INSD, Ins, P | I, "reads an I/O port (IOPL-sensitive)"),
    HLP(OUTSB, Outs, P | I, "writes an I/O port (IOPL-sensitive)"), HLP(OUTSW, Outs, P | I, "writes an I/O port (IOPL-sensitive)"),
    HLP(OUTSD, Outs, P | I, "writes an I/O port (IOPL-sensitive)"),
    HLP(LGDT, Lgdt, P, "loads the GDT register"), HLP(LIDT, Lidt, P, "loads the IDT register"),
    HLP(LLDT, Lldt, P, "loads the LDT register"), HLP(LTR, Ltr, P, "loads the task register"),
    HLP(LMSW, Lmsw, P | E, "writes CR0's low bits"), HLP(CLTS, Clts, P, "clears CR0.TS"),
    HLP(INVLPG, Invlpg, P | E, "invalidates a TLB entry"), HLP(INVD, Invd, P, "invalidates caches"),
    HLP(WBINVD, Wbinvd, P, "writes back and invalidates caches"),
    HLP(RDMSR, Rdmsr, P, "reads a model-specific register"),
    HLP(WRMSR, Wrmsr, P | E, "writes a model-specific register"),
    HLP(SYSENTER, Sysenter, P | E | G, "enters ring 0 through MSRs the VMM owns: a deprivileged kernel's VMM receives it"),
    HLP(SYSEXIT, Sysexit, P | E | G, "returns to ring 3 (CPL 0 only)"),

    // The 17 sensitive but unprivileged instructions of Robin and Irvine (2000).
    HLP(SGDT, Sgdt, S, "stores the GDT register: shows the VMM's GDT to a deprivileged guest"),
    HLP(SIDT, Sidt, S, "stores the IDT register: shows the VMM's IDT to a deprivileged guest"),
    HLP(SLDT, Sldt, S, "stores the LDT selector: shows the VMM's LDT"),
    HLP(STR, Str, S, "stores the task register: shows the VMM's TSS selector"),
    HLP(SMSW, Smsw, S, "stores CR0's low bits: shows the real CR0 (PE, TS...)"),
    HLP(PUSHF, Pushf, S, "pushes EFLAGS: shows the real IF and IOPL"),
    HLP(PUSHFD, Pushf, S, "pushes EFLAGS: shows the real IF and IOPL"),
    HLP(POPF, Popf, S | E, "pops EFLAGS: silently keeps IF and IOPL when deprivileged"),
    HLP(POPFD, Popf, S | E, "pops EFLAGS: silently keeps IF and IOPL when deprivileged"),
    HLP(LAR, Lar, S, "reads descriptor rights checked against the real CPL"),
    HLP(LSL, Lsl, S, "reads a segment limit checked against the real CPL"),
    HLP(VERR, Verr, S, "checks readability against the real CPL"),
    HLP(VERW, Verw, S, "checks writability against the real CPL"),
    FRM(MOV, ToSeg, MovToSeg, S | E | G, "MOV to a segment register: descriptor checked against the real CPL"),
    FRM(MOV, FromSeg, MovFromSeg, S, "MOV from a segment register: shows the real RPL of CS and SS"),
    FRM(PUSH, FromSeg, PushSeg, S, "PUSH of a segment register: shows the real RPL of CS and SS"),
    FRM(POP, ToSeg, PopSeg, S | E | G, "POP to a segment register: descriptor checked against the real CPL"),
    HLP(LJMP, JmpFar, S | E | G, "far JMP: checks the new CS against the real CPL"),
    HLP(LCALL, CallFar, S | E | G, "far CALL: checks the new CS against the real CPL"),
    HLP(RETF, RetFar, S | E | G, "far RET: checks the return CS's RPL against the real CPL"),
    HLP(INT, Int, S | E | G, "INT n: gate DPL checked against the real CPL"),
    HLP(INT3, Int3, S | E | G, "INT3: gate DPL checked against the real CPL"),
    HLP(INTO, Into, S | E | G, "INTO: gate DPL checked against the real CPL"),
    HLP(INT1, Int1, E | G, ""),
    // Not in the SDM's privileged list: at CPL 3 it silently keeps IF and IOPL, like POPF, and
    // faults only when returning to an inner level.
    HLP(IRET, Iret, S | E | G, "IRET: keeps IF/IOPL at CPL > 0; returning inwards faults"),
    HLP(IRETD, Iret, S | E | G, "IRET: keeps IF/IOPL at CPL > 0; returning inwards faults"),
    HLP(LDS, LoadFarPtr, S | E | G, "loads a segment register: real RPL and descriptor checks"),
    HLP(LES, LoadFarPtr, S | E | G, "loads a segment register: real RPL and descriptor checks"),
    HLP(LFS, LoadFarPtr, S | E | G, "loads a segment register: real RPL and descriptor checks"),
    HLP(LGS, LoadFarPtr, S | E | G, "loads a segment register: real RPL and descriptor checks"),
    HLP(LSS, LoadFarPtr, S | E | G, "loads a segment register: real RPL and descriptor checks"),
    HLP(ARPL, Arpl, 0, ""),
    FRM(MOV, ToCr, MovToCr, P | E, "writes a control register (paging, protection)"),
    FRM(MOV, FromCr, MovFromCr, P, "reads a control register"),
    FRM(MOV, ToDr, MovToDr, P, "writes a debug register"),
    FRM(MOV, FromDr, MovFromDr, P, "reads a debug register"),

    // The x87 FPU: one helper decodes the escape opcode and ModRM itself (emu/cpu/fpu.cpp) and
    // raises #UD for what a P6 lacks, so every ID Capstone gives a D8..DF encoding has a row,
    // FISTTP (SSE3) excepted. FSTPNCE is Capstone's name for D9 D8..DF, the FSTP1 alias.
    FPU(F2XM1), FPU(FABS), FPU(FADD), FPU(FADDP), FPU(FIADD), FPU(FBLD), FPU(FBSTP), FPU(FCHS),
    FPU(FCMOVB), FPU(FCMOVBE), FPU(FCMOVE), FPU(FCMOVNB), FPU(FCMOVNBE), FPU(FCMOVNE),
    FPU(FCMOVNU), FPU(FCMOVU), FPU(FCOM), FPU(FCOMP), FPU(FCOMPP), FPU(FCOMI), FPU(FCOMIP),
    FPU(FUCOM), FPU(FUCOMP), FPU(FUCOMPP), FPU(FUCOMI), FPU(FUCOMIP), FPU(FICOM), FPU(FICOMP),
    FPU(FCOS), FPU(FSIN), FPU(FSINCOS), FPU(FPTAN), FPU(FPATAN), FPU(FYL2X), FPU(FYL2XP1),
    FPU(FDIV), FPU(FDIVP), FPU(FIDIV), FPU(FDIVR), FPU(FDIVRP), FPU(FIDIVR),
    FPU(FMUL), FPU(FMULP), FPU(FIMUL), FPU(FSUB), FPU(FSUBP), FPU(FISUB), FPU(FSUBR),
    FPU(FSUBRP), FPU(FISUBR), FPU(FDECSTP), FPU(FINCSTP), FPU(FFREE), FPU(FFREEP),
    FPU(FLD), FPU(FILD), FPU(FLD1), FPU(FLDZ), FPU(FLDPI), FPU(FLDL2E), FPU(FLDL2T),
    FPU(FLDLG2), FPU(FLDLN2), FPU(FLDCW), FPU(FLDENV), FPU(FRSTOR),
    FPU(FST), FPU(FSTP), FPU(FSTPNCE), FPU(FIST), FPU(FISTP), FPU(FXCH),
    FPU(FNCLEX), FPU(FNINIT), FPU(FNOP), FPU(FNSAVE), FPU(FNSTCW), FPU(FNSTENV), FPU(FNSTSW),
    FPU(FENI8087_NOP), FPU(FDISI8087_NOP), FPU(FSETPM),
    FPU(FPREM), FPU(FPREM1), FPU(FRNDINT), FPU(FSCALE), FPU(FSQRT), FPU(FTST), FPU(FXAM),
    FPU(FXTRACT), FPU(WAIT),
};
#undef GEN
#undef ROW
#undef HLP
#undef FRM
#undef FPU

// Rows in other forms than Plain are few: found by a scan of the table's tail.
struct Index {
  std::array<const InsnRow*, X86_INS_ENDING> by_id{};
  Index() {
    for (const InsnRow& r : kRows)
      if (r.form == Form::Plain) by_id[r.id] = &r;
  }
};
const Index kIndex;

}  // namespace

const InsnRow* findInsn(unsigned id, Form form) {
  if (id >= X86_INS_ENDING) return nullptr;
  if (form == Form::Plain) return kIndex.by_id[id];
  for (const InsnRow& r : kRows)
    if (r.id == id && r.form == form) return &r;
  return nullptr;
}

const InsnRow* insnTable(unsigned* count) {
  *count = sizeof(kRows) / sizeof(kRows[0]);
  return kRows;
}

const char* helperName(HelperId h) {
  static const char* const kNames[] = {
      "none", "div", "idiv", "daa", "das", "aaa", "aas", "aam", "aad", "salc", "bound", "arpl",
      "enter", "cld", "std", "cli", "sti", "pushf", "popf", "cpuid", "rdtsc", "rdmsr", "wrmsr",
      "hlt", "string", "in", "out", "ins", "outs", "mov_to_seg", "mov_from_seg", "push_seg",
      "pop_seg", "load_far_ptr", "jmp_far", "call_far", "ret_far", "int", "int1", "int3", "into",
      "iret", "lgdt", "lidt", "sgdt", "sidt", "lldt", "sldt", "ltr", "str", "lmsw", "smsw", "clts",
      "mov_to_cr", "mov_from_cr", "mov_to_dr", "mov_from_dr", "invlpg", "invd", "wbinvd", "lar",
      "lsl", "verr", "verw", "fpu", "sysenter", "sysexit"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == size_t(HelperId::Count));
  return kNames[size_t(h)];
}

}  // namespace btvm
