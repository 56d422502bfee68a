/* hostile: a guest that tries to reach beyond its memory. Every check is against what a PC
 * without devices at those addresses does (QEMU's answer, all-ones for unassigned memory and
 * ports) and the Intel SDM (vol. 3A ch. 4 for paging, 6.15 for #PF). RAM size comes from the
 * multiboot information, so the guest runs under any -m (the tests use 16M, QEMU 32M).
 *
 *  1. PTEs pointing at frames far past RAM (0xF0000000, 0x7FFFF000, just past the end of RAM):
 *     reads give the unassigned value at every size and alignment, also straddling RAM and
 *     non-RAM pages; writes there are dropped. That value is all-ones on a PC (checked once;
 *     QEMU reads 0 there, a GAP), and every other check is relative to it.
 *  2. A directory that maps itself (PDE 1023) and a second PDE pointing at the directory,
 *     used as a page table: reads and writes through both windows.
 *  3. Ignored bits 9-11 in a PDE and a PTE are ignored; reserved bits of a 4 MiB PDE raise
 *     #PF with RSVD.
 *  4. Port I/O to unassigned ports: all-ones, string forms too.
 *  5. Code rewriting itself through a second (alias) mapping while it runs.
 *  6. rep stosd / rep movsd running off the end of RAM.
 *  7. The top of the linear space: accesses at 0xFFFFFFFC..0xFFFFFFFF and ones that run past
 *     0xFFFFFFFF (they wrap to linear 0 with a flat segment, as on QEMU), and addressing whose
 *     64-bit sum would pass 4 GiB (index * scale + displacement, negative displacements):
 *     under --mmu host an address must be taken mod 2^32 from the reservation's base, and
 *     nothing past the 4 GiB reservation (+ its guard page) is ever reached. */
#include "../exceptions/expect.h"
#include "../paging/pg.h"

#define RW (PG_P | PG_W)
#define X 0x40000000u             /* PDE 256: windows onto odd frames */
#define XP(i) (X + (i) * PAGE)
#define SELF_PDI 4u               /* PDE 4 -> the directory, used as a page table */
#define SELF_WIN(pdi) ((volatile uint32_t *)(SELF_PDI * 0x400000u + (pdi) * PAGE))
#define REC 1023u
#define PT_WIN(pdi) ((volatile uint32_t *)(0xFFC00000u + (pdi) * PAGE))
#define PD_WIN ((volatile uint32_t *)0xFFFFF000u)
#define ALIAS 0x40400000u         /* PDE 257: alias of the code page */
#define BIG 0x00C00000u           /* PDE 3: a 4 MiB page */

static ptable pd, pt0, pt_x, pt_alias, pt_y, pt_top;
static volatile uint32_t frame[2][1024] __attribute__((aligned(PAGE)));
static uint8_t code[PAGE] __attribute__((aligned(PAGE)));
static uint32_t ram_top; /* end of RAM (and of the firmware's reserved top, from the mmap) */
static uint8_t ub;       /* what an unassigned byte reads: 0xFF on a PC (QEMU: 0) */
static uint32_t ud;      /* the same, 4 bytes */
#define UB(n) ((uint32_t)ub << (8 * (n)))

/* The end of memory below the PCI hole: mem_upper, or the end of the highest mmap entry (any
 * type: QEMU's firmware keeps 128 KiB at the top of RAM as reserved) below 0xE0000000. */
static uint32_t ram_end(uint32_t mbi) {
    const uint32_t *info = (const uint32_t *)mbi;
    uint32_t top = mb_mem_top(mbi);
    if (info[0] & 0x40) {
        for (uint32_t p = info[12]; p < info[12] + info[11]; p += *(uint32_t *)p + 4) {
            const uint32_t *e = (const uint32_t *)p; /* size, base lo/hi, length lo/hi, type */
            if (e[2] == 0 && e[4] == 0 && e[1] < 0xE0000000u && e[1] + e[3] > top)
                top = e[1] + e[3];
        }
    }
    return top;
}

static volatile uint32_t last_cr2;
static void cr2_hook(struct trap_frame *f) { (void)f; last_cr2 = read_cr2(); }

static uint8_t rd8(uint32_t va) { return *(volatile uint8_t *)va; }
static uint16_t rd16(uint32_t va) { return *(volatile uint16_t *)va; }
static void wr8(uint32_t va, uint8_t v) { *(volatile uint8_t *)va = v; }
static void wr16(uint32_t va, uint16_t v) { *(volatile uint16_t *)va = v; }

