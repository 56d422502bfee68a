/* overcommit: touches a large range of guest RAM with paging on (up to 48 MiB from 8 MiB up,
 * less when RAM is smaller: 48 MiB with -m 64M), for runs where the host backs less than that.
 * Each word of virtual page i holds ((i << 10) | word) ^ KEY. The range is mapped at VBASE in
 * reverse page order (virtual page i -> physical page n-1-i); it is written through that view,
 * then read back through the identity view (4 MiB pages) and through the reversed view. */
#include "../paging/pg.h"

#define PBASE (8 * MIB)        /* first physical page touched */
#define VBASE 0x40000000u      /* the reversed view */
#define MAX_MIB 48u
#define KEY 0x5A5AA5A5u
#define WORDS (PAGE / 4)

static ptable pd, pt0, pt_v[MAX_MIB / 4];

static uint32_t value(uint32_t page, uint32_t w) { return ((page << 10) | w) ^ KEY; }

static uint32_t errors;
static void mismatch(const char *view, uint32_t page, uint32_t w, uint32_t got) {
    if (errors++ < 5)
        printf_s("  %s: page %u word %u: got 0x%08x, want 0x%08x\n", view, page, w, got,
                 value(page, w));
}

void kmain(uint32_t magic, uint32_t mbi) {
    check_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    uint32_t top = mb_mem_top(mbi);
    check("multiboot memory size given", top != 0);
    uint32_t mib = top > PBASE ? (top - PBASE) / MIB : 0;
    if (mib > MAX_MIB)
        mib = MAX_MIB;
    check("at least 4 MiB to touch", mib >= 4);
    uint32_t n = mib * (MIB / PAGE); /* pages */

    /* Identity: 0..4 MiB with 4 KiB pages, the rest of the 4 GiB below VBASE with 4 MiB pages
     * as far as RAM goes. Reversed view: VBASE + i pages -> PBASE + (n-1-i) pages. */
    gdt_install_flat();
    idt_install();
    pg_identity_low(&pd, &pt0, PG_W);
    write_cr4(read_cr4() | CR4_PSE);
    for (uint32_t a = 4 * MIB; a < PBASE + n * PAGE; a += 4 * MIB)
        pd.e[PDX(a)] = a | PG_PS | PG_P | PG_W;
    for (uint32_t i = 0; i < n; i++)
        pt_v[i / 1024].e[i % 1024] = (PBASE + (n - 1 - i) * PAGE) | PG_P | PG_W;
    for (uint32_t t = 0; t < (n + 1023) / 1024; t++)
        pd.e[PDX(VBASE) + t] = (uint32_t)&pt_v[t] | PG_P | PG_W;
    paging_on(&pd);

    for (uint32_t i = 0; i < n; i++) {
        volatile uint32_t *p = (volatile uint32_t *)(VBASE + i * PAGE);
        for (uint32_t w = 0; w < WORDS; w++)
            p[w] = value(i, w);
    }
    printf_s("touched %u MiB (%u pages)\n", mib, n);

    errors = 0;
    for (uint32_t i = 0; i < n; i++) {
        volatile uint32_t *p = (volatile uint32_t *)(PBASE + (n - 1 - i) * PAGE);
        for (uint32_t w = 0; w < WORDS; w++)
            if (p[w] != value(i, w))
                mismatch("identity view", i, w, p[w]);
    }
    check_eq("every word read back through the identity view", errors, 0);
    errors = 0;
    for (uint32_t i = 0; i < n; i++) {
        volatile uint32_t *p = (volatile uint32_t *)(VBASE + i * PAGE);
        for (uint32_t w = 0; w < WORDS; w++)
            if (p[w] != value(i, w))
                mismatch("reversed view", i, w, p[w]);
    }
    check_eq("every word read back through the reversed view", errors, 0);
    finish("overcommit");
}
