/* v86: virtual-8086 mode, checked against the Intel SDM vol. 3 ch. 20.2-20.3 (8086 emulation)
 * and the vol. 2 pages of IRET, INT n, PUSHF/POPF, CLI/STI, IN/OUT and the instructions that
 * v8086 mode does not recognize. A ring-0 kernel with paging enters v8086 mode by IRET (VM = 1
 * in the popped EFLAGS), runs 16-bit programs at CPL 3 on user pages (v86_code.asm), and takes
 * every trap back at ring 0 through the IDT on the TSS's ring-0 stack (monitor.c):
 * - IRET to v8086 mode loads EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS (base = selector << 4);
 * - 16-bit code: segment arithmetic, a loop, near and far calls, LDS, a user page mapped to
 *   another frame, a 32-bit offset beyond the 0xffff limit (#GP(0));
 * - CLI, STI, PUSHF(D), POPF(D), INT n, IRET(D) raise #GP(0) at IOPL < 3 and work at IOPL 3,
 *   where POPF and IRET change neither IOPL nor VM and PUSHFD shows VM = 0; INT3 is not
 *   IOPL-sensitive (its DPL-0 gate gives #GP(0x1a)); IN/OUT fault at IOPL 3 as the TSS has no
 *   I/O bitmap; MOV CR0 and LGDT raise #GP(0), SLDT, LAR, ARPL #UD;
 * - the ring-0 frame holds GS, FS, DS, ES, SS, ESP, EFLAGS (VM = 1), CS, EIP (+ error code), ends
 *   at TSS.ESP0, and the handler runs with null DS, ES, FS, GS and IF = 0;
 * - INT n through a DPL-3 gate at IOPL 3 reaches ring 0 (a 286 gate pushes the same nine slots
 *   as words, as the SDM's pseudo-code and QEMU do); a gate to a DPL-3 code segment is
 *   #GP(selector); #DE and #PF are emulated or fixed by the handler, which IRETs back;
 * - a monitor reflects a BIOS-style INT 0x10 through the program's IVT and emulates its CLI and
 *   IRET against a virtual IF;
 * - a timer interrupt taken in v8086 mode reaches ring 0 and returns;
 * - the virtual-mode extensions, CR4.VME and CR4.PVI (vme.c). */
#include "monitor.h"

extern uint8_t p_state[], p_compute[], p_limit[], p_limit_insn[];
extern uint8_t p_cli[], p_sti[], p_pushf[], p_popf[], p_int30[], p_iret[], p_pushfd[], p_popfd[], p_iretd[];
extern uint8_t p_in[], p_out[], p_int3[], p_mov_cr0[], p_lgdt[], p_sldt[], p_lar[], p_arpl[];
extern uint8_t p_iopl3[], p_int31[], p_int32[], p_div[], p_div_insn[], p_pf[], p_pf_insn[];
extern uint8_t p_bios[], p_bios_next[], bios_int10[], p_irq[], p_irq_end[], p_int33[];
extern uint8_t gate16_handler[], gate16_handler_end[];
#define GATE16_VA 0xF000u /* where the 16-bit gate's handler is copied: below 64 KiB */
extern volatile uint16_t gate16_frame[9];
extern volatile uint32_t gate16_esp;

#define QEMU_NO_LIMITS "QEMU TCG does not check data accesses against segment limits"
#define QEMU_NO_RF "QEMU TCG pushes RF = 0 for faults"
#define SUPER_VA 0x40000u /* identity-mapped supervisor page, seg 0x4000 */
#define REMAP_VA 0x30000u /* user page mapped to remap_page, seg 0x3000 */

void vme_tests(int deprivileged); /* vme.c */

static ptable pd, pt0;
static uint8_t remap_page[PAGE] __attribute__((aligned(PAGE)));
static volatile uint32_t ivt_base; /* 0; a variable so that gcc sees no null pointer */
/* btvm --mode trap runs this kernel at a real CPL of 3: MOV r,CS shows RPL 3 and PUSHF IF = 1
 * there (the point of that mode); checks that read them print SKIP. */
