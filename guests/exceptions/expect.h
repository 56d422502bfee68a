/* Catching expected traps in self-checking guests (used by the exceptions and segments guests).
 *
 * A test arms the recorder, runs one instruction through TRY(), and checks what the CPU pushed:
 *
 *     trap_arm();
 *     __asm__ volatile(TRY("divl %%ecx") : "+a"(a), "+d"(d) : "c"(0) : "memory");
 *     expect_fault("div by 0", 0, 0);
 *
 * TRY records the EFLAGS just before the instruction (trap_flags), its address (trap_insn) and
 * the address after it (trap_next), and sets trap_resume so that a fault returns past the
 * instruction instead of re-running it. Expected values come from the Intel SDM: a fault saves
 * the address of the faulting instruction with the state before it; a trap or INT n saves the
 * address of the next one. */
#pragma once
#include "guest.h"
#include "idt.h"

#define FL_NT 0x4000u
#define FL_RF 0x10000u

struct trap_rec {
    uint32_t vector, error_code, eip, cs, eflags;
    uint32_t eax, ecx, edx, ebx, esi, edi, ebp;
    uint32_t esp; /* ESP of the interrupted code (same privilege: nothing else is pushed) */
    uint32_t ds, es;
    uint32_t handler_eflags; /* EFLAGS inside the handler: shows what the gate cleared */
};

#define TRAP_LOG 8
extern volatile struct trap_rec trap_log[TRAP_LOG]; /* in order taken; nested traps follow */
extern volatile uint32_t trap_count;
extern volatile uint32_t trap_flags, trap_insn, trap_next; /* set by TRY() */
extern volatile uint32_t trap_resume;      /* non-zero: the next trap returns here, then 0 */
extern volatile uint32_t trap_eflags_clear; /* bits the next resumed trap clears in the frame */
extern void (*volatile trap_hook)(struct trap_frame *f); /* runs after each trap is recorded */

/* One instruction under test, between local labels 1 (the instruction) and 2 (after it).
 * pushf/popl and mov to memory change no flags, so trap_flags is the state the CPU sees.
 * The bookkeeping goes through SS (flat in every test) so that a test may load DS first. */
#define TRY(insn) "pushfl\n\tpopl %%ss:trap_flags\n\t" TRY_NO_FLAGS(insn)
/* TRY without recording EFLAGS: moves only, so that the instruction stays in the translator's
 * run of the x87 instructions before it (PUSHF is a VMM call, which ends runs). */
#define TRY_NO_FLAGS(insn)                                                                         \
    "movl $1f, %%ss:trap_insn\n\tmovl $2f, %%ss:trap_next\n\tmovl $2f, %%ss:trap_resume\n"        \
    "1:\t" insn "\n2:\n\t"

/* Checks. Like check()/check_eq() from guest.h, except inside a known reference gap (below). */
void expect(const char *name, int ok);
void expect_eq(const char *name, uint32_t got, uint32_t want);

/* Known deviations of the reference. QEMU's TCG departs from the SDM in a few places (data
 * accesses are not checked against segment limits or rights; faults push RF = 0; INT1 is #UD).
 * When QEMU's fw_cfg device answers (on_qemu), a failing check inside qemu_gap(why) ... is
 * printed as "GAP" and not counted; everywhere else, and on any other machine, it is a check
 * like any other. qemu_gap returns the previous reason so that gaps nest; 0 ends the gap.
 * Bochs 2.7 (CPU models p3_katmai and corei7_skylake_x) passes every GAP check as written. */
extern int on_qemu;
void detect_reference(void);
const char *qemu_gap(const char *why);
void expect_finish(const char *guest) __attribute__((noreturn)); /* finish(), plus the GAP count */

/* Back to the flat data segment inside an asm block, without an input register (gcc may give
 * an input the register of an in/out operand holding the same value). */
#define STR_(x) #x
#define STR(x) STR_(x)
#define FLAT(sreg) "pushl $" STR(KERNEL_DS) "\n\tpopl %%" sreg "\n\t"

void trap_catch(int first, int last); /* record traps of vectors first..last */
void trap_arm(void);                  /* forget earlier traps, hook and resume address */

/* Names for checks: "<a>: <b>", in a static buffer that the next call reuses. */
const char *cat(const char *a, const char *b);

/* A fault: one trap of this vector and error code, saved EIP = the faulting instruction, saved
 * CS = ours, saved EFLAGS = the flags before it with RF set (SDM vol. 3 17.3.1.1: every
 * fault-class exception other than an instruction breakpoint pushes RF = 1; checked apart). */
void expect_fault(const char *name, uint32_t vector, uint32_t error_code);
/* A trap or INT n: saved EIP = the next instruction, saved EFLAGS = the flags before it. */
void expect_trap(const char *name, uint32_t vector);
void expect_none(const char *name); /* no trap at all */

/* IDT access through SIDT, for tests that edit gates (present bit, gate type, limit). */
uint8_t *idt_gate(int vector);
void idt_load(uint32_t base, uint16_t limit);
uint32_t idt_base(void);

static inline uint16_t read_ds(void) { uint16_t v; __asm__ volatile("mov %%ds, %0" : "=r"(v)); return v; }
static inline uint16_t read_ss(void) { uint16_t v; __asm__ volatile("mov %%ss, %0" : "=r"(v)); return v; }
