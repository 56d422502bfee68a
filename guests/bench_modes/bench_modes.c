/* bench_modes: sensitive and privileged instructions in a tight loop, for bench/modes/run_modes.py,
 * which runs each loop under btvm --mode translate, patch and trap.
 *
 * The multiboot command line names the loop and its iteration count:  LOOP n=N
 *   empty   the loop's own cost (dec ecx / jnz)
 *   pushf   PUSHFD / POPFD pairs              sensitive, not privileged
 *   cli     CLI / STI pairs                   privileged (IOPL-sensitive)
 *   int80   INT 0x80 to a DPL-3 interrupt gate whose asm handler counts and IRETs: a system
 *           call without the work (INT n and IRET are both sensitive)
 *   sgdt    SGDT to memory                    sensitive, not privileged
 *   in      IN AL, DX from an unassigned port  privileged (IOPL-sensitive)
 *   irq     a timer interrupt taken in HLT: STI; HLT; CLI around a PIT IRQ0 whose handler
 *           counts and sends the EOI (an OS idle loop; HLT, STI, CLI, OUT, IRET all privileged
 *           or sensitive). btvm skips idle time, so this is the delivery cost alone.
 * The kernel runs at CPL 0 with interrupts masked at both PICs, but for IRQ0 in the irq loop.
 *
 * After its loop each run prints  RESULT LOOP n=N semantics=ok|WRONG (...)  : whether the
 * instruction gave what a CPU gives this kernel at CPL 0 (PUSHF's IF after CLI, SGDT's table,
 * the INT 0x80 count; CLI/STI and IN are not checked beyond the run). In --mode trap some do
 * not: that is the point of the mode. With a loop named, a wrong semantics line is a note, not
 * a failure, so trap mode can be timed too; the INT 0x80 count is always checked. With no loop
 * named, every loop runs 1000 times and the semantics are checks (the self-test: QEMU and the
 * guest test suite, which runs --mode translate). */
#include "guest.h"
#include "idt.h"
#include "../bench_mmu/benchlib.h"

#define UNASSIGNED_PORT 0x2E0 /* no device on it in btvm or QEMU's pc machine */

void loop_empty(uint32_t n);
void loop_pushf(uint32_t n);
void loop_cli(uint32_t n);
void loop_int80(uint32_t n);
void loop_sgdt(uint32_t n, void *buf);
uint32_t loop_in(uint32_t n, uint32_t port);
void syscall_handler(void);
extern volatile uint32_t syscall_count;

static int selftest;

static volatile uint32_t irq_count;
static void irq_handler(struct trap_frame *f) {
    (void)f;
    irq_count++;
    outb(0x20, 0x20);
}

/* 8259A master at 0x20 with only IRQ0 open; 8254 channel 0 in mode 2 every 100 counts (84 us). */
static void loop_irq(uint32_t n) {
    idt_set_handler(0x20, irq_handler);
    outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01);
    outb(0x21, 0xFE);
    outb(0x43, 0x34); outb(0x40, 100); outb(0x40, 0);
    irq_count = 0;
    while (irq_count < n)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    pic_mask_all();
}

static void semantics(const char *loop, uint32_t n, int ok, const char *fmt, uint32_t a, uint32_t b) {
    printf_s("RESULT %s n=%u semantics=%s (", loop, n, ok ? "ok" : "WRONG");
    printf_s(fmt, a, b);
    printf_s(")\n");
    if (selftest) {
        char name[48];
        size_t len = strlen(loop);
        memcpy(name, loop, len);
        memcpy(name + len, ": semantics", 12);
        check(name, ok);
    }
}

static int run(const char *loop, uint32_t n) {
    if (n == 0)
        n = 1;
    if (bench_streq(loop, "empty")) {
        loop_empty(n);
        semantics(loop, n, 1, "nothing to check", 0, 0);
    } else if (bench_streq(loop, "pushf")) {
        __asm__ volatile("cli");
        loop_pushf(n);
        uint32_t f = read_eflags(); /* PUSHF at CPL 0 shows the IF it has: 0 */
        semantics(loop, n, !(f & FL_IF), "after CLI, PUSHF shows IF=%u, want %u", (f >> 9) & 1, 0);
    } else if (bench_streq(loop, "cli")) {
        loop_cli(n);
        __asm__ volatile("cli");
        /* IF is visible only through PUSHF, which the pushf loop checks: nothing to add here. */
        semantics(loop, n, 1, "privileged: not checked beyond the run", 0, 0);
    } else if (bench_streq(loop, "int80")) {
        syscall_count = 0;
        loop_int80(n);
        check_eq("int80: handler ran once per INT", syscall_count, n);
        semantics(loop, n, syscall_count == n, "%u handler runs for %u INTs", syscall_count, n);
    } else if (bench_streq(loop, "sgdt")) {
        struct __attribute__((packed)) { uint16_t limit; uint32_t base; } d = {0, 0};
        loop_sgdt(n, &d);
        int ok = d.base == gdt_address() && d.limit == GDT_ENTRIES * 8 - 1;
        semantics(loop, n, ok, "SGDT base=%08x, want %08x", d.base, gdt_address());
    } else if (bench_streq(loop, "in")) {
        uint32_t v = loop_in(n, UNASSIGNED_PORT) & 0xFF;
        semantics(loop, n, 1, "IN from port 0x2e0 read 0x%02x", v, 0);
    } else if (bench_streq(loop, "irq")) {
        loop_irq(n);
        semantics(loop, n, irq_count == n, "%u timer interrupts for %u HLTs", irq_count, n);
    } else {
        return 0;
    }
    return 1;
}

void kmain(uint32_t magic, uint32_t mbi) {
    bench_init(magic, mbi);
    gdt_install_flat();
    idt_install();
    idt_set_raw(0x80, syscall_handler, 3);
    pic_mask_all();
    const char *loop = bench_loop();
    if (loop) {
        if (!run(loop, bench_arg("n", 1000))) {
            printf_s("bench_modes: unknown loop '%s'\n", loop);
            check("known loop", 0);
        }
    } else {
        selftest = 1;
        static const char *const all[] = {"empty", "pushf", "cli", "int80", "sgdt", "in", "irq", 0};
        for (int i = 0; all[i]; i++)
            run(all[i], 1000);
    }
    finish("bench_modes");
}
