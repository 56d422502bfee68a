/* Hardware task switching (SDM vol. 3 ch. 7): JMP and CALL to a TSS and through task gates
 * (GDT and LDT), INT n and exceptions through task gates in the IDT (a #GP with its error code,
 * a double fault), IRET with NT; busy bits, NT, the back-link, CR3 and CR0.TS; a 16-bit TSS;
 * #TS/#NP/#GP for bad TSSs and a fault raised in the new task after the commit point. */
#include "tasks.h"

#define TSS32 0x89 /* present, available 32-bit TSS */
#define TSS16 0x81 /* present, available 16-bit TSS */
#define TASK_GATE 0x85
#define BUSY_BIT (1ull << 41)
#define X_VA 0x00800000u /* mapped to a different page in task B's address space */
#define VEC_TASK 0x60

static ptable pd_b, pt_x_a, pt_x_b;
static uint8_t page_a[PAGE] __attribute__((aligned(PAGE)));
static uint8_t page_b[PAGE] __attribute__((aligned(PAGE)));
static uint32_t tss_b[26], tss_d[26], tss_e[26], tss_f[26], tss_small[26];
static uint16_t tss_c[22];
static uint8_t stack_b[4096], stack_d[4096], stack_e[4096], stack_f[4096];
static uint8_t stack_c[4096];

static volatile uint32_t b_runs, b_x, b_flags, b_cr0, b_tr, b_busy_a, b_busy_b, b_link;
static volatile uint32_t d_runs, d_flags, d_tr;
static volatile uint32_t f_seen, f_vector, f_err, f_eip, f_tr;

/* The IDT's gates by the address the library loaded (SIDT would show a deprivileged kernel the
 * VMM's table). */
static uint8_t *gate_at(int vector) { return (uint8_t *)(idt_address() + 8 * (uint32_t)vector); }

static int busy(uint16_t sel) { return (gdt_raw(sel) & BUSY_BIT) != 0; }
static uint16_t str(void) { uint16_t v; __asm__ volatile("str %0" : "=r"(v)); return v; }

static void task_b(void) {
    for (;;) {
        b_runs++;
        b_x = peek(X_VA);
        b_flags = read_eflags();
        b_cr0 = read_cr0();
        b_tr = str();
        b_busy_a = busy(TSS_SEL);
        b_busy_b = busy(SEL_TSS_B);
        b_link = tss_b[T_LINK];
        __asm__ volatile("clts");
        __asm__ volatile("ljmp $" STR(TSS_SEL) ", $0" ::: "memory");
    }
}

static void task_d(void) {
    for (;;) {
        d_runs++;
        d_flags = read_eflags();
        d_tr = str();
        __asm__ volatile("iretl" ::: "memory");
    }
}

static void task_f_never(void) {
    check("task F: its code never runs (the #TS comes first)", 0);
    for (;;)
        __asm__ volatile("hlt");
}

/* #TS in task F: the handler runs in task F; it records and jumps back to task A. */
static void f_hook(struct trap_frame *f) {
    f_seen++;
    f_vector = f->vector;
    f_err = f->error_code;
    f_eip = f->eip;
    f_tr = str();
    __asm__ volatile("ljmp $" STR(TSS_SEL) ", $0" ::: "memory");
}

static void task32(uint32_t *t, void (*entry)(void), uint8_t *stack, uint32_t size, uint32_t cr3) {
    memset(t, 0, 26 * 4);
    t[T_CR3] = cr3;
    t[T_EIP] = (uint32_t)entry;
    t[T_EFLAGS] = 0x2;
    t[T_ESP] = (uint32_t)stack + size;
    t[T_CS] = KERNEL_CS;
    t[T_SS] = t[T_DS] = t[T_ES] = KERNEL_DS;
    t[T_LDT] = SEL_LDT;
    t[T_IOMAP] = 104u << 16;
}

