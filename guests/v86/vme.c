/* The virtual-mode extensions of the v86 guest (Intel SDM vol. 3 20.3, 20.4 and table 20-2;
 * the CLI, STI, PUSHF, POPF, IRET and INT n pages). A Pentium II has them (CPUID.1:EDX.VME):
 * - CR4.VME and CR4.PVI can be set;
 * - at IOPL 0 with VME, CLI/STI/PUSHF/POPF work on VIF (PUSHF shows IF = VIF and IOPL 3), and
 *   INT n with a clear bit in the TSS's redirection bitmap goes to the program's IVT (method 6;
 *   the FLAGS image has IF = VIF, VIF is cleared), its IRET puts the image's IF in VIF; the real
 *   IF and IOPL never change;
 * - at IOPL 3 with VME, INT n with a clear bit goes to the IVT clearing IF (method 5); a set bit
 *   sends it to the IDT at IOPL 3 (method 4) and to #GP(0) below (method 3);
 * - STI, and POPF of an image with IF = 1, raise #GP(0) while VIP = 1; POPF of an image with TF,
 *   and 32-bit PUSHFD/POPFD, raise #GP(0);
 * - with PVI, CLI and STI at CPL 3 in protected mode clear and set VIF instead of faulting.
 * QEMU's TCG has no VME (its pentium2 does not advertise it): the checks print GAP there. */
#include "monitor.h"

extern uint8_t p_vme[], p_vme_next[], p_vme5[], vme_int10[];
extern uint8_t p_int30[], p_int31[], p_sti[], p_popf[], p_pushfd[], p_popfd[];

#define CR4_VME 0x1u
#define CR4_PVI 0x2u
#define VME_TSS_SEL (RING3_FIRST_FREE << 3)

/* A 32-bit TSS with an interrupt redirection bitmap: the 32 bytes below the I/O map base,
 * which lies at the limit (no I/O bitmap: every port still faults). */
static struct {
    uint32_t t[26];
    uint8_t redirect[32];
} __attribute__((packed, aligned(16))) vme_tss;

static volatile uint32_t pvi_a, pvi_b;

static void redirect_to_idt(int vector) { vme_tss.redirect[vector / 8] |= (uint8_t)(1u << (vector % 8)); }

static int int31_hook(struct v86_frame *f) {
    if (f->t.vector != 0x31)
        return 0;
    f->t.eax = 0x3131;
    return 1;
}

/* Ring 3 in protected mode under CR4.PVI: CLI, then STI, each followed by the EFLAGS PUSHFD sees. */
static uint32_t u_pvi(void) {
    __asm__ volatile("cli\n\tpushfl\n\tpopl %%ss:pvi_a\n\t"
                     "sti\n\tpushfl\n\tpopl %%ss:pvi_b" ::: "memory");
    return 0x1F;
}

static uint32_t cpuid1_edx(void) {
    uint32_t a = 1, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return d;
}

static void t_vme_iopl0(void) {
    volatile uint32_t *ivt = 0;
    __asm__("" : "+r"(ivt)); /* linear 0: the program's IVT (no null-pointer assumptions) */
    ivt[0x10] = (V86_CODE_SEG << 16) | v86_off(vme_int10);
    v86_hook = 0;
    int hlt = v86_go(p_vme, FL_IF | FL_VIF, 0x2000, 0x2000, 0, 0, 0);
    check("vme, IOPL 0: no trap", hlt && v86_traps == 0);
    check_eq("vme: cli clears VIF; pushf shows it as IF, IOPL 3", v86_out.eax & 0xFFFF, FL_IOPL3 | 2);
    check_eq("vme: sti sets VIF", v86_out.ebx & 0xFFFF, FL_IOPL3 | FL_IF | 2);
    check_eq("vme: popf takes CF, IF into VIF", v86_out.ecx & 0xFFFF, FL_IOPL3 | FL_CF | 2);
    check_eq("vme: redirected int: IVT handler runs with VIF = 0", v86_out.edx & 0xFFFF, FL_IOPL3 | FL_CF | 2);
    check_eq("vme: redirected int: FLAGS image has IF = VIF, IOPL 3", v86_out.esi & 0xFFFF,
             FL_IOPL3 | FL_IF | FL_CF | 2);
    check_eq("vme: iret puts the image's IF in VIF", v86_out.edi & 0xFFFF, FL_IOPL3 | FL_IF | FL_CF | 2);
    check_eq("vme: real IF and IOPL 0 kept, VIF 1", v86_exit_eflags & ~FL_RF, FL_VM | FL_VIF | FL_IF | FL_CF | 2);
    check_eq("vme: back at the HLT with sp balanced", v86_out.esp, V86_STACK_TOP);
}