static int deprivileged;

/* A gate of our IDT, found without SIDT (which a deprivileged kernel sees wrong). */
static uint8_t *gate(int vector) { return (uint8_t *)(idt_address() + 8 * (uint32_t)vector); }

static void t_entry(void) {
    struct v86_regs in = {.ebx = 0xABCD0000u, .ecx = 0xCAFE1234u, .edx = 0x87654321u,
                          .ebp = 0x5555AAAAu, .esi = 0x01020304u, .edi = 0xFEDCBA98u,
                          .eip = 0x00050000u}; /* IRET to v8086 mode uses only IP */
    int hlt = v86_go(p_state, FL_IOPL3 | FL_IF, 0x1234, 0x5678, 0x9ABC, 0xDEF0, &in);
    check("iret to v8086: the program ran to its HLT", hlt && v86_traps == 0);
    check_eq("iret to v8086: EIP's high half dropped", v86_out.eip >> 16, 0);
    check_eq("iret to v8086: pushfd shows IF, IOPL 3, VM = 0", v86_out.eax, FL_IOPL3 | FL_IF | 2);
    check_eq("iret to v8086: sp", v86_out.ebx, 0xABCD0000u | V86_STACK_TOP);
    check_eq("iret to v8086: esp", v86_out.esp, V86_STACK_TOP);
    check_eq("iret to v8086: 32-bit add with 0x66", v86_out.esi, 0x12131415u);
    check("iret to v8086: ecx, edx, ebp, edi whole",
          v86_out.ecx == in.ecx && v86_out.edx == in.edx && v86_out.ebp == in.ebp && v86_out.edi == in.edi);
    check_eq("iret to v8086: cs", v86_out.cs, V86_CODE_SEG);
    check_eq("iret to v8086: ss", v86_out.ss, V86_STACK_SEG);
    check("iret to v8086: ds es fs gs",
          v86_out.ds == 0x1234 && v86_out.es == 0x5678 && v86_out.fs == 0x9ABC && v86_out.gs == 0xDEF0);
    check_eq("iret to v8086: eflags at the HLT", v86_exit_eflags & ~FL_RF, FL_VM | FL_IOPL3 | FL_IF | 2);
    check_eq("back at ring 0: cs", deprivileged ? read_cs() & ~3u : read_cs(), KERNEL_CS);
}

static void t_compute(void) {
    memset(remap_page, 0, sizeof remap_page);
    int hlt = v86_go(p_compute, 0, 0x2000, 0, 0, 0, 0);
    check("16-bit code: ran to its HLT at IOPL 0", hlt && v86_traps == 0);
    check_eq("16-bit code: 0x1fff:0x820 is 0x2000:0x810", v86_out.edx & 0xFFFF, 0xBEEF);
    check_eq("16-bit code: the store landed at linear 0x20810", *(volatile uint16_t *)0x20810, 0xBEEF);
    check_eq("16-bit code: loop ran cx down to 0", v86_out.ecx & 0xFFFF, 0);
    check_eq("16-bit code: sum 1..100 + 1 (loop, push, near call)", v86_out.ebx & 0xFFFF, 5051);
    check_eq("16-bit code: far call ran at cs 0x1001", v86_out.esi & 0xFFFF, 0x1001);
    check_eq("16-bit code: far call pushed its cs", v86_out.eax & 0xFFFF, 0x1001);
    check_eq("16-bit code: back at cs 0x1000", v86_out.cs, V86_CODE_SEG);
    check_eq("16-bit code: sp balanced", v86_out.esp, V86_STACK_TOP);
    check_eq("paging: a v8086 store to 0x3000:0x10 reached the remapped frame",
             *(volatile uint32_t *)(remap_page + 0x10), 0x12345678);
    check_eq("lds: ds", v86_out.ds, 0x3000);
    check_eq("lds: di", v86_out.edi & 0xFFFF, 4);
    check_eq("lds: read back through ds:di+0xc", v86_out.ebp & 0xFFFF, 0x5678);
    check("segment loads: es, fs", v86_out.es == 0x1FFF && v86_out.fs == 0x3000);

    const char *gap = qemu_gap(QEMU_NO_LIMITS);
    v86_expect_fault("offset 0x10000 in v8086", p_limit, p_limit_insn, 0, 13, 0);
    qemu_gap(gap);
}

