/* reverse: the guest that tests/gdb drives backwards (reverse-stepi, reverse-continue) through
 * btvm's gdb stub on a replayed run with machine snapshots. The PIT interrupts it all the time
 * and every round folds the tick count into rev_mix, so the final state depends on the exact
 * instructions the interrupts arrive at: a re-run from a snapshot that took one elsewhere would
 * end in another --state-hash. What gdb gets to do:
 * - rev_round is written before each call of rev_checkpoint (breakpoints and a write
 *   watchpoint hit by reverse-continue);
 * - rev_value is written (11 -> 22) right before rev_after_store is called: reverse-stepi
 *   back over the store shows the old value.
 * The guest checks that the timer interrupted it and that its rounds all ran. */
#include "guest.h"
#include "idt.h"

#define ROUNDS 12
#define PIT_DIVISOR 60 /* ~20 kHz: an IRQ every ~50,000 instructions of btvm's virtual clock */

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
    __asm__ volatile("cli");
    check_eq("all rounds ran", rounds, ROUNDS);
    check_eq("rev_after_store saw the new value", rev_stored, 22);
    check("the timer interrupted the rounds", rev_ticks > 10);
    printf_s("mix %08x\n", rev_mix);
    finish("reverse");
}
