/* exceptions: raise and handle the IA-32 exceptions a ring-0 kernel can cause, and check what
 * the CPU pushed (vector, error code, saved EIP/CS/EFLAGS) and what it left alone.
 * Expected values come from the Intel SDM (vol. 3 ch. 6 and the instruction pages), never from
 * an emulator. See expect.h for TRY() and the expect_* checks. */
#include "expect.h"

/* Our descriptors (KERNEL_CS/DS are slots 1 and 2). */
#define SEL_NP_DPL3 0x18 /* data, DPL 3, not present */
#define SEL_NP_DPL0 0x20 /* data, DPL 0, not present */
#define SEL_RO 0x28      /* data, read-only, flat */
#define SEL_DATA16M 0x30 /* data, read/write, base 0, limit 16 MiB - 1 */
#define SEL_TSS 0x38     /* our TSS (busy once loaded by LTR) */
#define SEL_TSS2 0x40    /* another TSS, available (never loaded) */
#define SEL_BEYOND 0x80  /* first selector past our 16-entry GDT */

#define QEMU_NO_LIMITS "QEMU TCG does not check data accesses against segment limits or rights"

/* ------------------------------------------------------------------ #DE */

static void t_divide(void) {
    uint32_t a, d, b;
    static volatile uint32_t zero_mem;

    trap_arm();
    a = 0x12345678, d = 1;
    __asm__ volatile(TRY("divl %[c]") : "+a"(a), "+d"(d) : [c] "r"(0u) : "memory");
    expect_fault("div r32 by 0", 0, 0);
    expect_eq("div r32 by 0: eax in frame", trap_log[0].eax, 0x12345678);
    expect_eq("div r32 by 0: edx in frame", trap_log[0].edx, 1);
    expect_eq("div r32 by 0: eax kept", a, 0x12345678);
    expect_eq("div r32 by 0: edx kept", d, 1);

    /* -2^31 / -1 = 2^31 does not fit in a signed 32-bit quotient. */
    trap_arm();
    a = 0x80000000, d = 0xFFFFFFFF;
    __asm__ volatile(TRY("idivl %[c]") : "+a"(a), "+d"(d) : [c] "c"(0xFFFFFFFFu) : "memory");
    expect_fault("idiv 0x80000000/-1", 0, 0);
    expect_eq("idiv 0x80000000/-1: eax kept", a, 0x80000000);
    expect_eq("idiv 0x80000000/-1: edx kept", d, 0xFFFFFFFF);

    /* AX / r8: 0x1000 / 0x10 = 0x100 does not fit in AL. */
    trap_arm();
    a = 0xABCD1000, b = 0x10;
    __asm__ volatile(TRY("divb %%bl") : "+a"(a) : "b"(b) : "memory");
    expect_fault("div r8 overflow", 0, 0);
    expect_eq("div r8 overflow: eax kept", a, 0xABCD1000);

    /* DX:AX / r16: 0x10000 / 1 does not fit in AX. */
    trap_arm();
    a = 0x55550000, d = 0x66660001;
    __asm__ volatile(TRY("divw %%cx") : "+a"(a), "+d"(d) : "c"(1u) : "memory");
    expect_fault("div r16 overflow", 0, 0);
    expect_eq("div r16 overflow: eax kept", a, 0x55550000);

    /* Memory divisor, and AAM with an immediate of 0 (also #DE). */
    trap_arm();
    a = 7, d = 0;
    __asm__ volatile(TRY("divl %[m]") : "+a"(a), "+d"(d) : [m] "m"(zero_mem) : "memory");
    expect_fault("div m32 by 0", 0, 0);
    trap_arm();
    a = 0x1234;
    __asm__ volatile(TRY(".byte 0xd4, 0x00") : "+a"(a) : : "memory");
    expect_fault("aam 0", 0, 0);
    expect_eq("aam 0: eax kept", a, 0x1234);

    /* A division that fits: -7 / 2 = -3 remainder -1 (truncation toward zero), no trap. */
    trap_arm();
    a = (uint32_t)-7, d = 0xFFFFFFFF;
    __asm__ volatile(TRY("idivl %[c]") : "+a"(a), "+d"(d) : [c] "r"(2u) : "memory", "cc");
    expect_none("idiv -7/2");
    expect_eq("idiv -7/2: quotient", a, (uint32_t)-3);
    expect_eq("idiv -7/2: remainder", d, (uint32_t)-1);
}