void switch_setup(void) {
    uint32_t cr3 = read_cr3();
    ptable *pd_a = (ptable *)cr3;
    /* Task B's address space: the same as A's but X_VA maps page_b instead of page_a. */
    for (int i = 0; i < 1024; i++)
        pd_b.e[i] = pd_a->e[i];
    pt_x_a.e[0] = (uint32_t)page_a | PG_P | PG_W;
    pt_x_b.e[0] = (uint32_t)page_b | PG_P | PG_W;
    pd_a->e[PDX(X_VA)] = (uint32_t)&pt_x_a | PG_P | PG_W;
    pd_b.e[PDX(X_VA)] = (uint32_t)&pt_x_b | PG_P | PG_W;
    reload_cr3();
    *(volatile uint32_t *)page_a = 0xAAAA0001;
    *(volatile uint32_t *)page_b = 0xBBBB0002;
    tss[T_CR3] = cr3; /* task A's own CR3 and LDT, loaded when a task switches back to it */
    tss[T_LDT] = SEL_LDT;

    task32(tss_b, task_b, stack_b, sizeof stack_b, (uint32_t)&pd_b);
    task32(tss_d, task_d, stack_d, sizeof stack_d, cr3);
    task32(tss_e, (void (*)(void))exc_task_entry, stack_e, sizeof stack_e, cr3);
    task32(tss_f, task_f_never, stack_f, sizeof stack_f, cr3);
    tss_f[T_DS] = SEL_BEYOND;
    task32(tss_small, task_f_never, stack_f, sizeof stack_f, cr3);
    gdt_put(SEL_TSS_B, (uint32_t)tss_b, 103, TSS32, 0);
    gdt_put(SEL_TSS_D, (uint32_t)tss_d, 103, TSS32, 0);
    gdt_put(SEL_TSS_E, (uint32_t)tss_e, 103, TSS32, 0);
    /* DPL 3: under --mode trap the JMP then runs deprivileged and commits before it faults. */
    gdt_put(SEL_TSS_F, (uint32_t)tss_f, 103, TSS32 | GDT_DPL(3), 0);
    gdt_put(SEL_TSS_SMALL, (uint32_t)tss_small, 0x60, TSS32, 0);
    gdt_put(SEL_TSS_NP, (uint32_t)tss_b, 103, TSS32 & 0x7F, 0);
    gate_put(&big_gdt[SEL_TGATE_B >> 3], SEL_TSS_B, 0, TASK_GATE, 0);
    gate_put(ldt_slot(0), SEL_TSS_D, 0, TASK_GATE, 0);

    /* The 16-bit task (SDM figure 7-11): IP 14, FLAGS 16, AX..DI 18.., ES CS SS DS 34.., LDT 42. */
    memset(tss_c, 0, sizeof tss_c);
    tss_c[7] = 0;          /* IP: the code segment is based at task_c_entry */
    tss_c[8] = 0x2;        /* FLAGS */
    tss_c[13] = 0xFF0;     /* SP on the 16-bit stack */
    tss_c[17] = KERNEL_DS; /* ES */
    tss_c[18] = SEL_C16CS;
    tss_c[19] = SEL_C16SS;
    tss_c[20] = KERNEL_DS; /* DS */
    tss_c[21] = SEL_LDT;
    gdt_put(SEL_TSS_C, (uint32_t)tss_c, 43, TSS16, 0);
    gdt_put(SEL_C16SS, (uint32_t)stack_c, sizeof stack_c - 1, GDT_DATA_RW, 0);
    gdt_put(SEL_C16CS, (uint32_t)task_c_entry, 0xFFF, GDT_CODE_RX, GDT_FLAGS_32_BYTE);
}

static void jmp_and_back(void) {
    uint32_t after;
    b_runs = 0;
    __asm__ volatile("clts");
    __asm__ volatile("ljmp $" STR(SEL_TSS_B) ", $0\n\t1: movl $1b, %0" : "=r"(after)::"memory");
    expect_eq("jmp TSS: task B ran", b_runs, 1);
    expect_eq("jmp TSS: CR3 from task B's TSS", b_x, 0xBBBB0002);
    expect_eq("jmp back: CR3 from task A's TSS", peek(X_VA), 0xAAAA0001);
    expect("jmp TSS: CR0.TS set by the switch", (b_cr0 & 8) != 0);
    expect("jmp TSS: NT clear (no nesting)", (b_flags & FL_NT) == 0);
    expect("jmp TSS: old task not busy", !b_busy_a);
    expect("jmp TSS: new task busy", b_busy_b);
    expect_eq("jmp TSS: back-link not written", b_link, 0);
    if (deprivileged)
        printf_s("SKIP jmp TSS: STR (deprivileged kernel)\n");
    else
        expect_eq("jmp TSS: TR", b_tr, SEL_TSS_B);
    expect("jmp back: CR0.TS set", (read_cr0() & 8) != 0);
    expect("jmp back: task B not busy", !busy(SEL_TSS_B));
    expect("jmp back: task A busy", busy(TSS_SEL));
    expect_eq("jmp TSS: A's EIP saved = next instruction", tss[T_EIP], after);
    __asm__ volatile("clts");
    /* Through a task gate in the GDT: B resumes after its own JMP. */
    __asm__ volatile("ljmp $" STR(SEL_TGATE_B) ", $0" ::: "memory");
    expect_eq("jmp task gate: task B ran again", b_runs, 2);
    expect("jmp task gate: B busy while it ran", b_busy_b);
}