/* ---------------------------------------------------------------- 1. frames past RAM */

/* Reads give the unassigned value at every size and alignment; writes of values other than
 * that value are dropped. */
static void unassigned_page(const char *name, uint32_t va) {
    trap_arm();
    check_eq(cat(name, "dword"), peek(va), ud);
    check_eq(cat(name, "dword at +0xffc"), peek(va + 0xFFC), ud);
    check_eq(cat(name, "byte at +0x333"), rd8(va + 0x333), ub);
    check_eq(cat(name, "word at +0x101 (odd)"), rd16(va + 0x101), ud & 0xFFFF);
    check_eq(cat(name, "dword at +0x203 (odd)"), peek(va + 0x203), ud);
    poke(va + 0x10, 0x12345678);
    wr8(va + 0x21, 0x5A);
    wr16(va + 0x33, 0xA5A5);
    poke(va + 0x47, 0x0F1E2D3C);
    check_eq(cat(name, "dword write dropped"), peek(va + 0x10), ud);
    check_eq(cat(name, "byte write dropped"), rd8(va + 0x21), ub);
    check_eq(cat(name, "word write dropped"), rd16(va + 0x33), ud & 0xFFFF);
    check_eq(cat(name, "odd dword write dropped"), peek(va + 0x47), ud);
    expect_none(name);
}

static void t_past_ram(void) {
    pt_x.e[0] = 0xF0000000u | RW;
    pt_x.e[1] = 0x7FFFF000u | RW;
    pt_x.e[2] = (ram_top - PAGE) | RW;   /* the last page of RAM */
    pt_x.e[3] = ram_top | RW;            /* the first frame past it */
    pt_x.e[4] = (ram_top + 64 * PAGE) | RW;
    pt_x.e[5] = (uint32_t)frame[0] | RW; /* RAM again, after a non-RAM page */
    reload_cr3();

    ub = rd8(XP(0));
    ud = ub * 0x01010101u;
    const char *gap = qemu_gap("QEMU reads unassigned memory as 0");
    expect_eq("unassigned memory reads all-ones", ud, 0xFFFFFFFFu);
    qemu_gap(gap);
    unassigned_page("0xF0000000", XP(0));
    unassigned_page("0x7FFFF000", XP(1));
    unassigned_page("end of RAM", XP(3));
    unassigned_page("end of RAM + 256K", XP(4));

    /* RAM -> non-RAM: the last dword of RAM, then a dword straddling the boundary */
    poke(XP(2) + 0xFF8, 0xA1B2C3D4);
    poke(XP(2) + 0xFFC, 0x11223344);
    check_eq("last RAM dword", peek(XP(2) + 0xFFC), 0x11223344);
    check_eq("dword straddling RAM|past", peek(XP(2) + 0xFFE), UB(3) | UB(2) | 0x1122u);
    check_eq("word straddling RAM|past", rd16(XP(2) + 0xFFF), UB(1) | 0x11);
    poke(XP(2) + 0xFFD, 0x55667788); /* 3 bytes into RAM, 1 dropped */
    check_eq("straddling write: RAM part written", peek(XP(2) + 0xFFC), 0x66778844);
    check_eq("straddling write: past part dropped", peek(XP(3)), ud);
    check_eq("RAM before it untouched", peek(XP(2) + 0xFF8), 0xA1B2C3D4);

    /* non-RAM -> RAM */
    frame[0][0] = 0x44332211;
    check_eq("dword straddling past|RAM", peek(XP(5) - 1), 0x33221100u | UB(0));
    check_eq("dword straddling past|RAM at -3", peek(XP(5) - 3), 0x11000000u | UB(2) | UB(1) | UB(0));
    poke(XP(5) - 2, 0xCAFEBABE); /* 2 bytes dropped, 2 into RAM */
    check_eq("straddling write past|RAM: RAM part", frame[0][0], 0x4433CAFEu);
    check_eq("straddling write past|RAM: past part", peek(XP(5) - 4), ud);
}

/* ---------------------------------------------------------------- 2. self-mapping directory */

