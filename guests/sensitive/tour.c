/* Fault catching, formatting and the tally of the sensitive guest: see tour.h. */
#include "tour.h"

#define NO_FAULT 0xFFFFFFFFu

volatile uint32_t catch_resume, catch_esp;
static volatile uint32_t fault_vector = NO_FAULT, fault_error;

static const char *const fault_names[20] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO",
    "#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM",
};
static int has_error_code(uint32_t v) { return v == 8 || (v >= 10 && v <= 14) || v == 17; }

static const char *fault_name(uint32_t v, uint32_t err) {
    const char *n = v < 20 ? fault_names[v] : fmt("vector %u", v);
    return has_error_code(v) ? fmt("%s(%04x)", n, err & 0xFFFF) : n;
}

static void catcher(struct trap_frame *f) {
    if (!catch_resume) { /* a fault outside CATCH: say so and end the run, never loop */
        printf_s("unexpected %s at %04x:%08x\n", fault_name(f->vector, f->error_code),
                 f->cs & 0xFFFF, f->eip);
        check("no unexpected fault", 0);
        summary();
    }
    fault_vector = f->vector;
    fault_error = f->error_code;
    f->eip = catch_resume;
    catch_resume = 0;
}

void catch_install(void) {
    for (int v = 0; v < 32; v++)
        idt_set_handler(v, catcher);
}

void arm(void) { fault_vector = NO_FAULT; }

/* ------------------------------------------------------------------ formatting */

struct out {
    char *p, *end;
};
static void put(struct out *o, char c) {
    if (o->p < o->end)
        *o->p++ = c;
}

static void vfmt(char *buf, size_t size, const char *f, va_list ap) {
    struct out o = {buf, buf + size - 1};
    for (; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        int left = 0, width = 0;
        char pad = ' ', digits[12];
        if (*++f == '-')
            left = 1, f++;
        if (*f == '0')
            pad = '0', f++;
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (*f++ - '0');
        const char *s = digits;
        int n = 0;
        if (*f == 'u' || *f == 'x') {
            uint32_t v = va_arg(ap, uint32_t), base = *f == 'x' ? 16 : 10;
            do
                digits[sizeof digits - 1 - n++] = "0123456789abcdef"[v % base];
            while (v /= base);
            s = digits + sizeof digits - n;
        } else if (*f == 's') {
            s = va_arg(ap, const char *);
            n = (int)strlen(s);
        } else if (*f == 'c') {
            digits[0] = (char)va_arg(ap, int);
            n = 1;
        } else {
            digits[0] = *f ? *f : '%';
            n = 1;
        }
        for (; !left && width > n; width--)
            put(&o, pad);
        for (int i = 0; i < n; i++)
            put(&o, s[i]);
        for (; left && width > n; width--)
            put(&o, ' ');
        if (!*f)
            break;
    }
    *o.p = 0;
}

static void sfmt(char *buf, size_t size, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    vfmt(buf, size, f, ap);
    va_end(ap);
}

const char *fmt(const char *f, ...) {
    static char bufs[8][64];
    static unsigned next;
    char *b = bufs[next++ % 8];
    va_list ap;
    va_start(ap, f);
    vfmt(b, sizeof bufs[0], f, ap);
    va_end(ap);
    return b;
}

/* ------------------------------------------------------------------ the tally */

static uint32_t lines[KINDS], wrong[KINDS], faulted[KINDS];

void report(enum kind k, const char *name, const char *expected, const char *got) {
    int fault = fault_vector != NO_FAULT;
    if (fault)
        got = fault_name(fault_vector, fault_error);
    int ok = !fault && strlen(got) == strlen(expected) && !memcmp(got, expected, strlen(got));
    lines[k]++;
    wrong[k] += !ok;
    faulted[k] += fault;
    char line[160];
    sfmt(line, sizeof line, "%-13s expected %s, got %s -> %s", fmt("%s:", name), expected, got,
         ok ? "ok" : "WRONG");
    /* check() prefixes "ok   " or "FAIL " and counts the line for finish(). */
    check(line, ok);
}

void no_fault(enum kind k, const char *name) { report(k, name, "no fault", "no fault"); }

void summary(void) {
    printf_s("%u of %u sensitive instructions returned the VMM's real state instead of the "
             "guest's", wrong[SENSITIVE], lines[SENSITIVE]);
    printf_s(faulted[SENSITIVE] ? " (%u of them by faulting).\n" : ".\n", faulted[SENSITIVE]);
    printf_s("%u of %u privileged instructions went wrong (a VMM must trap and emulate them).\n",
             wrong[PRIVILEGED], lines[PRIVILEGED]);
    printf_s("%u of %u interrupt-flag idioms saw the wrong IF.\n", wrong[IDIOM], lines[IDIOM]);
    finish("sensitive");
}
