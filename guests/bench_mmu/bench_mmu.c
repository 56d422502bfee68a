/* bench_mmu: the MMU events whose cost bench/mmu/run_mmu.py measures, one timed loop per run.
 *
 * The multiboot command line names the loop and its iteration count:  LOOP n=N [pages=P]
 *   empty    the loop's own cost: loop_touch over one page (one load per iteration, always a
 *            soft-TLB hit)
 *   hidden   loop_touch over P pages (default 1024, at most 4096), one load per page in turn:
 *            with P >= 512 every load misses a 256-entry direct-mapped TLB and is answered from
 *            the guest's page tables (btvm: a hidden fault, resolved without the guest seeing it)
 *   pf       a load from a not-present page: #PF, an asm handler steps over the load and IRETs
 *            (a true guest #PF round trip)
 *   pfmap    demand paging: the load faults, the handler maps the page from CR2, the load runs
 *            again; then the loop unmaps the page (PTE = 0, INVLPG)
 *   cr3      ping-pong between two address spaces: MOV to CR3 (the other one), then one load from
 *            each of P pages (default 4, at most 64) that map to different frames in each space
 *   ptw      rewrite a live PTE with its own value, then load through it
 *   ptwflip  point a live PTE at the other of two frames, INVLPG, load through it
 * Every loop checks what it loaded (or the #PF count) against the value it must give, so a
 * wrong translation fails the run. With no loop named, every loop runs with a small n (a
 * self-test: guests/run-in-qemu.sh bench_mmu, and the guest test suite).
 *
 * Ring 0, 32-bit paging with 4 KiB pages (Intel SDM vol. 3A 4.3). Linear layout:
 *   PDE 0      0..4 MiB      identity (kernel image, stack, bss, page tables)
 *   PDE 1      4..8 MiB      pf/pfmap: PTE 0 not present (main space); cr3: P pages (spaces a, b)
 *   PDE 2..5   8..24 MiB     hidden: identity, one marker word per page
 *   PDE 6      24..28 MiB    ptw: PTE 0 -> frame F0 or F1
 * Physical frames above the hidden ones: F0, F1, the pfmap frame at 24 MiB; space a's pages at
 * 25 MiB, space b's at 26 MiB. Needs 28 MiB of RAM (guests/run-in-qemu.sh gives 32). */
#include "../paging/pg.h"
#include "benchlib.h"

#define PF_VA 0x00400000u
#define CR3_VA 0x00400000u
#define HID_VA 0x00800000u
#define HID_MAX_PAGES 4096u
#define PTW_VA 0x01800000u
#define F0_PHYS 0x01800000u
#define F1_PHYS (F0_PHYS + PAGE)
#define PFMAP_PHYS (F0_PHYS + 2 * PAGE)
#define A_PHYS 0x01900000u
#define B_PHYS 0x01A00000u
#define CR3_MAX_PAGES 64u
#define RAM_NEEDED (28u * MIB)

#define M_F0 0x11111111u
#define M_F1 0x22222222u
#define M_PFMAP 0x5A5A5A5Au
#define PTE_FLAGS (PG_P | PG_W | PG_A | PG_D) /* A and D preset: no walk has to write them */

uint32_t loop_touch(uint32_t n, uint32_t start, uint32_t end, uint32_t stride);
uint32_t loop_pf(uint32_t n, uint32_t va);
uint32_t loop_pfmap(uint32_t n, uint32_t va, volatile uint32_t *pte);
uint32_t loop_cr3(uint32_t n, uint32_t cr3_a, uint32_t cr3_b, uint32_t va, uint32_t pages);
uint32_t loop_ptw_same(uint32_t n, volatile uint32_t *pte, uint32_t value, uint32_t va);
uint32_t loop_ptw_flip(uint32_t n, volatile uint32_t *pte, uint32_t v0, uint32_t v1, uint32_t va);
void pf_skip_handler(void);
void pf_map_handler(void);
extern volatile uint32_t pf_count, pf_map_pt, pf_map_value;

static ptable pd_main, pd_a, pd_b, pt_low, pt_pf, pt_ptw, pt_ca, pt_cb;
static ptable pt_hid[HID_MAX_PAGES / 1024];

static uint32_t hid_marker(uint32_t i) { return i * 0x9E3779B1u + 1u; }