/* ------------------------------------------------------------------ #DB, #BP, #OF */

static volatile uint32_t step_stop, step_dr6;

/* Single-step: record DR6 at the first trap, stop stepping once EIP reaches step_stop. */
static void step_hook(struct trap_frame *f) {
    if (f->vector != 1)
        return;
    if (trap_count == 1) {
        uint32_t v;
        __asm__ volatile("mov %%dr6, %0" : "=r"(v));
        step_dr6 = v;
    }
    if (f->eip == step_stop || trap_count >= 4)
        f->eflags &= ~FL_TF;
}

static void t_debug_breakpoint_overflow(void) {
    uint32_t a = 0, l2, l3, l4;

    /* INT1 (F1) is a trap to vector 1 (SDM vol. 2, INT n/INTO/INT1/INT3). */
    const char *old = qemu_gap("QEMU is built without WANT_ICEBP: F1 raises #UD");
    trap_arm();
    __asm__ volatile(TRY(".byte 0xf1") ::: "memory");
    expect_trap("int1", 1);
    qemu_gap(old);

    /* POPF sets TF: no trap after the POPF itself, then one after every instruction (SDM vol. 3
     * 17.3.1.4), each saving the address of the next instruction. */
    trap_arm();
    trap_hook = step_hook;
    __asm__ volatile("mov %%eax, %%dr6\n\t" /* clear the sticky DR6 status bits (a = 0) */
                     "movl $4f, step_stop\n\t"
                     "movl $2f, %[l2]\n\tmovl $3f, %[l3]\n\tmovl $4f, %[l4]\n\t"
                     "pushfl\n\torl $0x100, (%%esp)\n\tpopfl\n"
                     "1:\tnop\n"
                     "2:\tmovl $5, %%eax\n"
                     "3:\tincl %%eax\n"
                     "4:\n"
                     : "+a"(a), [l2] "=m"(l2), [l3] "=m"(l3), [l4] "=m"(l4)
                     :
                     : "memory", "cc");
    expect_eq("single-step: traps", trap_count, 3);
    expect_eq("single-step: vector", trap_log[0].vector, 1);
    expect_eq("single-step: 1st eip (after the insn after popf)", trap_log[0].eip, l2);
    expect_eq("single-step: 2nd eip", trap_log[1].eip, l3);
    expect_eq("single-step: 3rd eip", trap_log[2].eip, l4);
    expect("single-step: saved eflags has TF", trap_log[0].eflags & FL_TF);
    expect("single-step: trap saves RF = 0", !(trap_log[0].eflags & FL_RF));
    expect("single-step: gate cleared TF in handler", !(trap_log[0].handler_eflags & FL_TF));
    expect("single-step: DR6.BS set", step_dr6 & 0x4000);
    expect_eq("single-step: DR6.B0-3 clear", step_dr6 & 0xF, 0);
    expect_eq("single-step: stepped code ran", a, 6);
    expect("single-step: TF off after", !(read_eflags() & FL_TF));

    trap_arm();
    __asm__ volatile(TRY("int3") ::: "memory");
    expect_trap("int3 (cc)", 3);
    expect_eq("int3 (cc): one byte long", trap_next - trap_insn, 1);
    trap_arm();
    __asm__ volatile(TRY(".byte 0xcd, 0x03") ::: "memory");
    expect_trap("int $3 (cd 03)", 3);

    /* INTO traps only when OF = 1. Flags 0x802 = OF + the always-one bit 1. */
    trap_arm();
    __asm__ volatile("pushl $0x802\n\tpopfl\n\t" TRY("into") ::: "memory", "cc");
    expect_trap("into with OF=1", 4);
    trap_arm();
    __asm__ volatile("pushl $0x002\n\tpopfl\n\t" TRY("into") ::: "memory", "cc");
    expect_none("into with OF=0");
}

