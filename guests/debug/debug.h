/* The debug guest: IA-32 debug registers and debug exceptions, checked against the Intel SDM
 * (vol. 3 ch. 17; vol. 2 MOV DR, INT1/INT3). Shared helpers of its test files. */
#pragma once
#include "../exceptions/expect.h"
#include "../paging/pg.h" /* read_cr4/write_cr4, ring 3 */

#define DR6_FIXED 0xFFFF0FF0u /* reserved bits of DR6 as a P6 reads them */
#define DR6_BD 0x2000u
#define DR6_BS 0x4000u
#define DR7_FIXED 0x400u /* bit 10 reads 1 */
#define DR7_GD 0x2000u
#define CR4_DE 0x8u

/* DR7 bits enabling breakpoint n locally (Ln) with R/W (0 execute, 1 write, 2 I/O, 3 read or
 * write) and LEN (0: 1 byte, 1: 2 bytes, 3: 4 bytes). */
#define DR7_BP(n, rw, len) ((1u << (2 * (n))) | ((uint32_t)(rw) << (16 + 4 * (n))) | ((uint32_t)(len) << (18 + 4 * (n))))

#define WR_DR(n, v) __asm__ volatile("mov %0, %%dr" #n ::"r"((uint32_t)(v)) : "memory")
#define RD_DR(n) ({ uint32_t v_; __asm__ volatile("mov %%dr" #n ", %0" : "=r"(v_)::"memory"); v_; })


/* What the #DB hook saw at each trap (index as trap_log). */
extern volatile uint32_t db_dr6[TRAP_LOG], db_dr7[TRAP_LOG];
extern volatile int db_set_rf;          /* set RF in each #DB frame (to go on after an instruction breakpoint) */
extern volatile int db_keep_dr6;        /* leave DR6 as it is (else the hook clears it after reading) */
extern volatile uint32_t db_stop_eip;   /* a #DB that returns here clears TF in its frame */
extern volatile uint32_t ud_resume;     /* a #UD returns here */

/* trap_arm() with the #DB hook, DR6 cleared, every breakpoint off. */
void db_arm(void);
/* Every breakpoint off, DR6 cleared. */
void db_reset(void);
/* Expects trap k to be a #DB saving `eip` with DR6 = dr6 in the handler. */
void expect_db(const char *name, uint32_t k, uint32_t eip, uint32_t dr6);
/* Expects one fault of `vector` at the TRY() instruction with RF = 1 in the frame (not
 * expect_fault: it compares CS and EFLAGS, which a deprivileged kernel reads differently). */
void expect_db_fault(const char *name, uint32_t vector);

void t_registers(void);
void t_instruction_breakpoints(void);
void t_data_breakpoints(void);
void t_single_step(void);
void t_user(void);