static void call_16bit(void) {
    uint32_t after;
    c_ran = 0;
    __asm__ volatile("lcall $" STR(SEL_TSS_C) ", $0\n\t1: movl $1b, %0" : "=r"(after)::"memory");
    expect_eq("call 16-bit TSS: task C ran", c_ran, 1);
    expect("call 16-bit TSS: NT set in task C", (c_flags & FL_NT) != 0);
    expect_eq("call 16-bit TSS: back-link = task A", tss_c[0], TSS_SEL);
    expect_eq("iret: C's IP saved (16-bit)", tss_c[7], (uint32_t)(task_c_after_iret - task_c_entry));
    expect("iret: NT clear in C's saved FLAGS", (tss_c[8] & FL_NT) == 0);
    expect("iret: task C not busy", !busy(SEL_TSS_C));
    expect("iret: task A still busy", busy(TSS_SEL));
    expect("iret: NT clear in task A", (read_eflags() & FL_NT) == 0);
    expect_eq("call: A's EIP saved = next instruction", tss[T_EIP], after);
    __asm__ volatile("lcall $" STR(SEL_TSS_C) ", $0" ::: "memory");
    expect_eq("call 16-bit TSS again: resumes after its IRET", c_ran, 2);
}

static void call_ldt_gate_and_int(void) {
    d_runs = 0;
    __asm__ volatile("lcall $" STR(SEL_LTGATE_D) ", $0" ::: "memory");
    expect_eq("call LDT task gate: task D ran", d_runs, 1);
    expect("call LDT task gate: NT set in D", (d_flags & FL_NT) != 0);
    expect_eq("call LDT task gate: back-link", tss_d[T_LINK], TSS_SEL);
    expect("call LDT task gate: D not busy after its IRET", !busy(SEL_TSS_D));
    if (!deprivileged)
        expect_eq("call LDT task gate: TR in D", d_tr, SEL_TSS_D);
    /* INT n through a task gate in the IDT. */
    uint8_t saved[8];
    memcpy(saved, gate_at(VEC_TASK), 8);
    gate_put((uint64_t *)gate_at(VEC_TASK), SEL_TSS_D, 0, TASK_GATE, 0);
    __asm__ volatile("int $" STR(VEC_TASK) ::: "memory");
    expect_eq("int n task gate: task D ran", d_runs, 2);
    expect("int n task gate: NT set in D", (d_flags & FL_NT) != 0);
    expect("int n task gate: D not busy after", !busy(SEL_TSS_D));
    memcpy(gate_at(VEC_TASK), saved, 8);
}

/* INT n from ring 3 through a DPL-3 task gate: task D runs at ring 0, and its IRET goes back
 * to the ring-3 state saved in task A's TSS (CPL from the saved CS's RPL). */
#define VEC_USER_TASK 0x61
static uint32_t user_int_task(void) {
    __asm__ volatile("int $" STR(VEC_USER_TASK) ::: "memory");
    return 0x600D;
}

static void user_task_gate(void) {
    if (deprivileged) {
        printf_s("SKIP INT n from ring 3 through a task gate (deprivileged kernel)\n");
        return;
    }
    uint8_t saved[8];
    memcpy(saved, gate_at(VEC_USER_TASK), 8);
    gate_put((uint64_t *)gate_at(VEC_USER_TASK), SEL_TSS_D, 0, TASK_GATE | GDT_DPL(3), 0);
    uint32_t before = d_runs;
    expect_eq("int n ring 3 task gate: back in ring 3 after D's IRET", run_user(user_int_task), 0x600D);
    expect_eq("int n ring 3 task gate: task D ran", d_runs, before + 1);
    expect_eq("int n ring 3 task gate: saved CS (ring 3)", tss[T_CS] & 0xFFFF, USER_CS);
    expect_eq("int n ring 3 task gate: saved SS (ring 3)", tss[T_SS] & 0xFFFF, USER_DS);
    expect_eq("int n ring 3 task gate: back-link", tss_d[T_LINK], TSS_SEL);
    memcpy(gate_at(VEC_USER_TASK), saved, 8);
}

