/* Probes: one access at CPL 0 or 3 under TRY, and what the fault must look like. */
#include "pae.h"

static uint8_t ustack[4096] __attribute__((aligned(16)));
#define USTACK_TOP ((uint32_t)ustack + sizeof ustack)

/* ---------------------------------------------------------------- catching faults */

volatile uint32_t last_cr2;
static void cr2_hook(struct trap_frame *f) { (void)f; last_cr2 = read_cr2(); }
static void arm(void) {
    trap_arm();
    trap_hook = cr2_hook;
    last_cr2 = 0xBADBAD;
}

volatile uint32_t u_va;
static uint32_t do_read(void) {
    uint32_t v = 0xEEEEEEEE;
    __asm__ volatile(TRY("movl (%1), %0") : "+r"(v) : "r"(u_va) : "memory");
    return v;
}
static uint32_t do_write(void) {
    __asm__ volatile(TRY("movl %1, (%0)") ::"r"(u_va), "r"(0x5EED0000 | (u_va >> 12)) : "memory");
    return 0;
}
uint32_t probe(int ring, uint32_t va, int write) {
    u_va = va;
    arm();
    if (ring == 3)
        return ring3_run(write ? (void *)do_write : (void *)do_read, USTACK_TOP, USER_EFLAGS);
    return write ? do_write() : do_read();
}

/* One fault of this vector and error code at the instruction under test. The saved CS and
 * EFLAGS are the exceptions guest's business: they are not checked here, so that this guest
 * also passes where the kernel runs deprivileged (btvm --mode trap), in which MOV r,CS and
 * PUSHF, both sensitive, show the VMM's real state instead of the guest's. */
void expect_trap_at(const char *name, uint32_t vector, uint32_t err) {
    expect_eq(cat(name, "one trap"), trap_count, 1);
    expect_eq(cat(name, "vector"), trap_log[0].vector, vector);
    expect_eq(cat(name, "error code"), trap_log[0].error_code, err);
    expect_eq(cat(name, "saved eip"), trap_log[0].eip, trap_insn);
}

/* Ring-3 probes need a real ring 3 below the kernel. Deprivileged (MOV r,CS shows RPL 3 in our
 * ring 0, as under a trap-and-emulate VMM), they are skipped, each with a SKIP line. */
int deprivileged;

void fault(const char *name, int ring, uint32_t va, int write, uint32_t err) {
    if (ring == 3 && deprivileged) {
        printf_s("SKIP %s (deprivileged kernel: no ring-3 probes)\n", name);
        return;
    }
    probe(ring, va, write);
    expect_trap_at(name, 14, err);
    if (ring == 3)
        expect_eq(cat(name, "saved cs"), trap_log[0].cs, USER_CS);
    expect_eq(cat(name, "cr2"), last_cr2, va);
}
void no_fault(const char *name, int ring, uint32_t va, int write) {
    if (ring == 3 && deprivileged) {
        printf_s("SKIP %s (deprivileged kernel: no ring-3 probes)\n", name);
        return;
    }
    probe(ring, va, write);
    expect_none(name);
}
/* A reserved-bit fault: SDM 4.7, RSVD is reported with P = 1. */
void rsvd_fault(const char *name, int ring, uint32_t va, int write) {
    const char *old = qemu_gap("QEMU 7.2 TCG reports a reserved-bit #PF with P = 0");
    fault(name, ring, va, write, PF_P | PF_RSVD | (write ? PF_W : 0) | (ring == 3 ? PF_U : 0));
    qemu_gap(old);
}

uint32_t cpuid1_edx(void) {
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1));
    return d;
}

void set_wp(int on) { write_cr0(on ? read_cr0() | CR0_WP : read_cr0() & ~CR0_WP); }

/* MOV to a control register that may raise #GP(0): returns the trap count. */
uint32_t try_write_cr(int n, uint32_t v) {
    arm();
    if (n == 0)
        __asm__ volatile(TRY("movl %0, %%cr0") ::"r"(v) : "memory");
    else if (n == 3)
        __asm__ volatile(TRY("movl %0, %%cr3") ::"r"(v) : "memory");
    else
        __asm__ volatile(TRY("movl %0, %%cr4") ::"r"(v) : "memory");
    return trap_count;
}
