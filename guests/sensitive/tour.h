/* The sensitive guest's shared parts: its selectors, fault catching and the report lines.
 *
 * Every instruction under test runs inside CATCH(...) after arm(). A fault in it (#GP, #UD, #NP,
 * ...) is recorded, and the handler resumes after the CATCH block with ESP as it was on entry,
 * so a deprivileged run (btvm --mode trap) gets a WRONG line instead of a hang. */
#pragma once
#include "guest.h"
#include "idt.h"

/* Our GDT slots beyond the library's null/code/data (KERNEL_CS 0x08, KERNEL_DS 0x10). */
#define SEL_TSS 0x58   /* available 32-bit TSS, loaded with LTR */
#define SEL_LDT 0x60   /* our LDT, loaded with LLDT */
#define SEL_DATA0 0x68 /* flat read/write data, DPL 0 */
#define SEL_CODE2 0x70 /* flat code, DPL 0: the far CALL/JMP/RET target */
#define INT_VECTOR 0x40

extern uint32_t cr0_start; /* CR0 as the guest read it at start */
extern uint8_t tss[104];
extern uint64_t ldt[2];

struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint32_t base;
};

/* Used by the CATCH asm by name; ESP is saved and restored through SS (flat in every test),
 * so the block works even while DS holds a selector under test. */
extern volatile uint32_t catch_resume, catch_esp;
#define CATCH(insns)                                                                               \
    "movl %%esp, %%ss:catch_esp\n\tmovl $9f, %%ss:catch_resume\n\t" insns                           \
    "\n9:\tmovl %%ss:catch_esp, %%esp\n\tmovl $0, %%ss:catch_resume\n\t"

void catch_install(void); /* catch vectors 0-31 */
void arm(void);           /* forget the last fault */

enum kind { SETUP, SENSITIVE, PRIVILEGED, IDIOM, KINDS };

/* printf into one of a few rotating buffers: fmt("%04x", v). Knows %s %c %u %x, '-' and '0'
 * flags and a width. */
const char *fmt(const char *f, ...);

/* One line: "NAME: expected X, got Y -> ok" (or "-> WRONG"), counted by check(). If a fault was
 * caught since arm(), it replaces got. ok means the two strings are equal. */
void report(enum kind k, const char *name, const char *expected, const char *got);
void no_fault(enum kind k, const char *name); /* report(k, name, "no fault", "no fault") */

void privileged_tour(void);
void t_timer_idiom(void); /* ticks.c: does the timer come back after pushf;cli;popf? */
void summary(void) __attribute__((noreturn)); /* the totals, then finish("sensitive") */
