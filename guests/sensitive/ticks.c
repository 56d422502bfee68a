/* The classic failure with a real clock: a kernel closes a critical section with POPF and relies
 * on it to turn interrupts back on. On a CPU at ring 0 the timer keeps ticking afterwards. Under
 * a pure trap-and-emulate VMM (btvm --mode trap) POPF silently keeps IF=0: the kernel has lost
 * its clock, and nothing traps to tell anyone. */
#include "tour.h"

#define TICK_VECTOR 0x20
#define SPIN_BOUND 20000000u /* many timer periods on any host or clock; never hangs */

static volatile uint32_t ticks;

static void tick(struct trap_frame *f) {
    (void)f;
    ticks++;
    outb(0x20, 0x20); /* non-specific EOI */
}

static void timer_start(void) {
    /* 8259A: master at 0x20, slave at 0x28, only IRQ0 unmasked. */
    outb(0x20, 0x11); outb(0x21, TICK_VECTOR); outb(0x21, 0x04); outb(0x21, 0x01);
    outb(0xA0, 0x11); outb(0xA1, 0x28); outb(0xA1, 0x02); outb(0xA1, 0x01);
    outb(0x21, 0xFE); outb(0xA1, 0xFF);
    /* 8254 channel 0, mode 2, 1193 counts of 1.193182 MHz: a 1 kHz tick. */
    outb(0x43, 0x34); outb(0x40, 1193 & 0xFF); outb(0x40, 1193 >> 8);
}

void t_timer_idiom(void) {
    idt_set_handler(TICK_VECTOR, tick);
    timer_start();
    ticks = 0;
    __asm__ volatile("sti");
    arm();
    __asm__ volatile(CATCH("pushfl\n\tcli\n\tnop\n\tpopfl") : : : "memory", "cc");
    uint32_t i;
    for (i = 0; i < SPIN_BOUND && ticks < 3; i++)
        __asm__ volatile("" ::: "memory");
    __asm__ volatile("cli");
    pic_mask_all();
    report(IDIOM, "timer after pushf;cli;popf", "ticking", ticks >= 3 ? "ticking" : "no ticks");
}