/* The whole frame of one #GP from v8086 mode (CLI at IOPL 0). */
static void t_frame(void) {
    v86_hook = 0;
    v86_go(p_cli, FL_IF, 0x2101, 0x2202, 0x2303, 0x2404, 0);
    volatile struct v86_trap *r = &v86_log[0];
    check_eq("frame: one trap", v86_traps, 1);
    check_eq("frame: eflags: VM, IF", r->eflags & ~FL_RF, FL_VM | FL_IF | 2);
    const char *gap = qemu_gap(QEMU_NO_RF);
    expect_eq("frame: a fault pushes RF = 1", r->eflags & FL_RF, FL_RF);
    qemu_gap(gap);
    check_eq("frame: ss", r->ss, V86_STACK_SEG);
    check_eq("frame: esp", r->esp, V86_STACK_TOP);
    check("frame: es, ds, fs, gs", r->es == 0x2202 && r->ds == 0x2101 && r->fs == 0x2303 && r->gs == 0x2404);
    check_eq("frame: ends at TSS.ESP0", r->frame_end, tss[1]);
    check("handler: ds, es, fs, gs null", r->h_ds == 0 && r->h_es == 0 && r->h_fs == 0 && r->h_gs == 0);
    if (deprivileged)
        printf_s("SKIP handler: interrupt gate cleared IF (deprivileged PUSHF shows IF = 1)\n");
    else
        check_eq("handler: interrupt gate cleared IF", r->h_if, 0);
}

static void t_iopl0(void) {
    v86_expect_fault("cli at IOPL 0", p_cli, p_cli, FL_IF, 13, 0);
    v86_expect_fault("sti at IOPL 0", p_sti, p_sti, 0, 13, 0);
    v86_expect_fault("pushf at IOPL 0", p_pushf, p_pushf, 0, 13, 0);
    v86_expect_fault("popf at IOPL 0", p_popf, p_popf, 0, 13, 0);
    v86_expect_fault("int 0x30 at IOPL 0", p_int30, p_int30, 0, 13, 0);
    v86_expect_fault("iret at IOPL 0", p_iret, p_iret, 0, 13, 0);
    v86_expect_fault("pushfd at IOPL 0", p_pushfd, p_pushfd, 0, 13, 0);
    v86_expect_fault("popfd at IOPL 0", p_popfd, p_popfd, 0, 13, 0);
    v86_expect_fault("iretd at IOPL 0", p_iretd, p_iretd, 0, 13, 0);
    /* INT3 is not IOPL-sensitive: it goes to the IDT, where the gate's DPL 0 < CPL 3. */
    v86_expect_fault("int3 at IOPL 0: gate DPL", p_int3, p_int3, 0, 13, 3 * 8 + 2);
}

static void t_not_in_v86(void) {
    /* The TSS's I/O map base lies beyond its limit: every port faults whatever IOPL is. */
    v86_expect_fault("in at IOPL 3 without an I/O bitmap", p_in, p_in, FL_IOPL3, 13, 0);
    v86_expect_fault("out at IOPL 3 without an I/O bitmap", p_out, p_out, FL_IOPL3, 13, 0);
    v86_expect_fault("mov eax, cr0", p_mov_cr0, p_mov_cr0, FL_IOPL3, 13, 0);
    v86_expect_fault("lgdt", p_lgdt, p_lgdt, FL_IOPL3, 13, 0);
    v86_expect_fault("sldt is #UD", p_sldt, p_sldt, FL_IOPL3, 6, 0);
    v86_expect_fault("lar is #UD", p_lar, p_lar, FL_IOPL3, 6, 0);
    v86_expect_fault("arpl is #UD", p_arpl, p_arpl, FL_IOPL3, 6, 0);
}