static void t_recursive(void) {
    pd.e[REC] = (uint32_t)&pd | RW;
    pd.e[SELF_PDI] = (uint32_t)&pd | RW;
    reload_cr3();
    check_eq("PD_WIN[0] is PDE 0", PD_WIN[0] & PG_FRAME, (uint32_t)&pt0);
    check_eq("PD_WIN[1023] is the directory", PD_WIN[REC] & PG_FRAME, (uint32_t)&pd);
    check_eq("PT_WIN(0)[5] is PTE 5 of pt0", PT_WIN(0)[5] & PG_FRAME, 5 * PAGE);
    check_eq("SELF_WIN(SELF) is the directory", SELF_WIN(SELF_PDI)[256] & PG_FRAME, (uint32_t)&pt_x);
    check_eq("SELF_WIN(256) is pt_x", SELF_WIN(256)[2] & PG_FRAME, ram_top - PAGE);
    check_eq("SELF_WIN(1023) is the directory", SELF_WIN(REC)[0] & PG_FRAME, (uint32_t)&pt0);

    /* a new page table through the recursive window (the PDE was not present: no flush) */
    frame[1][7] = 0x600DF00D;
    PD_WIN[5] = (uint32_t)&pt_y | RW;
    check_eq("PDE written through PD_WIN", pd.e[5], (uint32_t)&pt_y | RW);
    PT_WIN(5)[3] = (uint32_t)frame[1] | RW;
    check_eq("PTE written through PT_WIN", pt_y.e[3], (uint32_t)frame[1] | RW);
    check_eq("the new mapping reads", peek(5 * 0x400000u + 3 * PAGE + 28), 0x600DF00D);
    /* the same through the second self-map, then a remap with INVLPG */
    SELF_WIN(5)[3] = (uint32_t)frame[0] | RW;
    invlpg(5 * 0x400000u + 3 * PAGE);
    check_eq("PTE rewritten through SELF_WIN", pt_y.e[3], (uint32_t)frame[0] | RW);
    frame[0][7] = 0xBEEF0007;
    check_eq("the remapped page reads", peek(5 * 0x400000u + 3 * PAGE + 28), 0xBEEF0007);
    /* a write through the window into a mapped page lands in the directory */
    SELF_WIN(SELF_PDI)[6] = (uint32_t)&pt_y | RW;
    check_eq("PDE 6 written through SELF_WIN", pd.e[6], (uint32_t)&pt_y | RW);
    check_eq("PDE 6 maps pt_y", peek(6 * 0x400000u + 3 * PAGE + 28), 0xBEEF0007);
    PD_WIN[6] = 0;
    PD_WIN[5] = 0;
    reload_cr3();
}

/* ---------------------------------------------------------------- 3. ignored and reserved bits */

static uint32_t try_read(uint32_t va) {
    uint32_t v = 0xEEEEEEEE;
    trap_arm();
    trap_hook = cr2_hook;
    last_cr2 = 0xBADBAD;
    __asm__ volatile(TRY("movl (%1), %0") : "+r"(v) : "r"(va) : "memory");
    return v;
}

static void try_write(uint32_t va, uint32_t value) {
    trap_arm();
    trap_hook = cr2_hook;
    last_cr2 = 0xBADBAD;
    __asm__ volatile(TRY("movl %1, (%0)") ::"r"(va), "r"(value) : "memory");
}