/* ------------------------------------------------------------------ #UD */

#define UD_CASE(name, bytes)                                                                       \
    do {                                                                                           \
        trap_arm();                                                                                \
        __asm__ volatile(TRY(".byte " bytes) ::: "memory");                                        \
        expect_fault(name, 6, 0);                                                                  \
    } while (0)

static void t_invalid_opcode(void) {
    UD_CASE("ud2 (0f 0b)", "0x0f, 0x0b");
    UD_CASE("ud0 (0f ff)", "0x0f, 0xff");
    UD_CASE("ud1 (0f b9 c0)", "0x0f, 0xb9, 0xc0");
    UD_CASE("lea with register source (8d c0)", "0x8d, 0xc0");
    UD_CASE("group 4 /2 (fe d0)", "0xfe, 0xd0");
    UD_CASE("group 5 /7 (ff f8)", "0xff, 0xf8");
    UD_CASE("lock nop (f0 90)", "0xf0, 0x90");
    UD_CASE("mov cs, ax (8e c8)", "0x8e, 0xc8");
    UD_CASE("mov sreg6, ax (8e f0)", "0x8e, 0xf0");

    /* LOCK on a register destination: #UD before the add happens (eax and flags untouched). */
    uint32_t a = 0x7FFFFFFF, fl;
    trap_arm();
    __asm__ volatile("pushl $0x002\n\tpopfl\n\t" TRY(".byte 0xf0, 0x01, 0xc0") "pushfl\n\tpopl %[fl]"
                     : "+a"(a), [fl] "=r"(fl)
                     :
                     : "memory", "cc");
    expect_fault("lock add eax, eax (f0 01 c0)", 6, 0);
    expect_eq("lock add eax, eax: eax kept", a, 0x7FFFFFFF);
    expect_eq("lock add eax, eax: flags kept", fl & FL_ARITH, 0);

    /* LOCK on a memory destination is legal. */
    static volatile uint32_t counter = 41;
    trap_arm();
    __asm__ volatile(TRY("lock addl $1, %[m]") : [m] "+m"(counter) : : "memory", "cc");
    expect_none("lock add [mem]");
    expect_eq("lock add [mem]: result", counter, 42);
}

/* ------------------------------------------------------------------ #GP, #NP, #SS on loads */

static void try_load_ds(const char *name, uint32_t sel, uint32_t vector, uint32_t error_code) {
    uint16_t ds_after;
    trap_arm();
    __asm__ volatile(TRY("mov %k[s], %%ds") "mov %%ds, %[d]\n\t"
                     FLAT("ds") /* back to flat, should the load have wrongly worked */
                     : [d] "=&r"(ds_after)
                     : [s] "r"(sel)
                     : "memory");
    expect_fault(name, vector, error_code);
    expect_eq(cat(name, "ds in frame"), trap_log[0].ds, KERNEL_DS);
    expect_eq(cat(name, "ds kept"), ds_after, KERNEL_DS);
}

static void try_load_ss(const char *name, uint32_t sel, uint32_t vector, uint32_t error_code) {
    uint16_t ss_after;
    trap_arm();
    __asm__ volatile(TRY("mov %k[s], %%ss") "mov %%ss, %[d]\n\t"
                     FLAT("ss")
                     : [d] "=&r"(ss_after)
                     : [s] "r"(sel)
                     : "memory");
    expect_fault(name, vector, error_code);
    expect_eq(cat(name, "ss kept"), ss_after, KERNEL_DS);
}