static void t_iopl3(void) {
    v86_hook = 0;
    int hlt = v86_go(p_iopl3, FL_IOPL3 | FL_IF, 0x2000, 0x2000, 0, 0, 0);
    check("IOPL 3: no trap", hlt && v86_traps == 0);
    check_eq("IOPL 3: cli clears IF", v86_out.eax & 0xFFFF, FL_IOPL3 | 2);
    check_eq("IOPL 3: sti sets IF", v86_out.ebx & 0xFFFF, FL_IOPL3 | FL_IF | 2);
    check_eq("IOPL 3: popf keeps IOPL, takes IF", v86_out.ecx & 0xFFFF, FL_IOPL3 | 2);
    check_eq("IOPL 3: pushfd clears VM in the image", v86_out.edx, FL_IOPL3 | 2);
    check_eq("IOPL 3: popfd keeps VM and IOPL, takes IF", v86_out.edi & 0xFFFF, FL_IOPL3 | FL_IF | 2);
    check_eq("IOPL 3: iret keeps IOPL, loads CF and IF", v86_out.esi & 0xFFFF, FL_IOPL3 | FL_CF | 2);
    check_eq("IOPL 3: still in v8086 mode at the HLT", v86_exit_eflags & ~FL_RF, FL_VM | FL_IOPL3 | FL_CF | 2);
}

static int int31_hook(struct v86_frame *f) {
    if (f->t.vector != 0x31)
        return 0;
    f->t.eax = 0xC0DE;
    return 1;
}

static void t_int_n(void) {
    uint8_t *g31 = gate(0x31), *g32 = gate(0x32);
    g31[5] = 0xEE; /* present, DPL 3, 32-bit interrupt gate */
    g32[5] = 0xEE;
    g32[2] = USER_CS & 0xFF; /* to a DPL-3 code segment: not allowed from v8086 mode */
    g32[3] = USER_CS >> 8;
    v86_hook = int31_hook;
    int hlt = v86_go(p_int31, FL_IOPL3, 0x2000, 0x2000, 0, 0, 0);
    check("int 0x31 at IOPL 3: handled at ring 0, back in v8086", hlt && v86_traps == 1);
    check_eq("int 0x31 at IOPL 3: vector", v86_log[0].vector, 0x31);
    check_eq("int 0x31 at IOPL 3: saved ip: the next instruction", v86_log[0].eip, v86_off(p_int31) + 2);
    check_eq("int 0x31 at IOPL 3: saved eflags", v86_log[0].eflags, FL_VM | FL_IOPL3 | 2);
    check_eq("int 0x31 at IOPL 3: the handler's eax", v86_out.eax, 0xC0DE);
    check_eq("int 0x31 at IOPL 3: frame ends at TSS.ESP0", v86_log[0].frame_end, tss[1]);
    /* A 286 interrupt gate: the SDM's pseudo-code (and QEMU) push 16-bit slots from v8086 mode. */
    memcpy((void *)GATE16_VA, gate16_handler, (size_t)(gate16_handler_end - gate16_handler));
    uint8_t *g33 = gate(0x33);
    g33[0] = GATE16_VA & 0xFF;
    g33[1] = GATE16_VA >> 8;
    g33[5] = 0xE6; /* present, DPL 3, 16-bit interrupt gate */
    g33[6] = g33[7] = 0;
    v86_hook = 0;
    int ran = v86_go(p_int33, FL_IOPL3 | FL_IF, 0x2101, 0x2202, 0x2303, 0x2404, 0);
    check("16-bit gate from v8086: the handler ended the program", !ran && v86_traps == 0);
    check_eq("16-bit gate: ip, cs", gate16_frame[0] | (uint32_t)gate16_frame[1] << 16,
             (V86_CODE_SEG << 16) | (uint32_t)(v86_off(p_int33) + 2));
    check_eq("16-bit gate: flags (low 16 bits)", gate16_frame[2], FL_IOPL3 | FL_IF | 2);
    check_eq("16-bit gate: sp, ss", gate16_frame[3] | (uint32_t)gate16_frame[4] << 16,
             (V86_STACK_SEG << 16) | V86_STACK_TOP);
    check("16-bit gate: es, ds, fs, gs", gate16_frame[5] == 0x2202 && gate16_frame[6] == 0x2101 &&
                                             gate16_frame[7] == 0x2303 && gate16_frame[8] == 0x2404);
    check_eq("16-bit gate: 18 bytes below TSS.ESP0", gate16_esp, tss[1] - 18);
    v86_expect_fault("int 0x30 at IOPL 3: DPL-0 gate", p_int30, p_int30, FL_IOPL3, 13, 0x30 * 8 + 2);
    v86_expect_fault("int 0x32 at IOPL 3: DPL-3 handler", p_int32, p_int32, FL_IOPL3, 13, USER_CS & 0xFFFC);
}

