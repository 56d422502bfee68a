/* A small virtual-8086 monitor for the v86 guest (Intel SDM vol. 3 ch. 20.2-20.3).
 *
 * v86_go() enters v8086 mode by IRET (v86_run in v86_code.asm) and comes back when the program
 * executes HLT, which raises #GP(0) in v8086 mode at any IOPL. Every other trap taken from
 * v8086 mode is recorded (vector, error code, the whole ring-0 frame: EIP, CS, EFLAGS, ESP, SS,
 * ES, DS, FS, GS, and what the handler found in its segment registers), then handed to the
 * test's hook; without a hook, or when the hook returns 0, the program ends there too. A hook
 * that returns 1 has emulated or fixed something and IRETs back into v8086 mode. */
#pragma once
#include "../exceptions/expect.h"
#include "../paging/pg.h"

#define FL_IOPL3 0x3000u
#define FL_VM 0x20000u
#define FL_VIF 0x80000u
#define FL_VIP 0x100000u

#define V86_CODE_SEG 0x1000u  /* the blob of v86_code.asm, copied to linear 0x10000 */
#define V86_STACK_SEG 0x2000u /* SS:SP = 0x2000:0x1000 at every entry */
#define V86_STACK_TOP 0x1000u
#define V86_IRQ0_VECTOR 0x20u /* the master 8259's base, for the timer check */

/* The registers of a v8086 program, in and out (v86_run's layout). */
struct v86_regs {
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t eip, eflags, cs, ss, ds, es, fs, gs;
};

/* The ring-0 frame of a trap from v8086 mode: the library's trap_frame (user_esp, user_ss are
 * the v8086 SS:ESP), then the data segment registers the CPU pushed first. */
struct v86_frame {
    struct trap_frame t;
    uint32_t es, ds, fs, gs;
};

struct v86_trap {
    uint32_t vector, error_code, eip, cs, eflags, esp, ss, es, ds, fs, gs;
    uint32_t h_ds, h_es, h_fs, h_gs, h_if; /* segment registers and IF inside the handler */
    uint32_t frame_end;                     /* one past the frame: TSS.ESP0 */
    uint32_t cr2;
};

#define V86_TRAPS 8
extern volatile struct v86_trap v86_log[V86_TRAPS];
extern volatile uint32_t v86_traps;         /* traps taken by the last v86_go (not its HLT) */
extern struct v86_regs v86_out;             /* the registers at the program's HLT */
extern volatile uint32_t v86_exit_eflags;   /* EFLAGS at that HLT, as pushed */
extern int (*volatile v86_hook)(struct v86_frame *f);
extern uint32_t *v86_esp0;                  /* ESP0 of the TSS in TR: v86_run's stack goes there */

/* Program `prog` (a label of v86_code.asm) at CS = V86_CODE_SEG with the given EFLAGS (VM is
 * added) and data segments; EAX..EDI from `in` if not null (else 0), and the high half of the
 * EIP image too (IRET to v8086 mode drops it). Returns 1 if it ended with its HLT, 0 if a trap
 * ended it. */
int v86_go(const void *prog, uint32_t eflags, uint16_t ds, uint16_t es, uint16_t fs, uint16_t gs,
           const struct v86_regs *in);
uint16_t v86_off(const void *label);       /* the label's offset in the blob (IP) */
/* Runs `prog` (DS = ES = FS = GS = 0x2000, no hook); its instruction at `insn` must trap once
 * with this vector and error code, saving that instruction's CS:IP and the EFLAGS it ran with. */
void v86_expect_fault(const char *name, const void *prog, const void *insn, uint32_t eflags,
                      uint32_t vector, uint32_t err);
void v86_monitor_install(void);            /* copies the blob, installs the trap handlers */

/* The BIOS-call monitor: reflects INT n into the v8086 program's IVT, emulates IRET, CLI and
 * STI against a virtual IF (v86_vif) when IOPL < 3 made them trap. Counts what it emulated. */
int v86_reflect_hook(struct v86_frame *f);
extern volatile uint32_t v86_vif, v86_emulated;