static void t_segment_faults(void) {
    /* The error code of a selector fault is the selector with its RPL bits replaced by
     * EXT = 0 and IDT = 0, i.e. selector & 0xFFFC. */
    try_load_ds("ds <- 0x80 (beyond GDT limit)", SEL_BEYOND, 13, SEL_BEYOND);
    try_load_ds("ds <- 0x83 (beyond, RPL 3)", SEL_BEYOND | 3, 13, SEL_BEYOND);
    try_load_ds("ds <- 0xfff8 (far beyond)", 0xFFF8, 13, 0xFFF8);
    try_load_ds("ds <- not-present data", SEL_NP_DPL3 | 3, 11, SEL_NP_DPL3);
    try_load_ss("ss <- not-present data", SEL_NP_DPL0, 12, SEL_NP_DPL0);
    try_load_ss("ss <- read-only data", SEL_RO, 13, SEL_RO);
    try_load_ss("ss <- null", 0, 13, 0);

    /* POP DS that faults leaves ESP where it was. */
    uint32_t esp_before;
    trap_arm();
    __asm__ volatile("pushl %[s]\n\tmovl %%esp, %[e]\n\t" TRY("popl %%ds")
                     "movl %[e], %%esp\n\taddl $4, %%esp\n\t"
                     FLAT("ds")
                     : [e] "=&r"(esp_before)
                     : [s] "i"(SEL_BEYOND)
                     : "memory");
    expect_fault("pop ds <- 0x80", 13, SEL_BEYOND);
    expect_eq("pop ds <- 0x80: esp kept", trap_log[0].esp, esp_before);

    /* Writes through a read-only data segment or through CS: #GP(0), memory unchanged. */
    const char *old = qemu_gap(QEMU_NO_LIMITS);
    static volatile uint32_t target = 0x11111111;
    uint32_t v = 0x22222222;
    trap_arm();
    __asm__ volatile("mov %k[ro], %%es\n\t" TRY("movl %[v], %%es:(%[p])") FLAT("es")
                     :
                     : [v] "r"(v), [p] "r"(&target), [ro] "r"(SEL_RO)
                     : "memory");
    expect_fault("write via read-only es", 13, 0);
    expect_eq("write via read-only es: es in frame", trap_log[0].es, SEL_RO);
    expect_eq("write via read-only es: memory kept", target, 0x11111111);
    target = 0x11111111; /* independent of the write above, should it have landed */
    trap_arm();
    __asm__ volatile("mov %k[ro], %%es\n\t" TRY("movl %%es:(%[p]), %[v]") FLAT("es")
                     : [v] "+r"(v)
                     : [p] "r"(&target), [ro] "r"(SEL_RO)
                     : "memory");
    expect_none("read via read-only es");
    expect_eq("read via read-only es: value", v, 0x11111111);
    /* MOVS whose store faults after its load: ESI and EDI as they were, memory kept. */
    static volatile uint32_t movs_src = 0x33333333;
    trap_arm();
    __asm__ volatile("mov %k[ro], %%es\n\t" TRY("movsl") FLAT("es")
                     :
                     : "S"(&movs_src), "D"(&target), [ro] "r"(SEL_RO)
                     : "memory");
    expect_fault("movsd via read-only es", 13, 0);
    expect_eq("movsd via read-only es: esi kept", trap_log[0].esi, (uint32_t)&movs_src);
    expect_eq("movsd via read-only es: edi kept", trap_log[0].edi, (uint32_t)&target);
    expect_eq("movsd via read-only es: memory kept", target, 0x11111111);
    trap_arm();
    __asm__ volatile(TRY("movl %[v], %%cs:(%[p])") : : [v] "r"(v), [p] "r"(&target) : "memory");
    expect_fault("write via cs", 13, 0);
    expect_eq("write via cs: memory kept", target, 0x11111111);

    /* Stack accesses beyond SS's limit raise #SS(0); EBP- and ESP-based addresses default to
     * SS, so they are checked against SS's limit (16 MiB here), not DS's. The handler runs on
     * this stack too: SEL_DATA16M covers it. */
    static const uint32_t far = 0x01000000; /* the first offset past the limit */
    v = 0x5A5A5A5A;
    trap_arm();
    __asm__ volatile("mov %k[s], %%ss\n\t" TRY("movl %%ss:(%[p]), %[v]") FLAT("ss")
                     : [v] "+r"(v)
                     : [p] "r"(far), [s] "r"(SEL_DATA16M)
                     : "memory");
    expect_fault("ss: read past limit", 12, 0);
    expect_eq("ss: read past limit: register kept", v, 0x5A5A5A5A);
    trap_arm();
    __asm__ volatile("mov %k[s], %%ss\n\t" TRY("movl %%ss:(%[p]), %[v]") FLAT("ss")
                     : [v] "+r"(v)
                     : [p] "r"(far - 4), [s] "r"(SEL_DATA16M)
                     : "memory");
    expect_none("ss: read of the last dword");
    trap_arm();
    /* Fixed registers: none of the operands may live in EBP, which the test overwrites. */
    __asm__ volatile("pushl %%ebp\n\tmovl %[p], %%ebp\n\tmov %k[s], %%ss\n\t"
                     TRY("movl (%%ebp), %[v]") FLAT("ss") "popl %%ebp"
                     : [v] "+b"(v)
                     : [p] "a"(far), [s] "c"(SEL_DATA16M)
                     : "memory");
    expect_fault("[ebp] defaults to ss", 12, 0);
    trap_arm();
    __asm__ volatile("mov %k[s], %%ss\n\t" TRY("movl 0x01000000(%%esp), %[v]") FLAT("ss")
                     : [v] "+r"(v)
                     : [s] "r"(SEL_DATA16M)
                     : "memory");
    expect_fault("[esp+16M] defaults to ss", 12, 0);
    qemu_gap(old);
}

