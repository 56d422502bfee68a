/* tasks: call gates, conforming code segments, far RET to an outer level, hardware task
 * switching and the TSS I/O permission bitmap, checked against the Intel SDM vol. 3 (5.8 call
 * gates, 5.8.6 returning from a called procedure, ch. 7 task management, 18.5 I/O protection)
 * and the CALL/JMP/RET/IRET/INT n pages of vol. 2.
 *
 * Where the kernel runs deprivileged (btvm --mode trap: MOV r,CS shows RPL 3 in ring 0), a
 * trap-and-emulate VMM cannot give ring transitions their meaning (a far RET or IRET from the
 * kernel to ring 3 is a same-level return on the real CPU): the ring-3 checks print SKIP, and
 * the task switches (which trap: their descriptors have DPL 0) are checked without STR. */
#include "tasks.h"

uint64_t big_gdt[64] __attribute__((aligned(8)));
static uint64_t ldt[2] __attribute__((aligned(8)));
int deprivileged;

static uint64_t desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
    return (limit & 0xFFFFull) | ((uint64_t)(base & 0xFFFFFF) << 16) | ((uint64_t)access << 40) |
           ((uint64_t)((limit >> 16) & 0xF) << 48) | ((uint64_t)(flags & 0xF) << 52) |
           ((uint64_t)(base >> 24) << 56);
}

void gdt_put(uint16_t sel, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
    big_gdt[sel >> 3] = desc(base, limit, access, flags);
}

/* A gate: selector, offset (the high half for 32-bit gates only), access byte, parameter count. */
void gate_put(uint64_t *slot, uint16_t sel, uint32_t off, uint8_t access, uint8_t params) {
    *slot = (off & 0xFFFFull) | ((uint64_t)sel << 16) | ((uint64_t)(params & 0x1F) << 32) |
            ((uint64_t)access << 40) | ((uint64_t)(off >> 16) << 48);
}

uint64_t gdt_raw(uint16_t sel) { return big_gdt[sel >> 3]; }

/* ------------------------------------------------------------------ ring 3 */

static void user_abort_hook(struct trap_frame *f) {
    if (f->cs & 3)
        ring3_abort(f, ABORTED);
}

static ptable pd, pt0;
static uint8_t ustack[8192] __attribute__((aligned(16)));

uint32_t run_user_iopl(void *fn, uint32_t iopl) {
    trap_arm();
    trap_hook = user_abort_hook;
    return ring3_run(fn, (uint32_t)ustack + sizeof ustack, USER_EFLAGS | (iopl << 12));
}
uint32_t run_user(void *fn) { return run_user_iopl(fn, 0); }

/* One fault taken at ring 3 that ended the run: vector and error code. */
void expect_user_fault(const char *name, uint32_t vector, uint32_t err) {
    expect_eq(cat(name, "trap count"), trap_count, 1);
    expect_eq(cat(name, "vector"), trap_log[0].vector, vector);
    expect_eq(cat(name, "error code"), trap_log[0].error_code, err);
    expect_eq(cat(name, "from ring 3"), trap_log[0].cs & 3, 3);
}

/* A fault of the instruction under TRY at ring 0. A deprivileged kernel reads its CS and
 * EFLAGS through MOV r,CS and PUSHF, which show the VMM's view: there only what the CPU pushed
 * that does not depend on them is compared. */
void expect_kernel_fault(const char *name, uint32_t vector, uint32_t err) {
    if (!deprivileged) {
        expect_fault(name, vector, err);
        return;
    }
    expect_eq(cat(name, "one trap"), trap_count, 1);
    expect_eq(cat(name, "vector"), trap_log[0].vector, vector);
    expect_eq(cat(name, "error code"), trap_log[0].error_code, err);
    expect_eq(cat(name, "saved eip"), trap_log[0].eip, trap_insn);
}

/* ------------------------------------------------------------------ set-up */

struct __attribute__((packed)) dtr { uint16_t limit; uint32_t base; };

static void load_big_gdt(void) {
    for (int i = 0; i < 6; i++)
        big_gdt[i] = gdt_get(i); /* null, kernel and user segments, the (busy) library TSS */
    struct dtr g = {sizeof big_gdt - 1, (uint32_t)big_gdt};
    __asm__ volatile("lgdt %0" ::"m"(g));
    /* The LDT: entry 0 is a task gate to task D (filled in by switch_tests). */
    gdt_put(SEL_LDT, (uint32_t)ldt, sizeof ldt - 1, 0x82, 0);
    __asm__ volatile("lldt %w0" ::"r"(SEL_LDT));
}

uint64_t *ldt_slot(int i) { return &ldt[i]; }

void kmain(uint32_t magic, uint32_t mbi) {
    (void)magic;
    (void)mbi;
    idt_install();
    gdt_install_flat();
    detect_reference();
    ring3_setup();
    load_big_gdt();
    trap_catch(0, 31);
    pg_identity_low(&pd, &pt0, PG_W | PG_U);
    paging_on(&pd);
    deprivileged = (read_cs() & 3) != 0;
    if (deprivileged)
        printf_s("note: MOV r,CS shows RPL %u in ring 0: running deprivileged\n", read_cs() & 3);
    switch_setup();
    gates_tests();
    switch_tests();
    iomap_tests();
    expect_finish("tasks");
}