static int fix_hook(struct v86_frame *f) {
    if (f->t.vector == 0) { /* emulate the division: AX = 0x4242, go on after DIV BL */
        f->t.eax = (f->t.eax & 0xFFFF0000u) | 0x4242;
        f->t.eip += 2;
        return 1;
    }
    if (f->t.vector == 14) { /* map the page for user mode; the store restarts */
        pt0.e[PTX(SUPER_VA)] |= PG_U;
        invlpg(SUPER_VA);
        return 1;
    }
    return 0;
}

static void t_exceptions(void) {
    v86_hook = fix_hook;
    int hlt = v86_go(p_div, 0, 0x2000, 0x2000, 0, 0, 0);
    check("#DE: emulated, back in v8086", hlt && v86_traps == 1);
    check_eq("#DE: vector", v86_log[0].vector, 0);
    check_eq("#DE: saved ip: the div", v86_log[0].eip, v86_off(p_div_insn));
    check_eq("#DE: saved cs", v86_log[0].cs, V86_CODE_SEG);
    check_eq("#DE: the handler's result", v86_out.ecx & 0xFFFF, 0x4242);

    hlt = v86_go(p_pf, 0, 0x2000, 0x2000, 0, 0, 0);
    check("#PF: fixed, the store restarted", hlt && v86_traps == 1);
    check_eq("#PF: vector", v86_log[0].vector, 14);
    check_eq("#PF: error code: user write, present", v86_log[0].error_code, PF_P | PF_W | PF_U);
    check_eq("#PF: cr2", v86_log[0].cr2, SUPER_VA + 0x20);
    check_eq("#PF: saved ip: the store", v86_log[0].eip, v86_off(p_pf_insn));
    check_eq("#PF: saved es", v86_log[0].es, SUPER_VA >> 4);
    check_eq("#PF: read back", v86_out.edx & 0xFFFF, 0x7777);
    pt0.e[PTX(SUPER_VA)] &= ~PG_U;
    invlpg(SUPER_VA);
}

static void t_bios_call(void) {
    volatile uint32_t *ivt = (volatile uint32_t *)ivt_base;
    ivt[0x10] = (V86_CODE_SEG << 16) | v86_off(bios_int10);
    v86_hook = v86_reflect_hook;
    v86_vif = FL_IF;
    v86_emulated = 0;
    int hlt = v86_go(p_bios, 0, 0x2000, 0x2000, 0, 0, 0);
    check("bios call: back after int 0x10", hlt);
    check_eq("bios call: int, cli, iret emulated", v86_emulated, 3);
    check_eq("bios call: the handler's al", v86_out.ecx & 0xFFFF, 0x0E42);
    check_eq("bios call: handler's sp: flags, cs, ip pushed", v86_out.edx & 0xFFFF, V86_STACK_TOP - 6);
    check_eq("bios call: pushed ip: after the int", v86_out.esi & 0xFFFF, v86_off(p_bios_next));
    check_eq("bios call: sp restored", v86_out.esp, V86_STACK_TOP);
    check_eq("bios call: virtual IF restored by the iret", v86_vif, FL_IF);
    check_eq("bios call: bx kept", v86_out.ebx & 0xFFFF, 7);
}