/* ------------------------------------------------------------------ #TS, LTR */

static uint32_t tss[26] __attribute__((aligned(16))); /* 104-byte 32-bit TSS; link at offset 0 */
static uint32_t tss2[26] __attribute__((aligned(16)));

/* IRET with NT = 1 returns to the task named by the link field of the current TSS; a link that
 * is not a busy TSS descriptor in the GDT raises #TS(link) (SDM, IRET, TASK-RETURN). */
static void try_task_return(const char *name, uint32_t link) {
    uint32_t esp_save;
    tss[0] = link;
    trap_arm();
    trap_eflags_clear = FL_NT; /* the resumed code must not IRET into a task return again */
    /* A plain return frame (to label 2, NT clear) guards against an IRET that ignores NT. */
    __asm__ volatile("movl %%esp, %[e]\n\tpushl $0x002\n\tpushl %%cs\n\tpushl $2f\n\t"
                     "pushfl\n\torl $0x4000, (%%esp)\n\tpopfl\n\t" TRY("iret")
                     "movl %[e], %%esp"
                     : [e] "=&r"(esp_save)
                     :
                     : "memory", "cc");
    expect_fault(name, 10, link & 0xFFFC);
    expect(cat(name, "NT clear after"), !(read_eflags() & FL_NT));
}

static void t_task_faults(void) {
    gdt_set(SEL_TSS >> 3, (uint32_t)tss, sizeof tss - 1, 0x89, 0); /* present 32-bit TSS */
    gdt_set(SEL_TSS2 >> 3, (uint32_t)tss2, sizeof tss2 - 1, 0x89, 0);
    __asm__ volatile("ltr %w0" ::"r"(SEL_TSS));
    expect_eq("ltr: busy bit set", (uint32_t)(gdt_get(SEL_TSS >> 3) >> 40) & 0x8F, 0x8B);

    try_task_return("iret/NT, link TI=1", 0x0004);
    try_task_return("iret/NT, link = data segment", KERNEL_DS);
    try_task_return("iret/NT, link = available TSS", SEL_TSS2);
    try_task_return("iret/NT, link beyond GDT", SEL_BEYOND);

    trap_arm();
    __asm__ volatile(TRY("ltr %w0") ::"r"(KERNEL_DS) : "memory");
    expect_fault("ltr <- data segment", 13, KERNEL_DS);
    trap_arm();
    __asm__ volatile(TRY("ltr %w0") ::"r"(SEL_TSS) : "memory");
    expect_fault("ltr <- busy TSS", 13, SEL_TSS);
}

/* ------------------------------------------------------------------ IDT faults */

