/* The guest-kernel library: see guest.h. */
#include "guest.h"

#define COM1 0x3F8
#define UART_THR 0 /* transmit holding register */
#define UART_LSR 5 /* line status register */
#define LSR_THRE 0x20 /* THR empty: ready for the next byte */
#define DEBUG_EXIT_PORT 0xF4

void serial_putc(char c) {
    /* Bounded wait: a UART that never becomes ready must not hang the guest silently. */
    for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++) {
    }
    outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_puts(const char *s) {
    while (*s) {
        if (*s == '\n')
            serial_putc('\r'); /* raw terminals want CR LF; the test runner strips CR */
        serial_putc(*s++);
    }
}

static void put_num(uint32_t v, unsigned base, int upper, int width, char pad, int negative) {
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[12];
    int n = 0;
    do {
        buf[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (negative) {
        if (pad == '0')
            serial_putc('-'); /* sign goes before zero padding: -0042 */
        width--;
    }
    for (; width > n; width--)
        serial_putc(pad);
    if (negative && pad != '0')
        serial_putc('-');
    while (n)
        serial_putc(buf[--n]);
}

void vprintf_s(const char *fmt, va_list ap) {
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            if (*fmt == '\n')
                serial_putc('\r');
            serial_putc(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        switch (*fmt) {
        case 'd': {
            int32_t v = va_arg(ap, int32_t);
            put_num(v < 0 ? 0u - (uint32_t)v : (uint32_t)v, 10, 0, width, pad, v < 0);
            break;
        }
        case 'u': put_num(va_arg(ap, uint32_t), 10, 0, width, pad, 0); break;
        case 'x': put_num(va_arg(ap, uint32_t), 16, 0, width, pad, 0); break;
        case 'X': put_num(va_arg(ap, uint32_t), 16, 1, width, pad, 0); break;
        case 'p':
            serial_puts("0x");
            put_num((uint32_t)va_arg(ap, void *), 16, 0, 8, '0', 0);
            break;
        case 'c': serial_putc((char)va_arg(ap, int)); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int len = (int)strlen(s);
            for (; width > len; width--)
                serial_putc(' ');
            serial_puts(s);
            break;
        }
        case '%': serial_putc('%'); break;
        case '\0': return;
        default: serial_putc('%'); serial_putc(*fmt); break; /* show unknown directives as-is */
        }
    }
}

void printf_s(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf_s(fmt, ap);
    va_end(ap);
}

void guest_exit(uint32_t code) {
    outl(DEBUG_EXIT_PORT, code);
    for (;;)
        __asm__ volatile("cli; hlt");
}

void pic_mask_all(void) {
    outb(0x21, 0xFF); /* master PIC data port: interrupt mask register */
    outb(0xA1, 0xFF); /* slave PIC */
}

static uint32_t checks_run, checks_failed;

void check(const char *name, int ok) {
    checks_run++;
    if (ok) {
        printf_s("ok   %s\n", name);
    } else {
        checks_failed++;
        printf_s("FAIL %s\n", name);
    }
}

void check_eq(const char *name, uint32_t got, uint32_t want) {
    checks_run++;
    if (got == want) {
        printf_s("ok   %s\n", name);
    } else {
        checks_failed++;
        printf_s("FAIL %s: got 0x%08x, want 0x%08x\n", name, got, want);
    }
}

void check_eq_show(const char *name, uint32_t got, uint32_t want) {
    checks_run++;
    if (got != want)
        checks_failed++;
    printf_s("%s %s %08x  (want %08x)\n", got == want ? "ok  " : "FAIL", name, got, want);
}

uint32_t failed_checks(void) { return checks_failed; }

int finish(const char *guest_name) {
    if (checks_failed == 0) {
        printf_s("PASS: %s (%u checks)\n", guest_name, checks_run);
        guest_exit(0x10);
    }
    printf_s("FAIL: %s (%u of %u checks failed)\n", guest_name, checks_failed, checks_run);
    guest_exit(0x11);
}

/* gcc may turn loops and struct copies into calls to these even with -ffreestanding, and would
 * turn the loops below into calls to themselves: NO_LIBCALL stops that. */
#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
NO_LIBCALL void *memset(void *d, int c, size_t n) {
    uint8_t *p = d;
    while (n--)
        *p++ = (uint8_t)c;
    return d;
}

NO_LIBCALL void *memcpy(void *d, const void *s, size_t n) {
    uint8_t *p = d;
    const uint8_t *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

NO_LIBCALL int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

NO_LIBCALL size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}
