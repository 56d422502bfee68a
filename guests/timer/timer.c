/* timer: the PC's interrupt and timer hardware as a kernel programs it: the two cascaded 8259A
 * PICs (pic.c, prio.c), the 8254 interval timer (pit.c, speaker.c for counter 2 behind port
 * 0x61) and the MC146818 real-time clock (rtc.c). Expected behaviour comes from the Intel 8259A
 * and 82C54 and the Motorola MC146818 datasheets; QEMU is the reference it must pass on.
 *
 * Time: under QEMU it is real time, under btvm virtual time (1 ns per guest instruction, HLT
 * skips ahead to the next timer event). So no check assumes a loop takes any given time: waits
 * are "sti; hlt until a counter reaches K" or "poll until a register changes", each bounded, a
 * hit bound failing its check, and a HLT loop gives up after a bounded number of wakeups. A
 * HLT that no interrupt ever ends would still hang QEMU (btvm ends such a run with status 6),
 * so where a bug could leave the source stuck (automatic EOI) the wait polls instead. */
#include "timer.h"

volatile uint32_t irq_count[16];
volatile uint32_t irq_spurious;
volatile uint8_t irq_log[IRQ_LOG_MAX];
volatile uint32_t irq_log_len;
irq_hook_fn volatile irq_hook[16];

void irq_eoi(int irq) {
    if (irq >= 8)
        outb(PIC_S, EOI);
    outb(PIC_M, EOI);
}

uint32_t irq_total_except(int a, int b) {
    uint32_t n = 0;
    for (int i = 0; i < 16; i++)
        if (i != a && i != b)
            n += irq_count[i];
    return n + irq_spurious;
}

void irq_log_reset(void) {
    uint32_t f = irq_save();
    irq_log_len = 0;
    irq_restore(f);
}

static void pic_vector(struct trap_frame *f) {
    int irq = (int)f->vector - VEC_M;
    /* 8259A: a request that vanishes before INTA gets IR7 of that PIC with no ISR bit set (a
     * spurious interrupt), which must not be EOI'd (its EOI would end another IRQ's service). */
    if ((irq & 7) == 7 && !(pic_reg(irq == 7 ? PIC_M : PIC_S, OCW3_ISR) & 0x80)) {
        irq_spurious++;
        if (irq == 15)
            outb(PIC_M, EOI); /* the master did see its IR2 */
        return;
    }
    irq_count[irq]++;
    if (irq_log_len < IRQ_LOG_MAX)
        irq_log[irq_log_len++] = (uint8_t)irq;
    irq_hook_fn h = irq_hook[irq];
    if (h)
        h(irq);
    else
        irq_eoi(irq);
}

int halt_until(volatile uint32_t *c, uint32_t target) {
    uint32_t wakeups = 0, max = (target - *c) * 4 + 64; /* other sources may wake us too */
    cli();
    while ((int32_t)(*c - target) < 0) {
        if (wakeups++ >= max)
            return 0;
        /* STI's one-instruction shadow: an interrupt pending here is taken after HLT starts,
         * so it wakes the HLT instead of slipping in before it. */
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
    return 1;
}

int spin_until(volatile uint32_t *c, uint32_t target, uint32_t bound) {
    uint32_t i = 0;
    sti();
    while ((int32_t)(*c - target) < 0 && i < bound)
        i++;
    cli();
    return (int32_t)(*c - target) >= 0;
}

/* What the BIOS (SeaBIOS, then QEMU's multiboot loader) left, for btvm's reset state. */
static void bios_state(void) {
    uint8_t imr_m = inb(PIC_M + 1), imr_s = inb(PIC_S + 1);
    outb(PIT_CTRL, 0xE2); /* read-back: status only, counter 0 */
    uint8_t st0 = inb(0x40);
    outb(PIC_M, OCW3_IRR);
    uint8_t irr_m = inb(PIC_M);
    outb(PIC_M, OCW3_ISR);
    uint8_t isr_m = inb(PIC_M);
    outb(PIC_S, OCW3_IRR);
    uint8_t irr_s = inb(PIC_S);
    outb(PIC_S, OCW3_ISR);
    uint8_t isr_s = inb(PIC_S);
    outb(0x70, RTC_A);
    uint8_t a = inb(0x71);
    outb(0x70, RTC_B);
    uint8_t b = inb(0x71);
    printf_s("BIOS state: master IMR %02x, slave IMR %02x, PIT counter 0 status %02x\n", imr_m,
             imr_s, st0);
    printf_s("BIOS state: master IRR %02x ISR %02x, slave IRR %02x ISR %02x\n", irr_m, isr_m,
             irr_s, isr_s);
    printf_s("BIOS state: RTC A %02x B %02x, port 0x61 %02x\n", a, b, inb(PORT_B));
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)mbi;
    bios_state(); /* before anything is touched */
    if (magic != MULTIBOOT_LOADER_MAGIC)
        printf_s("     (not started by a multiboot loader: magic %08x)\n", magic);
    idt_install();
    for (int v = VEC_M; v < VEC_S + 8; v++)
        idt_set_handler(v, pic_vector);

    test_pic_init();
    test_pit_ticks();
    test_pic_pending();
    test_pit_latch();
    test_speaker();
    test_pit_oneshot();
    test_irq_window();
    test_rtc();
    test_pic_priority();
    test_pic_aeoi();

    cli();
    pic_set_mask(0xFFFF);
    cmos_write(RTC_B, cmos_read(RTC_B) & ~0x40); /* periodic interrupt off */
    cmos_read(RTC_C);
    outb(PORT_B, inb(PORT_B) & ~0x03); /* counter 2 gate and speaker off */
    finish("timer");
}