static void t_idt_faults(void) {
    /* A gate's error code names the IDT entry: vector * 8 + 2 (IDT bit set, EXT clear).
     * The INT n itself is the faulting instruction. */
    uint8_t *g = idt_gate(0x90);
    g[5] &= 0x7F;
    trap_arm();
    __asm__ volatile(TRY("int $0x90") ::: "memory");
    expect_fault("int 0x90, gate not present", 11, 0x90 * 8 + 2);
    g[5] = 0x8C; /* a call gate is not a valid IDT gate type */
    trap_arm();
    __asm__ volatile(TRY("int $0x90") ::: "memory");
    expect_fault("int 0x90, call-gate type", 13, 0x90 * 8 + 2);
    g[5] = 0x8E;

    uint32_t base = idt_base();
    idt_load(base, 0x40 * 8 - 1); /* vectors 0..0x3f only */
    trap_arm();
    __asm__ volatile(TRY("int $0x50") ::: "memory");
    idt_load(base, 256 * 8 - 1);
    expect_fault("int 0x50 beyond IDT limit", 13, 0x50 * 8 + 2);
}

/* ------------------------------------------------------------------ INT n and IRET */

#define FLAGS_IN 0xAD7u /* OF IF SF ZF AF PF CF and bit 1 */

static void int_hook(struct trap_frame *f) {
    if (f->vector == 0x80) { /* a handler may change registers and flags for the IRET */
        f->eax = 0xC0FFEE;
        f->eflags ^= FL_CF;
    }
}