#define IRQ_FLAG_VA (V86_STACK_SEG * 16 + 0x0ff0)

static int timer_hook(struct v86_frame *f) {
    if (f->t.vector != V86_IRQ0_VECTOR)
        return 0;
    outb(0x21, 0xFF); /* one tick is enough */
    outb(0x20, 0x20); /* EOI */
    *(volatile uint16_t *)IRQ_FLAG_VA = 1;
    return 1;
}

/* A hardware interrupt (the PIT on IRQ 0) while v8086 code runs with IF = 1 goes to ring 0
 * through the IDT like an exception, and its handler returns into the loop it interrupted. */
static void t_irq(void) {
    outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 */
    outb(0x21, V86_IRQ0_VECTOR);
    outb(0x21, 0x04);
    outb(0x21, 0x01);
    outb(0xA0, 0x11);
    outb(0xA1, V86_IRQ0_VECTOR + 8);
    outb(0xA1, 0x02);
    outb(0xA1, 0x01);
    outb(0xA1, 0xFF);
    outb(0x43, 0x34); /* PIT counter 0, mode 2, divisor 1193: 1 kHz */
    outb(0x40, 1193 & 0xFF);
    outb(0x40, 1193 >> 8);
    *(volatile uint16_t *)IRQ_FLAG_VA = 0;
    outb(0x21, 0xFE); /* IRQ 0 only; the kernel runs with IF = 0, the v8086 program with IF = 1 */
    v86_hook = timer_hook;
    int hlt = v86_go(p_irq, FL_IF, 0x2000, 0x2000, 0x2000, 0x2000, 0);
    volatile struct v86_trap *r = &v86_log[0];
    check("irq 0 in v8086: taken once, back in the loop", hlt && v86_traps == 1);
    check_eq("irq 0 in v8086: vector", r->vector, V86_IRQ0_VECTOR);
    check("irq 0 in v8086: saved cs:ip in the loop",
          r->cs == V86_CODE_SEG && r->eip >= v86_off(p_irq) && r->eip < v86_off(p_irq_end));
    check_eq("irq 0 in v8086: saved eflags (no RF: not a fault)", r->eflags & ~FL_ARITH, FL_VM | FL_IF | 2);
    check("irq 0 in v8086: saved ss:esp", r->ss == V86_STACK_SEG && r->esp == V86_STACK_TOP);
    check("irq 0 in v8086: handler's data segments null", r->h_ds == 0 && r->h_es == 0 && r->h_fs == 0 && r->h_gs == 0);
    check_eq("irq 0 in v8086: frame ends at TSS.ESP0", r->frame_end, tss[1]);
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)magic;
    (void)mbi;
    detect_reference();
    deprivileged = (read_cs() & 3) != 0;
    gdt_install_flat();
    idt_install();
    ring3_setup();
    v86_monitor_install();
    /* The low 4 MiB identity-mapped as user pages (--mode trap runs the kernel's IRET at a
     * real CPL of 3, and its stack must be readable there), but for one supervisor page and
     * the page that linear 0x30000 maps to another frame. */
    pg_identity_low(&pd, &pt0, PG_W | PG_U);
    pt0.e[PTX(SUPER_VA)] &= ~PG_U;
    pt0.e[PTX(REMAP_VA)] = (uint32_t)remap_page | PG_P | PG_W | PG_U;
    paging_on(&pd);

    t_entry();
    t_compute();
    t_frame();
    t_iopl0();
    t_not_in_v86();
    t_iopl3();
    t_int_n();
    t_exceptions();
    t_bios_call();
    t_irq();
    vme_tests(deprivileged);
    expect_finish("v86");
}