/* Exceptions through a task gate: a #GP with its error code, then a double fault. */
static void exception_tasks(void) {
    uint8_t gp[8], df[8];
    memcpy(gp, gate_at(13), 8);
    memcpy(df, gate_at(8), 8);
    gate_put((uint64_t *)gate_at(13), SEL_TSS_E, 0, TASK_GATE, 0);
    exc_count = 0;
    uint32_t insn;
    __asm__ volatile("movl $1f, %0\n\tmovl $2f, exc_resume\n\t"
                     "1: mov %w1, %%fs\n\t2:"
                     : "=&r"(insn) : "r"(SEL_BEYOND) : "memory");
    expect_eq("#GP task gate: handler task ran", exc_count, 1);
    expect_eq("#GP task gate: error code on the new task's stack", exc_err, SEL_BEYOND);
    expect_eq("#GP task gate: saved EIP = faulting instruction", exc_saved_eip, insn);
    expect("#GP task gate: NT in the handler task", (exc_flags & FL_NT) != 0);
    expect_eq("#GP task gate: back-link", tss_e[T_LINK], TSS_SEL);
    expect("#GP task gate: handler task not busy after IRET", !busy(SEL_TSS_E));
    /* #GP whose gate is not present: #NP while delivering it, so a double fault, taken by a
     * task gate: the handler task gets error code 0 (SDM 6.15, interrupt 8). */
    gate_put((uint64_t *)gate_at(8), SEL_TSS_E, 0, TASK_GATE, 0);
    gate_at(13)[5] &= 0x7F;
    exc_err = 0xFFFF;
    __asm__ volatile("movl $1f, %0\n\tmovl $2f, exc_resume\n\t"
                     "1: mov %w1, %%fs\n\t2:"
                     : "=&r"(insn) : "r"(SEL_BEYOND) : "memory");
    expect_eq("#DF task gate: handler task ran", exc_count, 2);
    expect_eq("#DF task gate: error code 0", exc_err, 0);
    expect_eq("#DF task gate: saved EIP = faulting instruction", exc_saved_eip, insn);
    memcpy(gate_at(13), gp, 8);
    memcpy(gate_at(8), df, 8);
}

static void switch_errors(void) {
    trap_arm();
    __asm__ volatile(TRY("ljmp $" STR(SEL_TSS_SMALL) ", $0") ::: "memory");
    expect_kernel_fault("jmp TSS limit < 0x67", 10, SEL_TSS_SMALL);
    trap_arm();
    __asm__ volatile(TRY("ljmp $" STR(SEL_TSS_NP) ", $0") ::: "memory");
    expect_kernel_fault("jmp TSS not present", 11, SEL_TSS_NP);
    trap_arm();
    __asm__ volatile(TRY("ljmp $" STR(TSS_SEL) ", $0") ::: "memory");
    expect_kernel_fault("jmp busy TSS", 13, TSS_SEL);
    trap_arm();
    __asm__ volatile(TRY("lcall $" STR(SEL_LDT) ", $0") ::: "memory");
    expect_kernel_fault("call LDT descriptor", 13, SEL_LDT);
    /* IRET with NT to a back-link that is not busy. */
    tss[T_LINK] = SEL_TSS_B;
    trap_arm();
    trap_eflags_clear = FL_NT;
    __asm__ volatile("pushfl\n\torl $0x4000, (%%esp)\n\tpopfl\n\t" TRY("iretl") ::: "memory");
    expect_kernel_fault("iret NT to an available TSS", 10, SEL_TSS_B);
    expect("iret NT fault: NT cleared for the resume", (read_eflags() & FL_NT) == 0);
    tss[T_LINK] = 0;
    /* A fault after the commit point belongs to the new task (SDM table 7-1). */
    f_seen = 0;
    trap_arm();
    trap_hook = f_hook;
    __asm__ volatile("ljmp $" STR(SEL_TSS_F) ", $0" ::: "memory");
    expect_eq("jmp TSS bad DS: one fault", f_seen, 1);
    expect_eq("jmp TSS bad DS: #TS", f_vector, 10);
    expect_eq("jmp TSS bad DS: error code = DS selector", f_err, SEL_BEYOND);
    const char *gap = qemu_gap("QEMU TCG reports a fault after the task-switch commit at the old task's EIP");
    expect_eq("jmp TSS bad DS: in the new task at its EIP", f_eip, (uint32_t)task_f_never);
    qemu_gap(gap);
    if (!deprivileged)
        expect_eq("jmp TSS bad DS: TR = new task", f_tr, SEL_TSS_F);
    expect("jmp TSS bad DS: back in A, F not busy", !busy(SEL_TSS_F) && busy(TSS_SEL));
    trap_arm();
}

void switch_tests(void) {
    jmp_and_back();
    call_16bit();
    call_ldt_gate_and_int();
    user_task_gate();
    exception_tasks();
    switch_errors();
    __asm__ volatile("clts");
}