/* INT n with known registers and flags (IF = 1, the PIC is masked), then the flags after. */
#define INT_TEST(v, fl_after, a)                                                                   \
    do {                                                                                           \
        uint32_t b = 0xB0B0B0B0, s = 0x51515151, di = 0xD1D1D1D1;                                  \
        a = 0xA0A0A0A0;                                                                            \
        trap_arm();                                                                                \
        trap_hook = int_hook;                                                                      \
        __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" TRY("int $" #v)                                \
                         "pushfl\n\tpopl %[fo]\n\tpushl $2\n\tpopfl"                               \
                         : "+a"(a), "+b"(b), "+S"(s), "+D"(di), [fo] "=m"(fl_after)                \
                         : [fi] "i"(FLAGS_IN)                                                      \
                         : "memory", "cc");                                                        \
        expect_trap("int " #v, v);                                                                 \
        expect_eq("int " #v ": error slot 0", trap_log[0].error_code, 0);                          \
        expect_eq("int " #v ": eax in frame", trap_log[0].eax, 0xA0A0A0A0);                        \
        expect_eq("int " #v ": ebx in frame", trap_log[0].ebx, 0xB0B0B0B0);                        \
        expect_eq("int " #v ": esi, edi in frame", trap_log[0].esi ^ trap_log[0].edi,              \
                 0x51515151 ^ 0xD1D1D1D1);                                                         \
        expect("int " #v ": gate cleared IF", !(trap_log[0].handler_eflags & FL_IF));              \
        expect_eq("int " #v ": ebx, esi, edi kept", b ^ s ^ di, 0xB0B0B0B0 ^ 0x51515151 ^ 0xD1D1D1D1); \
    } while (0)

static void t_int_n(void) {
    static uint32_t fl;
    uint32_t a;
    INT_TEST(0x20, fl, a);
    expect_eq("int 0x20: flags restored by iret", fl, FLAGS_IN);
    INT_TEST(0xFF, fl, a);
    expect_eq("int 0xFF: flags restored by iret", fl, FLAGS_IN);
    expect_eq("int 0xFF: eax kept", a, 0xA0A0A0A0);
    INT_TEST(0x80, fl, a);
    expect_eq("int 0x80: handler's CF via iret", fl, FLAGS_IN ^ FL_CF);
    expect_eq("int 0x80: handler's eax via iret", a, 0xC0FFEE);

    /* A trap gate (type 0xF) leaves IF alone. */
    uint8_t *g = idt_gate(0x81);
    g[5] = 0x8F;
    trap_arm();
    __asm__ volatile("pushl %[fi]\n\tpopfl\n\t" TRY("int $0x81") "pushl $2\n\tpopfl"
                     :
                     : [fi] "i"(FLAGS_IN)
                     : "memory", "cc");
    g[5] = 0x8E;
    expect_trap("int 0x81 via trap gate", 0x81);
    expect("int 0x81 via trap gate: IF still set", trap_log[0].handler_eflags & FL_IF);

    /* IRET on a frame we build: lands on the target with exactly the flags of the frame. */
    uint32_t esp0, esp1, flo;
    __asm__ volatile("movl %%esp, %[e0]\n\t"
                     "pushl $0x8D7\n\tpushl %%cs\n\tpushl $1f\n\t"
                     "iret\n\t"
                     "ud2\n" /* skipped by the IRET */
                     "1:\tpushfl\n\tpopl %[fl]\n\tmovl %%esp, %[e1]\n\tpushl $2\n\tpopfl"
                     : [e0] "=&r"(esp0), [e1] "=&r"(esp1), [fl] "=&r"(flo)
                     :
                     : "memory", "cc");
    expect_eq("iret: flags from frame", flo, 0x8D7);
    expect_eq("iret: esp back", esp1, esp0);
}

/* ------------------------------------------------------------------ nested exceptions */

static volatile uint32_t nest_int3_next, nest_ud2;

/* Inside the handler of INT 0x82: an INT3 (trap) and a UD2 (fault) of its own. */
static void nest_hook(struct trap_frame *f) {
    if (f->vector != 0x82)
        return;
    __asm__ volatile("movl $1f, nest_int3_next\n\tint3\n"
                     "1:\tmovl $2f, nest_ud2\n\tmovl $3f, trap_resume\n"
                     "2:\tud2\n"
                     "3:" ::: "memory");
}

static void t_nested(void) {
    uint32_t b = 0xB0B0B0B0, s = 0x51515151, di = 0xD1D1D1D1;
    trap_arm();
    trap_hook = nest_hook;
    __asm__ volatile(TRY("int $0x82") : "+b"(b), "+S"(s), "+D"(di) : : "memory");
    expect_eq("nested: traps", trap_count, 3);
    expect_eq("nested: outer vector", trap_log[0].vector, 0x82);
    expect_eq("nested: outer saved eip", trap_log[0].eip, trap_next);
    expect_eq("nested: inner #BP vector", trap_log[1].vector, 3);
    expect_eq("nested: inner #BP saved eip", trap_log[1].eip, nest_int3_next);
    expect_eq("nested: inner #BP saved cs", trap_log[1].cs, read_cs());
    expect("nested: inner #BP saved IF=0 (from outer gate)", !(trap_log[1].eflags & FL_IF));
    expect("nested: inner frame below outer", trap_log[1].esp < trap_log[0].esp);
    expect_eq("nested: inner #UD vector", trap_log[2].vector, 6);
    expect_eq("nested: inner #UD saved eip", trap_log[2].eip, nest_ud2);
    expect_eq("nested: registers kept", b ^ s ^ di, 0xB0B0B0B0 ^ 0x51515151 ^ 0xD1D1D1D1);
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)mbi;
    expect_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    detect_reference();
    gdt_install_flat();
    idt_install();
    gdt_set(SEL_NP_DPL3 >> 3, 0, 0xFFFFF, 0x72, GDT_FLAGS_32_4K);
    gdt_set(SEL_NP_DPL0 >> 3, 0, 0xFFFFF, 0x12, GDT_FLAGS_32_4K);
    gdt_set(SEL_RO >> 3, 0, 0xFFFFF, 0x90, GDT_FLAGS_32_4K);
    gdt_set(SEL_DATA16M >> 3, 0, 0xFFF, 0x92, GDT_FLAGS_32_4K);
    /* Mask both 8259s so that the IF = 1 windows of the INT n tests see no interrupt. */
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);

    /* Only the vectors we raise are recorded; any other trap fails the run (idt.c). */
    trap_catch(0, 6);
    trap_catch(10, 13);
    static const int soft[] = {0x20, 0x50, 0x80, 0x81, 0x82, 0x90, 0xFF};
    for (unsigned i = 0; i < sizeof soft / sizeof soft[0]; i++)
        trap_catch(soft[i], soft[i]);

    t_divide();
    t_debug_breakpoint_overflow();
    t_invalid_opcode();
    t_segment_faults();
    t_task_faults();
    t_idt_faults();
    t_int_n();
    t_nested();
    expect_finish("exceptions");
}
