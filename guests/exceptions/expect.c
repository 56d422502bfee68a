/* Catching expected traps: see expect.h. */
#include "expect.h"

volatile struct trap_rec trap_log[TRAP_LOG];
volatile uint32_t trap_count;
volatile uint32_t trap_flags, trap_insn, trap_next;
volatile uint32_t trap_resume;
volatile uint32_t trap_eflags_clear;
void (*volatile trap_hook)(struct trap_frame *f);

static void recorder(struct trap_frame *f) {
    uint32_t n = trap_count++;
    if (n >= 64) { /* a fault nobody resumes re-runs forever: stop the run instead */
        printf_s("FAIL: runaway trap %u at %08x\n", f->vector, f->eip);
        guest_exit(0x11);
    }
    volatile struct trap_rec *r = &trap_log[n < TRAP_LOG ? n : TRAP_LOG - 1];
    r->vector = f->vector;
    r->error_code = f->error_code;
    r->eip = f->eip;
    r->cs = f->cs & 0xFFFF; /* the CPU may leave the upper half of the CS slot unwritten */
    r->eflags = f->eflags;
    r->eax = f->eax;
    r->ecx = f->ecx;
    r->edx = f->edx;
    r->ebx = f->ebx;
    r->esi = f->esi;
    r->edi = f->edi;
    r->ebp = f->ebp;
    r->esp = (uint32_t)&f->user_esp;
    r->ds = f->ds & 0xFFFF;
    r->es = f->es & 0xFFFF;
    r->handler_eflags = read_eflags();
    /* Consume the resume address before the hook: a hook may raise traps of its own. */
    if (trap_resume) {
        f->eip = trap_resume;
        f->eflags &= ~trap_eflags_clear;
        trap_resume = 0;
    }
    if (trap_hook)
        trap_hook(f);
}

void trap_catch(int first, int last) {
    for (int v = first; v <= last; v++)
        idt_set_handler(v, recorder);
}

void trap_arm(void) {
    trap_count = 0;
    trap_resume = 0;
    trap_eflags_clear = 0;
    trap_hook = 0;
    memset((void *)trap_log, 0, sizeof trap_log);
}

const char *cat(const char *a, const char *b) {
    static char buf[96];
    size_t n = 0;
    for (; *a && n < sizeof buf - 3; a++)
        buf[n++] = *a;
    buf[n++] = ':';
    buf[n++] = ' ';
    for (; *b && n < sizeof buf - 1; b++)
        buf[n++] = *b;
    buf[n] = 0;
    return buf;
}

int on_qemu;
static const char *gap_why;
static uint32_t gaps;

/* QEMU's fw_cfg device: select key 0 (signature) at port 0x510, read "QEMU" from 0x511. On a
 * machine without it the ports float (0xFF). */
/* btvm answers QEMU's fw_cfg too (for the kernels written against it), signature and all; its
 * file directory lists only etc/e820, QEMU's pc many more (ACPI, SMBIOS, option ROMs). Under
 * btvm a GAP check must stay a failure. */
static uint32_t fw_cfg_files(void) {
    outw(0x510, 0x19);
    uint32_t n = 0;
    for (int i = 0; i < 4; i++)
        n = n << 8 | inb(0x511);
    return n;
}

void detect_reference(void) {
    char sig[4];
    outw(0x510, 0);
    for (int i = 0; i < 4; i++)
        sig[i] = (char)inb(0x511);
    on_qemu = memcmp(sig, "QEMU", 4) == 0 && fw_cfg_files() > 1;
    if (on_qemu)
        printf_s("note: running under QEMU: its known deviations from the SDM print as GAP\n");
}

const char *qemu_gap(const char *why) {
    const char *old = gap_why;
    gap_why = why;
    return old;
}

static int in_gap(void) { return on_qemu && gap_why; }

void expect(const char *name, int ok) {
    if (!ok && in_gap()) {
        gaps++;
        printf_s("GAP  %s (%s)\n", name, gap_why);
        return;
    }
    check(name, ok);
}

void expect_eq(const char *name, uint32_t got, uint32_t want) {
    if (got != want && in_gap()) {
        gaps++;
        printf_s("GAP  %s: got 0x%08x, SDM wants 0x%08x (%s)\n", name, got, want, gap_why);
        return;
    }
    check_eq(name, got, want);
}

void expect_finish(const char *guest) {
    if (gaps)
        printf_s("%u checks not counted: known QEMU deviations (GAP lines above)\n", gaps);
    finish(guest);
}

static void expect_common(const char *name, uint32_t vector, uint32_t eip) {
    expect_eq(cat(name, "one trap"), trap_count, 1);
    expect_eq(cat(name, "vector"), trap_log[0].vector, vector);
    expect_eq(cat(name, "saved eip"), trap_log[0].eip, eip);
    expect_eq(cat(name, "saved cs"), trap_log[0].cs, read_cs());
}

void expect_fault(const char *name, uint32_t vector, uint32_t error_code) {
    if (trap_count == 0 && in_gap()) { /* one line, not one per field */
        gaps++;
        printf_s("GAP  %s: no fault (%s)\n", name, gap_why);
        return;
    }
    expect_common(name, vector, trap_insn);
    expect_eq(cat(name, "error code"), trap_log[0].error_code, error_code);
    expect_eq(cat(name, "saved eflags"), trap_log[0].eflags & ~FL_RF, trap_flags);
    const char *old = qemu_gap("QEMU TCG pushes RF = 0 for faults");
    expect(cat(name, "saved RF = 1"), trap_log[0].eflags & FL_RF);
    qemu_gap(old);
}

void expect_trap(const char *name, uint32_t vector) {
    expect_common(name, vector, trap_next);
    expect_eq(cat(name, "saved eflags"), trap_log[0].eflags, trap_flags);
}

void expect_none(const char *name) { expect_eq(cat(name, "no trap"), trap_count, 0); }

struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint32_t base;
};

uint32_t idt_base(void) {
    struct dtr d;
    __asm__ volatile("sidt %0" : "=m"(d));
    return d.base;
}

uint8_t *idt_gate(int vector) { return (uint8_t *)(idt_base() + 8 * (uint32_t)vector); }

void idt_load(uint32_t base, uint16_t limit) {
    struct dtr d = {limit, base};
    __asm__ volatile("lidt %0" ::"m"(d));
}