static void setup(void) {
    gdt_install_flat();
    idt_install();
    pg_identity_low(&pd_main, &pt_low, PG_W);
    pd_a.e[0] = pd_b.e[0] = pd_main.e[0];

    pd_main.e[PDX(PF_VA)] = (uint32_t)&pt_pf | PG_P | PG_W; /* every PTE not present */

    for (uint32_t i = 0; i < HID_MAX_PAGES; i++) {
        uint32_t va = HID_VA + i * PAGE;
        pt_hid[i / 1024].e[i % 1024] = va | PTE_FLAGS;
        poke(va, hid_marker(i)); /* paging is off: linear = physical */
    }
    for (uint32_t t = 0; t < HID_MAX_PAGES / 1024; t++)
        pd_main.e[PDX(HID_VA) + t] = (uint32_t)&pt_hid[t] | PG_P | PG_W;

    pd_main.e[PDX(PTW_VA)] = (uint32_t)&pt_ptw | PG_P | PG_W;
    pt_ptw.e[PTX(PTW_VA)] = F0_PHYS | PTE_FLAGS;
    poke(F0_PHYS, M_F0);
    poke(F1_PHYS, M_F1);
    poke(PFMAP_PHYS, M_PFMAP);

    for (uint32_t j = 0; j < CR3_MAX_PAGES; j++) {
        pt_ca.e[PTX(CR3_VA) + j] = (A_PHYS + j * PAGE) | PTE_FLAGS;
        pt_cb.e[PTX(CR3_VA) + j] = (B_PHYS + j * PAGE) | PTE_FLAGS;
        poke(A_PHYS + j * PAGE, 0xA0000000u + j);
        poke(B_PHYS + j * PAGE, 0xB0000000u + j);
    }
    pd_a.e[PDX(CR3_VA)] = (uint32_t)&pt_ca | PG_P | PG_W;
    pd_b.e[PDX(CR3_VA)] = (uint32_t)&pt_cb | PG_P | PG_W;

    paging_on(&pd_main);
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Runs one loop n times and checks its result. Returns 0 for an unknown name. */
static int run(const char *loop, uint32_t n, uint32_t pages) {
    if (n == 0)
        n = 1;
    uint32_t got, want;
    if (bench_streq(loop, "empty") || bench_streq(loop, "hidden")) {
        uint32_t p = bench_streq(loop, "empty") ? 1 : clamp(pages, 1, HID_MAX_PAGES);
        uint32_t all = 0, part = 0;
        for (uint32_t i = 0; i < p; i++) {
            all += hid_marker(i);
            if (i < n % p)
                part += hid_marker(i);
        }
        want = (n / p) * all + part;
        got = loop_touch(n, HID_VA, HID_VA + p * PAGE, PAGE);
        printf_s("RESULT %s n=%u pages=%u sum=0x%08x\n", loop, n, p, got);
    } else if (bench_streq(loop, "pf")) {
        idt_set_raw(14, pf_skip_handler, 0);
        pf_count = 0;
        loop_pf(n, PF_VA);
        got = pf_count, want = n;
        printf_s("RESULT pf n=%u faults=%u\n", n, got);
    } else if (bench_streq(loop, "pfmap")) {
        idt_set_raw(14, pf_map_handler, 0);
        pf_map_pt = (uint32_t)&pt_pf;
        pf_map_value = PFMAP_PHYS | PTE_FLAGS;
        pf_count = 0;
        got = loop_pfmap(n, PF_VA, &pt_pf.e[PTX(PF_VA)]);
        want = n * M_PFMAP;
        printf_s("RESULT pfmap n=%u faults=%u sum=0x%08x\n", n, pf_count, got);
        check_eq("pfmap: one #PF per iteration", pf_count, n);
    } else if (bench_streq(loop, "cr3")) {
        uint32_t p = clamp(pages, 1, CR3_MAX_PAGES), sa = 0, sb = 0;
        for (uint32_t j = 0; j < p; j++)
            sa += 0xA0000000u + j, sb += 0xB0000000u + j;
        want = (n + 1) / 2 * sa + n / 2 * sb;
        got = loop_cr3(n, (uint32_t)&pd_a, (uint32_t)&pd_b, CR3_VA, p);
        write_cr3((uint32_t)&pd_main);
        printf_s("RESULT cr3 n=%u pages=%u sum=0x%08x\n", n, p, got);
    } else if (bench_streq(loop, "ptw")) {
        want = n * M_F0;
        got = loop_ptw_same(n, &pt_ptw.e[PTX(PTW_VA)], F0_PHYS | PTE_FLAGS, PTW_VA);
        printf_s("RESULT ptw n=%u sum=0x%08x\n", n, got);
    } else if (bench_streq(loop, "ptwflip")) {
        want = (n + 1) / 2 * M_F0 + n / 2 * M_F1;
        got = loop_ptw_flip(n, &pt_ptw.e[PTX(PTW_VA)], F0_PHYS | PTE_FLAGS, F1_PHYS | PTE_FLAGS, PTW_VA);
        pt_ptw.e[PTX(PTW_VA)] = F0_PHYS | PTE_FLAGS;
        invlpg(PTW_VA);
        printf_s("RESULT ptwflip n=%u sum=0x%08x\n", n, got);
    } else {
        return 0;
    }
    char name[48];
    size_t len = strlen(loop);
    memcpy(name, loop, len);
    memcpy(name + len, ": result", 9);
    check_eq(name, got, want);
    return 1;
}

void kmain(uint32_t magic, uint32_t mbi) {
    bench_init(magic, mbi);
    uint32_t top = mb_mem_top(mbi);
    if (top < RAM_NEEDED) {
        printf_s("bench_mmu: needs %u MiB of RAM, has %u MiB (run with -m 32 or more)\n", RAM_NEEDED / MIB,
                 top / MIB);
        check("enough RAM", 0);
        finish("bench_mmu");
    }
    setup();
    const char *loop = bench_loop();
    if (loop) {
        if (!run(loop, bench_arg("n", 1000), bench_arg("pages", bench_streq(loop, "cr3") ? 4 : 1024))) {
            printf_s("bench_mmu: unknown loop '%s'\n", loop);
            check("known loop", 0);
        }
    } else {
        static const char *const all[] = {"empty", "hidden", "pf", "pfmap", "cr3", "ptw", "ptwflip", 0};
        for (int i = 0; all[i]; i++)
            run(all[i], 3001, bench_streq(all[i], "cr3") ? 4 : 1024);
        run("hidden", 20000, HID_MAX_PAGES);
        run("cr3", 1001, CR3_MAX_PAGES);
    }
    finish("bench_mmu");
}
