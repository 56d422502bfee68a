/* serial: the 16550A UART on COM1 as an interrupt-driven driver uses it (Linux's 8250 driver is
 * the model): the probe that must find a 16550A, COM2 absent, loopback receive through the
 * FIFO with the character-timeout and trigger-level interrupts, output pushed by THRE
 * interrupts, and input that the test runner pipes into the emulator's stdin, taken by
 * received-data interrupts. Expected behaviour from the PC16550D data sheet; it must pass on
 * QEMU (tests/guests/run_serial_guest.py --wait-ready feeds QEMU the input only once we say
 * "ready", because QEMU takes input before a driver is ready; btvm holds it until RTS is up).
 *
 * Waits are "sti; hlt until a counter moves" with a bound on wakeups. Only IRQ 4 is unmasked,
 * so a HLT that nothing ends hangs QEMU (the runner's timeout) and ends btvm with status 6. */
#include "guest.h"
#include "idt.h"

#define COM1 0x3F8
#define COM2 0x2F8
enum { RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define PIC_M 0x20
#define PIC_S 0xA0
#define VEC_COM1 (0x20 + 4)

/* The input the runner sends (run_serial_guest.py makes the same bytes): more than a FIFO. */
#define INPUT_LEN 300
static uint8_t input_byte(uint32_t i) {
    return i % 50 == 49 ? '\n' : (uint8_t)('a' + (i * 7 + i / 50) % 26);
}

static volatile uint32_t irqs, rx_irqs, timeout_irqs, thre_irqs, lsr_irqs, msr_irqs, lsr_errors;
static volatile uint8_t rx_buf[INPUT_LEN + 16];
static volatile uint32_t rx_len;
static const char *volatile tx_msg;
static volatile uint32_t tx_len, tx_pos;

static void uart_out(int reg, uint8_t v) { outb(COM1 + reg, v); }
static uint8_t uart_in(int reg) { return inb(COM1 + reg); }

/* Takes received bytes while there is room; returns 0 if bytes were left in the FIFO. */
static int drain_rx(void) {
    uint8_t lsr;
    while ((lsr = uart_in(LSR)) & 0x01) {
        if (lsr & 0x1e)
            lsr_errors++;
        if (rx_len == sizeof rx_buf)
            return 0;
        rx_buf[rx_len++] = uart_in(RBR);
    }
    return 1;
}

/* THR empty: refill up to the 16-byte FIFO; when the message is out, stop THRE interrupts. */
static void fill_tx(void) {
    for (int i = 0; i < 16 && tx_pos < tx_len; i++)
        uart_out(THR, (uint8_t)tx_msg[tx_pos++]);
    if (tx_pos == tx_len)
        uart_out(IER, uart_in(IER) & ~0x02);
}

/* The 8250 driver's loop: serve IIR until it says no interrupt is pending. */
static void com1_isr(struct trap_frame *f) {
    (void)f;
    irqs++;
    for (int n = 0; n < 64; n++) {
        uint8_t iir = uart_in(IIR);
        if (iir & 0x01)
            break;
        switch (iir & 0x0f) {
        case 0x06: lsr_irqs++; lsr_errors++; uart_in(LSR); break;
        case 0x04: rx_irqs++; if (!drain_rx()) n = 64; break; /* full: main re-arms */
        case 0x0c: timeout_irqs++; if (!drain_rx()) n = 64; break;
        case 0x02: thre_irqs++; fill_tx(); break;
        default: msr_irqs++; uart_in(MSR); break;
        }
    }
    outb(PIC_M, 0x20);
}

static void pic_init_com1_only(void) {
    outb(PIC_M, 0x11); outb(PIC_M + 1, 0x20); outb(PIC_M + 1, 0x04); outb(PIC_M + 1, 0x01);
    outb(PIC_S, 0x11); outb(PIC_S + 1, 0x28); outb(PIC_S + 1, 0x02); outb(PIC_S + 1, 0x01);
    outb(PIC_M + 1, (uint8_t)~(1u << 4));
    outb(PIC_S + 1, 0xff);
}

/* Ends with IF=0. Halts with IF=1 until *c reaches target; 0 after too many wakeups. */
static int halt_until(volatile uint32_t *c, uint32_t target, uint32_t max_wakeups) {
    uint32_t w = 0;
    __asm__ volatile("cli");
    while (*c < target) {
        if (w++ >= max_wakeups)
            return 0;
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
    return 1;
}

static void test_probe(void) {
    uart_out(SCR, 0x5a);
    check_eq("probe: scratch register holds a byte", uart_in(SCR), 0x5a);
    uart_out(IER, 0x00);
    uint8_t a = uart_in(IER) & 0x0f;
    uart_out(IER, 0x0f);
    uint8_t b = uart_in(IER) & 0x0f;
    uart_out(IER, 0x00);
    check("probe: IER bits 3:0 read back (0 then 0xf)", a == 0 && b == 0x0f);
    uart_out(MCR, 0x1a); /* loopback, OUT2, RTS: our own output would loop back, so check after */
    uint8_t msr = uart_in(MSR) & 0xf0;
    uart_out(MCR, 0x08);
    check_eq("probe: loopback MSR bits 7:4 = DCD|CTS", msr, 0x90);
    uart_out(FCR, 0x01);
    check_eq("probe: FIFO on, IIR bits 7:6 = 11 (a 16550A)", uart_in(IIR) & 0xc0, 0xc0);
    uart_out(FCR, 0x00);
    check_eq("probe: FIFO off, IIR = 01", uart_in(IIR), 0x01);
    check_eq("probe: LSR THRE|TEMT when idle", uart_in(LSR) & 0x60, 0x60);
    check_eq("COM2 absent: LSR reads ff", inb(COM2 + LSR), 0xff);
    check_eq("COM2 absent: IIR reads ff", inb(COM2 + IIR), 0xff);
}

static void test_loopback(void) {
    uart_out(LCR, 0x80); /* 115200 8N1 */
    uart_out(0, 1);
    uart_out(1, 0);
    uart_out(LCR, 0x03);
    uart_out(FCR, 0x87); /* FIFO on, both reset, trigger 8 */
    uart_out(MCR, 0x18); /* loopback, OUT2: the PC's interrupt enable */
    rx_len = 0;
    uart_out(IER, 0x05); /* received data, line status */
    /* Results are kept and checked after loopback ends: check()'s output would loop back. */
    uart_out(THR, 'a');
    uart_out(THR, 'b');
    uint32_t early_irqs = irqs;
    int got2 = halt_until(&rx_len, 2, 16);
    uint32_t timeouts = timeout_irqs, datas = rx_irqs;
    int order = rx_buf[0] == 'a' && rx_buf[1] == 'b';
    for (int i = 0; i < 8; i++)
        uart_out(THR, (uint8_t)('0' + i));
    int got10 = halt_until(&rx_len, 10, 16);
    uart_out(IER, 0x00);
    uart_out(MCR, 0x08);
    check_eq("loopback: 2 bytes below the trigger: no interrupt at once", early_irqs, 0);
    check("loopback: character timeout delivers the 2 bytes", got2);
    check("loopback: ... by a timeout interrupt (IIR 0xcc)", timeouts >= 1 && datas == 0);
    check("loopback: bytes in order", order);
    check("loopback: 8 bytes reach the trigger: received-data interrupt", got10 && rx_irqs > datas);
    check("loopback: nothing of it on the line, no line errors", lsr_errors == 0 && rx_len == 10);
}

static const char kThreMsg[] = "serial: output pushed by THRE interrupts, 16 bytes per interrupt, "
                               "as Linux's 8250 driver does\n";

static void test_thre(void) {
    uint32_t before = irqs;
    tx_msg = kThreMsg;
    tx_len = sizeof kThreMsg - 1;
    tx_pos = 0;
    thre_irqs = 0;
    /* Enabling ETBEI while THR is empty raises the THRE interrupt: that starts the output. */
    uart_out(IER, 0x02);
    check("thre: whole message sent", halt_until(&tx_pos, tx_len, 64));
    check("thre: by interrupts", thre_irqs >= (tx_len + 15) / 16 && irqs > before);
    check_eq("thre: ETBEI off at the end", uart_in(IER), 0x00);
}

static void test_input(void) {
    uart_out(FCR, 0x87);
    rx_len = 0;
    lsr_errors = 0;
    uart_out(IER, 0x05);
    uart_out(MCR, 0x0b); /* DTR, RTS, OUT2: a driver's port is open */
    serial_puts("serial: ready for input\n");
    int all = halt_until(&rx_len, INPUT_LEN, 8 * INPUT_LEN);
    uart_out(IER, 0x00);
    check("input: all piped bytes arrived", all);
    printf_s("input: %u bytes by %u data and %u timeout interrupts\n", rx_len, rx_irqs, timeout_irqs);
    uint32_t bad = INPUT_LEN;
    for (uint32_t i = 0; i < INPUT_LEN && i < rx_len; i++)
        if (rx_buf[i] != input_byte(i)) {
            bad = i;
            break;
        }
    check_eq("input: first wrong byte (300: none)", bad, INPUT_LEN);
    check_eq("input: no overrun or line error", lsr_errors, 0);
}

/* "echo" on the command line: a console for tests/cli/run_console_tests.py. Every byte received
 * is written back; Ctrl-D ends the run (status 33). Bytes wait in the FIFO while our buffer is
 * full; rewriting IER makes a new interrupt edge once there is room again. */
static void echo_mode(void) {
    uart_out(FCR, 0x87);
    uart_out(IER, 0x05);
    uart_out(MCR, 0x0b);
    serial_puts("echo: ready\n");
    uint8_t local[sizeof rx_buf];
    for (;;) {
        __asm__ volatile("cli");
        while (rx_len == 0)
            __asm__ volatile("sti; hlt; cli" ::: "memory");
        uint32_t n = rx_len;
        for (uint32_t i = 0; i < n; i++)
            local[i] = rx_buf[i];
        rx_len = 0;
        uart_out(IER, 0x00);
        uart_out(IER, 0x05);
        __asm__ volatile("sti");
        for (uint32_t i = 0; i < n; i++) {
            if (local[i] == 0x04) {
                serial_puts("echo: end\n");
                guest_exit(lsr_errors ? 0x11 : 0x10);
            }
            serial_putc((char)local[i]);
        }
    }
}

static int has_word(uint32_t magic, uint32_t mbi, const char *w) {
    const uint32_t *info = (const uint32_t *)mbi;
    if (magic != MULTIBOOT_LOADER_MAGIC || !(info[0] & (1u << 2)) || !info[4])
        return 0;
    for (const char *s = (const char *)info[4]; *s; s++) {
        uint32_t i = 0;
        while (w[i] && s[i] == w[i])
            i++;
        if (!w[i])
            return 1;
    }
    return 0;
}

void kmain(uint32_t magic, uint32_t mbi) {
    idt_install();
    idt_set_handler(VEC_COM1, com1_isr);
    pic_init_com1_only();
    if (has_word(magic, mbi, "echo"))
        echo_mode();
    test_probe();
    test_loopback();
    test_thre();
    rx_irqs = timeout_irqs = 0;
    test_input();
    finish("serial");
}