static void t_bits(void) {
    frame[1][9] = 0x1B175;
    pd.e[7] = (uint32_t)&pt_y | RW | 0xE00;            /* ignored bits 9-11 */
    pt_y.e[0] = (uint32_t)frame[1] | RW | 0xE00;
    reload_cr3();
    check_eq("ignored bits 9-11: read", try_read(7 * 0x400000u + 36), 0x1B175);
    expect_none("ignored bits 9-11: no fault");

    /* SDM table 4-5: bits 20:13 of a 4 MiB PDE hold physical-address bits 39:32 up to
     * MAXPHYADDR - 1 (PSE-36); the rest of 21:13 is reserved. MAXPHYADDR is CPUID 80000008h
     * EAX[7:0], else 36 with PSE-36 (CPUID.1:EDX[17]), else 32. */
    uint32_t a, b, c, d, maxphys = 32;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (d & (1u << 17))
        maxphys = 36;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0));
    if (a >= 0x80000008u) {
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000008u), "c"(0));
        maxphys = a & 0xFF;
    }
    uint32_t first_rsvd = maxphys >= 40 ? 21 : 13 + (maxphys - 32);
    printf_s("MAXPHYADDR %u: 4 MiB PDE bits 21..%u reserved\n", maxphys, first_rsvd);
    write_cr4(read_cr4() | CR4_PSE);
    static const uint32_t bits[] = {21, 13, 17, 20};
    static const char *names[] = {"4M PDE bit 21", "4M PDE bit 13", "4M PDE bit 17", "4M PDE bit 20"};
    for (int i = 0; i < 4; i++) {
        if (bits[i] < first_rsvd)
            continue; /* an address bit on this CPU */
        pd.e[PDX(BIG)] = 0x00000000u | PG_PS | RW | (1u << bits[i]);
        reload_cr3();
        const char *gap = qemu_gap(bits[i] == 21
            ? "QEMU pushes P = 0 with RSVD for bit 21 of a 4 MiB PDE"
            : "QEMU takes bits 20:13 of a 4 MiB PDE as address bits even at MAXPHYADDR 32");
        try_read(BIG + 0x1230);
        expect_fault(cat(names[i], "read #PF"), 14, PF_P | PF_RSVD);
        expect_eq(cat(names[i], "cr2"), last_cr2, BIG + 0x1230);
        try_write(BIG + 0x2000, 1);
        expect_fault(cat(names[i], "write #PF"), 14, PF_P | PF_W | PF_RSVD);
        qemu_gap(gap);
    }
    pd.e[PDX(BIG)] = 0x00000000u | PG_PS | RW | 0xE00; /* ignored bits in a 4 MiB PDE */
    reload_cr3();
    check_eq("4M PDE, ignored bits: read", try_read(BIG + (uint32_t)&frame[1][9]), 0x1B175);
    expect_none("4M PDE, ignored bits: no fault");
    pd.e[PDX(BIG)] = 0;
    pd.e[7] = 0;
    reload_cr3();
}

/* ---------------------------------------------------------------- 4. unassigned ports */

static void t_ports(void) {
    static const uint16_t ports[] = {0x2f0, 0x2f4, 0xe000, 0xfff0};
    for (int i = 0; i < 4; i++) {
        uint16_t p = ports[i];
        outb(p, 0x5A);
        outw(p, 0x1234);
        outl(p, 0xDEADBEEF);
        check_eq("inb unassigned", inb(p), 0xFF);
        check_eq("inb unassigned +1", inb(p + 1), 0xFF);
        check_eq("inw unassigned", inw(p), 0xFFFF);
        check_eq("inl unassigned", inl(p), 0xFFFFFFFFu);
    }
    const char *gap = qemu_gap("QEMU reads 0 from a misaligned word or dword at an unassigned port");
    expect_eq("inw at odd port 0x2f1", inw(0x2f1), 0xFFFF);
    expect_eq("inl at odd port 0x2f3", inl(0x2f3), 0xFFFFFFFFu);
    qemu_gap(gap);

    static uint8_t buf[64];
    memset(buf, 0, sizeof buf);
    uint32_t di = (uint32_t)buf, cx = 16;
    __asm__ volatile("cld; rep insb" : "+D"(di), "+c"(cx) : "d"(0x2f2) : "memory");
    check_eq("rep insb: ecx", cx, 0);
    check_eq("rep insb: edi", di, (uint32_t)buf + 16);
    check_eq("rep insb: data", ((uint32_t *)buf)[3], 0xFFFFFFFFu);
    check_eq("rep insb: stops", buf[16], 0);
    cx = 4;
    __asm__ volatile("cld; rep insl" : "+D"(di), "+c"(cx) : "d"(0xe000) : "memory");
    check_eq("rep insl: ecx", cx, 0);
    check_eq("rep insl: data", ((uint32_t *)buf)[7], 0xFFFFFFFFu);
    check_eq("rep insl: stops", buf[32], 0);
    uint32_t si = (uint32_t)buf;
    cx = 40;
    __asm__ volatile("cld; rep outsb" : "+S"(si), "+c"(cx) : "d"(0x2f5) : "memory");
    check_eq("rep outsb: ecx", cx, 0);
    check_eq("rep outsb: esi", si, (uint32_t)buf + 40);
    cx = 8;
    si = (uint32_t)buf;
    __asm__ volatile("cld; rep outsw" : "+S"(si), "+c"(cx) : "d"(0xe002) : "memory");
    check_eq("rep outsw: esi", si, (uint32_t)buf + 16);
    check_eq("port still reads all-ones", inl(0x2f4), 0xFFFFFFFFu);
}

