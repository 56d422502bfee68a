/* reverse: the guest that tests/gdb drives backwards (reverse-stepi, reverse-continue) through
 * btvm's gdb stub on a replayed run with machine snapshots. The PIT interrupts it all the time
 * and every round folds the tick count into rev_mix, so the final state depends on the exact
 * instructions the interrupts arrive at: a re-run from a snapshot that took one elsewhere would
 * end in another --state-hash. What gdb gets to do:
 * - rev_round is written before each call of rev_checkpoint (breakpoints and a write
 *   watchpoint hit by reverse-continue);
 * - rev_value is written (11 -> 22) right before rev_after_store is called: reverse-stepi
 *   back over the store shows the old value.
 * The guest checks that the timer interrupted it and that its rounds all ran. Under btvm's
 * virtual clock the PIT counts instructions, so more than 10 ticks fall inside the rounds on any
 * host. Under QEMU (the qemu suite) the PIT follows the host clock: a loaded host may run all
 * rounds between two ticks, so there the guest requires only that a tick arrives within a spin
 * long enough for any host (thousands of tick periods), and says so. */
#include "guest.h"
#include "idt.h"
#include "../exceptions/expect.h"

#define ROUNDS 12
#define PIT_DIVISOR 60 /* ~20 kHz: an IRQ every ~50,000 instructions of btvm's virtual clock */
#define QEMU_TICK_SPIN (1u << 28) /* iterations waiting for one tick under QEMU: >= 0.1 s */

volatile uint32_t rev_value = 11;
volatile uint32_t rev_round;
volatile uint32_t rev_ticks;
volatile uint32_t rev_mix = 1;
volatile uint32_t rev_stored;

__attribute__((noinline)) void rev_checkpoint(void) { __asm__ volatile(""); }
__attribute__((noinline)) void rev_after_store(void) { rev_stored = rev_value; }

static void on_tick(struct trap_frame *f) {
    (void)f;
    rev_ticks++;
    outb(0x20, 0x20); /* EOI */
}

/* Under QEMU: the ticks seen in the rounds, and whether one more came within the spin. Out of
 * line, so that kmain's code (which tests/gdb steps through) stays as it was. QEMU is detected
 * here, after the rounds: with its fw_cfg reads at the start of kmain, the gdb suite's "plain"
 * case (go back to the start of history, run to the end) ended in another state hash than the
 * straight run, under the old dispatcher too (not investigated: reported). */
static uint32_t qemu_round_ticks, qemu_spin_ticked;
__attribute__((noinline)) static void qemu_wait_for_tick(void) {
    detect_reference();
    if (!on_qemu)
        return;
    uint32_t t = rev_ticks;
    qemu_round_ticks = t;
    for (uint32_t spin = 0; spin < QEMU_TICK_SPIN && rev_ticks == t; spin++) {
    }
    qemu_spin_ticked = rev_ticks != t;
}

__attribute__((noinline)) static void check_timer(void) {
    if (on_qemu) {
        printf_s("note: QEMU's PIT follows the host clock: %u ticks in the rounds (not checked)\n",
                 qemu_round_ticks);
        check("the timer interrupted a spin (QEMU)", qemu_spin_ticked);
    } else {
        check("the timer interrupted the rounds", rev_ticks > 10);
    }
}

static void pic_remap_timer_only(void) {
    outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01); /* master at 0x20 */
    outb(0xa0, 0x11); outb(0xa1, 0x28); outb(0xa1, 0x02); outb(0xa1, 0x01); /* slave at 0x28 */
    outb(0x21, 0xfe); /* IRQ0 only */
    outb(0xa1, 0xff);
}

static void work(uint32_t n) {
    for (uint32_t i = 0; i < n; i++) rev_mix = rev_mix * 31 + rev_ticks + i;
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)magic;
    (void)mbi;
    pic_mask_all();
    idt_install();
    idt_set_handler(0x20, on_tick);
    pic_remap_timer_only();
    outb(0x43, 0x34); /* counter 0, lobyte/hibyte, mode 2 */
    outb(0x40, PIT_DIVISOR & 0xff);
    outb(0x40, PIT_DIVISOR >> 8);
    __asm__ volatile("sti");
    uint32_t rounds = 0;
    for (uint32_t r = 1; r <= ROUNDS; r++) {
        work(20000);
        rev_round = r;
        rev_checkpoint();
        rounds++;
    }
    rev_value = 22;
    rev_after_store();
    work(20000);
    qemu_wait_for_tick();
    __asm__ volatile("cli");
    check_eq("all rounds ran", rounds, ROUNDS);
    check_eq("rev_after_store saw the new value", rev_stored, 22);
    check_timer();
    printf_s("mix %08x\n", rev_mix);
    finish("reverse");
}
