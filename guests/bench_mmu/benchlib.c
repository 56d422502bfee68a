/* Command line and raw gates for the benchmark guests: see benchlib.h. */
#include "benchlib.h"
#include "guest.h"
#include "idt.h"

#define MB_INFO_CMDLINE (1u << 2)

static char cmdline[256];

int bench_streq(const char *a, const char *b) {
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

void bench_init(uint32_t magic, uint32_t mbi) {
    cmdline[0] = 0;
    if (magic != MULTIBOOT_LOADER_MAGIC)
        return;
    const uint32_t *info = (const uint32_t *)mbi;
    if (!(info[0] & MB_INFO_CMDLINE) || !info[4])
        return;
    const char *s = (const char *)info[4];
    uint32_t n = 0;
    while (s[n] && n < sizeof cmdline - 1) {
        cmdline[n] = s[n];
        n++;
    }
    cmdline[n] = 0;
}

/* The next space-separated word at or after p: *start and *len (0 at the end); returns the
 * position after it. */
static const char *next_word(const char *p, const char **start, uint32_t *len) {
    while (*p == ' ')
        p++;
    *start = p;
    while (*p && *p != ' ')
        p++;
    *len = (uint32_t)(p - *start);
    return p;
}

static int has_char(const char *w, uint32_t len, char c) {
    for (uint32_t i = 0; i < len; i++)
        if (w[i] == c)
            return 1;
    return 0;
}

const char *bench_loop(void) {
    static char word[32];
    const char *p = cmdline, *w;
    uint32_t len;
    for (;;) {
        p = next_word(p, &w, &len);
        if (len == 0)
            return 0;
        if (has_char(w, len, '/') || has_char(w, len, '.') || has_char(w, len, '='))
            continue;
        if (len >= sizeof word)
            len = sizeof word - 1;
        memcpy(word, w, len);
        word[len] = 0;
        return word;
    }
}

static uint32_t parse_u32(const char *s, uint32_t len) {
    uint32_t v = 0, i = 0, base = 10;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, i = 2;
    for (; i < len; i++) {
        char c = s[i];
        uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
                   : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10) : 99;
        if (d >= base)
            break;
        v = v * base + d;
    }
    return v;
}

uint32_t bench_arg(const char *key, uint32_t dflt) {
    uint32_t klen = strlen(key);
    const char *p = cmdline, *w;
    uint32_t len;
    for (;;) {
        p = next_word(p, &w, &len);
        if (len == 0)
            return dflt;
        if (len > klen && w[klen] == '=' && memcmp(w, key, klen) == 0)
            return parse_u32(w + klen + 1, len - klen - 1);
    }
}

struct gate {
    uint16_t offset_lo, selector;
    uint8_t zero, type_attr;
    uint16_t offset_hi;
};

void idt_set_raw(int vector, void (*entry)(void), int dpl) {
    struct gate *g = (struct gate *)idt_address() + (vector & 0xFF);
    uint32_t a = (uint32_t)entry;
    g->offset_lo = a & 0xFFFF;
    g->offset_hi = a >> 16;
    g->selector = read_cs();
    g->zero = 0;
    g->type_attr = (uint8_t)(0x8E | ((dpl & 3) << 5)); /* present 32-bit interrupt gate */
}