/* ---------------------------------------------------------------- 5. code rewritten via an alias */

static const uint8_t loop_code[] = {
    0x31, 0xC9,                   /* 0:  xor ecx, ecx */
    0x31, 0xDB,                   /* 2:  xor ebx, ebx */
    0x89, 0x0A,                   /* 4:  mov [edx], ecx    ; edx = alias of the imm32 below */
    0xB8, 0xEF, 0xBE, 0xAD, 0xDE, /* 6:  mov eax, imm32 */
    0x01, 0xC3,                   /* 11: add ebx, eax */
    0x41,                         /* 13: inc ecx */
    0x83, 0xF9, 0x64,             /* 14: cmp ecx, 100 */
    0x75, 0xF1,                   /* 17: jne 4 */
    0x89, 0xD8,                   /* 19: mov eax, ebx */
    0xC3,                         /* 21: ret */
};

static uint32_t call_code(uint32_t edx) {
    uint32_t a;
    __asm__ volatile("call *%1" : "=a"(a) : "r"((uint32_t)code), "d"(edx) : "ecx", "ebx", "memory");
    return a;
}

static void t_alias_smc(void) {
    pt_alias.e[0] = (uint32_t)code | RW;
    pd.e[PDX(ALIAS)] = (uint32_t)&pt_alias | RW;
    reload_cr3();
    memcpy(code, loop_code, sizeof loop_code);
    check_eq("alias reads the code", rd8(ALIAS + 6), 0xB8);
    /* each pass stores the counter into its own next instruction through the alias */
    check_eq("self-rewriting loop via alias", call_code(ALIAS + 7), 4950);
    check_eq("last imm via identity", *(volatile uint32_t *)(code + 7), 99);
    /* the kernel rewrites a translated function through the alias between calls */
    uint32_t bad = 0;
    for (uint32_t i = 0; i < 200; i++) {
        volatile uint8_t *a = (volatile uint8_t *)ALIAS;
        a[0] = 0xB8;                           /* mov eax, imm32 */
        *(volatile uint32_t *)(ALIAS + 1) = i * 0x01010101u;
        a[5] = (i & 1) ? 0x40 : 0x90;          /* inc eax / nop */
        a[6] = 0xC3;
        uint32_t want = i * 0x01010101u + (i & 1);
        if (call_code(0) != want)
            bad++;
    }
    check_eq("rewritten function runs the new code (200 passes)", bad, 0);
    pd.e[PDX(ALIAS)] = 0;
    reload_cr3();
}

/* ---------------------------------------------------------------- 6. strings off the end of RAM */

static void t_strings(void) {
    uint32_t start = XP(2) + 0x800, di = start, cx = (0x800 + 0x1400) / 4;
    poke(XP(2) + 0x7FC, 0x0BEF0BEF);
    __asm__ volatile("cld; rep stosl" : "+D"(di), "+c"(cx) : "a"(0x5EED5EED) : "memory");
    check_eq("rep stosd off RAM: ecx", cx, 0);
    check_eq("rep stosd off RAM: edi", di, start + 0x1C00);
    check_eq("rep stosd: before start untouched", peek(XP(2) + 0x7FC), 0x0BEF0BEF);
    check_eq("rep stosd: first RAM dword", peek(start), 0x5EED5EED);
    check_eq("rep stosd: last RAM dword", peek(XP(2) + 0xFFC), 0x5EED5EED);
    check_eq("rep stosd: past RAM dropped", peek(XP(3)), ud);
    check_eq("rep stosd: past RAM dropped (+0x800)", peek(XP(3) + 0x800), ud);

    /* movsd: source runs off RAM into all-ones, destination in RAM */
    static uint32_t dst[1024] __attribute__((aligned(PAGE)));
    uint32_t si = XP(2) + 0xFF0, d = (uint32_t)dst;
    cx = 12;
    __asm__ volatile("cld; rep movsl" : "+S"(si), "+D"(d), "+c"(cx) : : "memory");
    check_eq("rep movsd from RAM|past: ecx", cx, 0);
    check_eq("rep movsd: RAM part", dst[3], 0x5EED5EED);
    check_eq("rep movsd: past part unassigned", dst[4], ud);
    check_eq("rep movsd: last", dst[11], ud);
    /* backwards stosb from past RAM down into RAM */
    di = XP(3) + 0x10;
    cx = 0x20;
    __asm__ volatile("std; rep stosb; cld" : "+D"(di), "+c"(cx) : "a"(0x77) : "memory");
    check_eq("std rep stosb: edi", di, XP(3) - 0x10);
    check_eq("std rep stosb: RAM part", peek(XP(2) + 0xFF4), 0x77777777u);
    check_eq("std rep stosb: stops at the count", peek(XP(2) + 0xFF0), 0x777777EDu);
    check_eq("std rep stosb: past part", peek(XP(3)), ud);
}