static void t_vme_methods(void) {
    v86_hook = 0;
    int hlt = v86_go(p_vme5, FL_IOPL3 | FL_IF, 0x2000, 0x2000, 0, 0, 0);
    check("vme method 5 (IOPL 3, bit clear): to the IVT, no trap", hlt && v86_traps == 0);
    check_eq("vme method 5: handler runs with IF = 0", v86_out.edx & 0xFFFF, FL_IOPL3 | 2);
    check_eq("vme method 5: FLAGS image", v86_out.esi & 0xFFFF, FL_IOPL3 | FL_IF | 2);
    check_eq("vme method 5: iret restores IF", v86_out.edi & 0xFFFF, FL_IOPL3 | FL_IF | 2);

    redirect_to_idt(0x30);
    redirect_to_idt(0x31);
    v86_expect_fault("vme method 3 (IOPL 0, bit set): int 0x30", p_int30, p_int30, FL_IF, 13, 0);
    v86_hook = int31_hook;
    hlt = v86_go(p_int31, FL_IOPL3, 0x2000, 0x2000, 0, 0, 0);
    check("vme method 4 (IOPL 3, bit set): int 0x31 to ring 0", hlt && v86_traps == 1 && v86_log[0].vector == 0x31);
    check_eq("vme method 4: the handler's eax", v86_out.eax, 0x3131);
}

static void t_vme_faults(void) {
    v86_expect_fault("vme: sti with VIP", p_sti, p_sti, FL_IF | FL_VIP, 13, 0);
    *(volatile uint16_t *)(V86_STACK_SEG * 16 + V86_STACK_TOP) = FL_IF; /* what POPF pops */
    v86_expect_fault("vme: popf of IF = 1 with VIP", p_popf, p_popf, FL_IF | FL_VIP, 13, 0);
    *(volatile uint16_t *)(V86_STACK_SEG * 16 + V86_STACK_TOP) = FL_TF;
    v86_expect_fault("vme: popf of TF = 1", p_popf, p_popf, FL_IF, 13, 0);
    v86_expect_fault("vme: pushfd", p_pushfd, p_pushfd, FL_IF, 13, 0);
    v86_expect_fault("vme: popfd", p_popfd, p_popfd, FL_IF, 13, 0);
}

static void t_pvi(int deprivileged) {
    if (deprivileged) { /* its IRET to ring 3 is the deprivileged one: no ring-3 runs */
        printf_s("SKIP pvi at CPL 3 (deprivileged kernel: no ring-3 runs)\n");
        return;
    }
    pvi_a = pvi_b = 0;
    check_eq("pvi: ring 3 ran cli and sti", ring3_run(u_pvi, V86_STACK_SEG * 16 + V86_STACK_TOP, USER_EFLAGS), 0x1F);
    check_eq("pvi: cli at CPL 3 cleared VIF, not IF", pvi_a & (FL_VIF | FL_IF), FL_IF);
    check_eq("pvi: sti at CPL 3 set VIF", pvi_b & (FL_VIF | FL_IF), FL_VIF | FL_IF);
}

void vme_tests(int deprivileged) {
    int has_vme = (cpuid1_edx() & 2) != 0;
    const char *gap = qemu_gap("QEMU's TCG has no VME: its pentium2 does not advertise it");
    expect("vme: CPUID.1:EDX.VME (a Pentium II has it)", has_vme);
    qemu_gap(gap);
    if (!has_vme)
        return;
    write_cr4(read_cr4() | CR4_VME | CR4_PVI);
    check_eq("vme: CR4.VME and CR4.PVI set", read_cr4() & (CR4_VME | CR4_PVI), CR4_VME | CR4_PVI);

    memset(&vme_tss, 0, sizeof vme_tss);
    vme_tss.t[2] = KERNEL_DS;                /* SS0 */
    uint32_t io_base = offsetof(typeof(vme_tss), redirect) + 32; /* right after the bitmap */
    vme_tss.t[25] = io_base << 16;
    gdt_set(VME_TSS_SEL >> 3, (uint32_t)&vme_tss, io_base, 0x89, 0); /* limit: the map base */
    __asm__ volatile("ltr %w0" ::"r"(VME_TSS_SEL));
    v86_esp0 = &vme_tss.t[1];

    t_vme_iopl0();
    t_vme_methods();
    t_vme_faults();
    t_pvi(deprivileged);
}
