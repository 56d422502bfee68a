/* tasks: shared declarations of the call-gate, task-switch and I/O-bitmap checks.
 * The guest runs on its own 64-entry GDT (slots 0-5 copied from the library's after
 * ring3_setup: null, KERNEL_CS, KERNEL_DS, USER_CS, USER_DS, the library TSS at TSS_SEL). */
#pragma once
#include "../exceptions/expect.h"
#include "../paging/pg.h"

#define SEL_GATE32 0x30    /* 32-bit call gate, DPL 3, 3 dwords -> KERNEL_CS:gate32_target */
#define SEL_GATE16 0x38    /* 16-bit call gate, DPL 3, 2 words -> SEL_G16CS:0 */
#define SEL_G16CS 0x40     /* ring-0 code, base = gate16_target */
#define SEL_CONF0 0x48     /* conforming code, DPL 0, flat */
#define SEL_CONF3 0x50     /* conforming code, DPL 3, flat */
#define SEL_GATE_D0 0x58   /* call gate DPL 0 -> KERNEL_CS:gate32_target */
#define SEL_GATE_NP 0x60   /* call gate DPL 3, not present */
#define SEL_GATE_NPCS 0x68 /* call gate DPL 3 -> SEL_NPCODE */
#define SEL_NPCODE 0x70    /* code DPL 0, not present */
#define SEL_GATE_DATA 0x78 /* call gate DPL 3 -> KERNEL_DS (not code) */
#define SEL_GATE_NULL 0x80 /* call gate DPL 3 -> null selector */
#define SEL_R1CS 0x88      /* code DPL 1, flat */
#define SEL_GATE_R1 0x90   /* call gate DPL 3 -> SEL_R1CS (TSS.SS1 is unusable: #TS) */
#define SEL_GATE_CONF 0x98 /* call gate DPL 3 -> SEL_CONF0:conf_target */
#define SEL_TSS_B 0xA0     /* 32-bit TSS, own CR3 */
#define SEL_TSS_C 0xA8     /* 16-bit TSS */
#define SEL_TSS_D 0xB0     /* 32-bit TSS, returns by IRET */
#define SEL_TSS_E 0xB8     /* exception task (#GP, #DF) */
#define SEL_TSS_F 0xC0     /* its DS selector is beyond the GDT: #TS after the commit */
#define SEL_TSS_SMALL 0xC8 /* limit 0x60 < 0x67 */
#define SEL_TSS_NP 0xD0    /* not present */
#define SEL_TGATE_B 0xD8   /* task gate -> SEL_TSS_B */
#define SEL_LDT 0xE0       /* LDT: entry 0 is a task gate -> SEL_TSS_D */
#define SEL_C16SS 0xE8     /* 16-bit stack (B = 0), DPL 0, for task C */
#define SEL_C16CS 0xF0     /* code, base = task_c_entry */
#define SEL_TSS_IO 0xF8    /* 32-bit TSS with an I/O permission bitmap */
#define SEL_U16SS 0x103    /* 16-bit stack (B = 0), DPL 3, RPL 3 */
#define SEL_LTGATE_D 0x04  /* LDT entry 0 */
#define SEL_BEYOND 0x200   /* past the GDT limit */

#define ABORTED 0xAB0127u

void gdt_put(uint16_t sel, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
void gate_put(uint64_t *slot, uint16_t sel, uint32_t off, uint8_t access, uint8_t params);
uint64_t gdt_raw(uint16_t sel);
extern uint64_t big_gdt[64];
extern int deprivileged;

/* A 32-bit TSS as an array of dwords (SDM figure 7-2). */
#define T_LINK 0
#define T_ESP0 1
#define T_SS0 2
#define T_ESP1 3
#define T_SS1 4
#define T_CR3 7
#define T_EIP 8
#define T_EFLAGS 9
#define T_EAX 10
#define T_ESP 14
#define T_ES 18
#define T_CS 19
#define T_SS 20
#define T_DS 21
#define T_FS 22
#define T_GS 23
#define T_LDT 24
#define T_IOMAP 25

/* Ring-3 faults: the recorder's hook ends the ring-3 run with ABORTED. */
uint32_t run_user(void *fn);
uint32_t run_user_iopl(void *fn, uint32_t iopl);
void expect_kernel_fault(const char *name, uint32_t vector, uint32_t err);
void expect_user_fault(const char *name, uint32_t vector, uint32_t err);

void gates_tests(void);
void switch_setup(void);
void switch_tests(void);
void iomap_tests(void);

/* tasks_asm.asm */
extern char gate32_target[], gate16_target[], gate16_end[], conf_target[], r1_target[];
extern char r3_gate32_ret[], task_c_entry[], task_c_end[], exc_task_entry[];
extern volatile uint32_t g_frame[8], g_esp, g_ss, g_cs, r3_esp_before, r3_esp_after, r3_ds, r3_es, r3_fs, r3_cs;
extern volatile uint32_t conf_cs, g16_ip_before;
extern volatile uint32_t c_flags, c_ran, exc_err, exc_flags, exc_count, exc_resume;
uint32_t r3_gate32(void);
uint32_t r3_gate16(void);
uint32_t r3_conf_direct(void);
uint32_t r3_conf_gate(void);
uint32_t r3_conf_jmp(void);
uint32_t r3_far(void); /* lcall through r3_far_ptr */
extern volatile uint32_t r3_far_ptr[2];
uint32_t r3_far_jmp(void); /* ljmp through r3_far_ptr */
uint64_t *ldt_slot(int i);
extern char r3_g16_seg[], r3_g16_ret[], task_c_after_iret[];
extern volatile uint32_t exc_saved_eip;
#define SEL_U3CODE 0x10B   /* ring-3 code, base = r3_g16_seg */