/* ---------------------------------------------------------------- 7. the top of 4 GiB */

static void t_top(void) {
    static volatile uint8_t low_save[8];
    uint32_t at0 = 0; /* linear 0, hidden from the compiler (a null pointer to it) */
    __asm__ volatile("" : "+r"(at0));
    pt_top.e[1022] = (uint32_t)frame[0] | RW;
    pt_top.e[1023] = (uint32_t)frame[1] | RW;
    pd.e[1023] = (uint32_t)&pt_top | RW;
    reload_cr3();
    frame[1][1023] = 0xDDCCBBAA;            /* linear 0xFFFFFFFC */
    frame[0][1023] = 0x44332211;            /* linear 0xFFFFEFFC */
    frame[1][0] = 0x1234F00D;               /* linear 0xFFFFF000 */
    check_eq("dword at 0xFFFFFFFC", peek(0xFFFFFFFCu), 0xDDCCBBAA);
    check_eq("byte at 0xFFFFFFFF", rd8(0xFFFFFFFFu), 0xDD);
    poke(0xFFFFFFFCu, 0x0BADF00D);
    check_eq("write at 0xFFFFFFFC lands in its frame", frame[1][1023], 0x0BADF00D);
    check_eq("dword crossing 0xFFFFEFFF|0xFFFFF000", peek(0xFFFFEFFEu), 0xF00D4433);
    /* past 0xFFFFFFFF: the bytes of linear 0 follow (flat segment, limit 4 GiB - 1) */
    for (int i = 0; i < 8; i++)
        low_save[i] = rd8(at0 + i);
    uint32_t low = peek(at0);
    check_eq("dword at 0xFFFFFFFE wraps to linear 0", peek(0xFFFFFFFEu), (low << 16) | 0x0BAD);
    uint32_t abs_v;  /* the same through an absolute address: no register in it */
    __asm__ volatile("movl 0xFFFFFFFE, %0" : "=r"(abs_v) : : "memory");
    check_eq("absolute [0xFFFFFFFE] wraps to linear 0", abs_v, (low << 16) | 0x0BAD);
    __asm__ volatile("movl 0xFFFFFFFC, %0" : "=r"(abs_v) : : "memory");
    check_eq("absolute [0xFFFFFFFC]", abs_v, 0x0BADF00D);
    check_eq("word at 0xFFFFFFFF wraps to linear 0", rd16(0xFFFFFFFFu), ((low & 0xFF) << 8) | 0x0B);
    wr16(0xFFFFFFFFu, 0x5AA5);
    check_eq("word written at 0xFFFFFFFF: its low byte at the top", rd8(0xFFFFFFFFu), 0xA5);
    check_eq("word written at 0xFFFFFFFF: its high byte at linear 0", rd8(at0), 0x5A);
    poke(0xFFFFFFFCu, 0x0BADF00D);
    /* 64-bit sums that pass 4 GiB: ecx * 4 + 0x10 with ecx = 0x40000000 is linear 0x10 */
    uint32_t v, idx = 0x40000000u, neg = 2;
    __asm__ volatile("movl 0x10(,%1,4), %0" : "=r"(v) : "r"(idx) : "memory");
    check_eq("[ecx*4 + 0x10] wraps to linear 0x10", v, peek(at0 + 0x10));
    /* the largest sum of one register: 0xFFFFFFFF * 8 + 0x18 is linear 0x10 (32 GiB past the
       view's base without the wrap, still inside btvm's guard there) */
    __asm__ volatile("movl 0x18(,%1,8), %0" : "=r"(v) : "r"(0xFFFFFFFFu) : "memory");
    check_eq("[0xFFFFFFFF*8 + 0x18] wraps to linear 0x10", v, peek(at0 + 0x10));
    __asm__ volatile("movl -6(%1), %0" : "=r"(v) : "r"(neg) : "memory");
    check_eq("[2 - 6] is linear 0xFFFFFFFC", v, 0x0BADF00D);
    /* The same wrapping address from one instruction many times (btvm --mmu host must not take
       a host fault each time: tests/mmu counts them). */
    uint32_t sum = 0;
    for (int i = 0; i < 4096; i++) {
        __asm__ volatile("movl -6(%1), %0" : "=r"(v) : "r"(neg) : "memory");
        sum += v;
    }
    check_eq("[2 - 6] 4096 times from one instruction", sum, 4096u * 0x0BADF00Du);
    __asm__ volatile("movl $0xFFFFFFF0, %%eax; movl 0xC(%%eax,%1,1), %0" : "=r"(v) : "r"(0u) : "eax", "memory");
    check_eq("[0xFFFFFFF0 + 0xC] is linear 0xFFFFFFFC", v, 0x0BADF00D);
    /* one register and a displacement, whose sum passes 4 GiB and must come out at the wrapped
       linear address */
    uint32_t top = 0xFFFFFFF0u;
    __asm__ volatile("movl 0x20(%1), %0" : "=r"(v) : "r"(top) : "memory");
    check_eq("[0xFFFFFFF0 + 0x20] is linear 0x10", v, peek(at0 + 0x10));
    __asm__ volatile("movl 0xE(%1), %0" : "=r"(v) : "r"(top) : "memory");
    check_eq("[0xFFFFFFF0 + 0xE] crosses to linear 0", v, (peek(at0) << 16) | 0x0BAD);
    __asm__ volatile("movl $0x600DCAFE, -4(%0)" : : "r"(0u) : "memory");
    check_eq("store to [0 - 4] is linear 0xFFFFFFFC", peek(0xFFFFFFFCu), 0x600DCAFE);
    __asm__ volatile("addl $1, -0x7FFFFFF0(%0)" : : "r"(0x7FFFFFECu) : "memory", "cc");
    check_eq("add to [0x7FFFFFEC - 0x7FFFFFF0]: linear 0xFFFFFFFC", peek(0xFFFFFFFCu), 0x600DCAFF);
    __asm__ volatile("movl 0x7FFFFFFF(%1), %0" : "=r"(v) : "r"(0x80000011u) : "memory");
    check_eq("[0x80000011 + 0x7FFFFFFF] is linear 0x10", v, peek(at0 + 0x10));
    poke(0xFFFFFFFCu, 0x0BADF00D);
    uint64_t q = 0;
    uint32_t lo = 0x0BADF00D, hi = 0;  /* cmpxchg8b on 0xFFFFFFFC: 4 bytes at the top, 4 at 0 */
    hi = peek(at0);
    __asm__ volatile("lock cmpxchg8b (%2)" : "+a"(lo), "+d"(hi) : "r"(0xFFFFFFFCu), "b"(0x11111111u),
                     "c"(0x22222222u) : "memory", "cc");
    q = ((uint64_t)peek(at0) << 32) | peek(0xFFFFFFFCu);
    check_eq("cmpxchg8b across 0xFFFFFFFF: top half", (uint32_t)q, 0x11111111u);
    check_eq("cmpxchg8b across 0xFFFFFFFF: linear 0 half", (uint32_t)(q >> 32), 0x22222222u);
    for (int i = 0; i < 8; i++)
        wr8(at0 + i, low_save[i]);
    pd.e[1023] = 0;
    reload_cr3();
}

void kmain(uint32_t magic, uint32_t mbi) {
    expect_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    detect_reference();
    gdt_install_flat();
    idt_install();
    trap_catch(14, 14);
    ram_top = ram_end(mbi);
    printf_s("end of RAM %08x\n", ram_top);
    check("mbi gives the memory size", ram_top >= 8 * MIB);
    if (ram_top < 8 * MIB)
        expect_finish("hostile");
    pg_identity_low(&pd, &pt0, PG_W);
    pd.e[PDX(X)] = (uint32_t)&pt_x | RW;
    paging_on(&pd);

    t_past_ram();
    t_recursive();
    t_bits();
    t_ports();
    t_alias_smc();
    t_strings();
    t_top();
    expect_finish("hostile");
}
