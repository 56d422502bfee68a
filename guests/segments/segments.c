/* segments: protected-mode segmentation at CPL 0. Descriptor loads into DS/ES/FS/GS/SS and their
 * checks, bases, byte- and page-granular limits, expand-down segments, the LDT, far JMP/CALL/RETF
 * through a code segment with a non-zero base, LAR/LSL/VERR/VERW, and the accessed bit.
 * Expected values come from the Intel SDM (vol. 3 ch. 3 and 5, and the instruction pages).
 * TRY() and expect_*() are in ../exceptions/expect.h. */
#include "../exceptions/expect.h"

/* Slots 3..15 of the library's GDT. */
#define SEL_A 0x18      /* scratch data descriptor, rewritten by the tests */
#define SEL_B 0x20      /* second scratch descriptor */
#define SEL_XO 0x28     /* code, execute-only, flat */
#define SEL_CONF 0x30   /* code, conforming, readable, flat */
#define SEL_CODE2 0x38  /* code, readable, base 0x1000 */
#define SEL_LDT 0x40    /* the LDT */
#define SEL_D3 0x48     /* data, DPL 3, flat */
#define SEL_D1 0x50     /* data, DPL 1, flat */
#define SEL_SMALL 0x58  /* code, limit 0xFFF */
#define SEL_GATE 0x60   /* call-gate type: valid for LAR, not for LSL */
#define SEL_NPCODE 0x68 /* code, not present */
#define SEL_IGATE 0x70  /* interrupt-gate type: valid for neither LAR nor LSL */
#define SEL_TSS 0x78    /* available 32-bit TSS */
#define SEL_BEYOND 0x80 /* first selector past the 16-entry GDT */
#define CODE2_BASE 0x1000

#define DATA_RW 0x92  /* present, DPL 0, data, read/write, not accessed */
#define DATA_RO 0x90  /* present, DPL 0, data, read-only */
#define DATA_RWD 0x96 /* present, DPL 0, data, read/write, expand-down */
#define F_BYTE16 0x0  /* byte granular, B = 0 (16-bit bound for expand-down) */
#define F_BYTE32 GDT_FLAGS_32_BYTE
#define F_4K32 GDT_FLAGS_32_4K

#define QEMU_NO_LIMITS "QEMU TCG does not check data accesses against segment limits or rights"

static uint8_t buf[0x3000] __attribute__((aligned(4096)));
static uint64_t ldt[4] __attribute__((aligned(8)));
static uint32_t tss[26] __attribute__((aligned(16)));
#define LIN(p) ((uint32_t)(p))

static void set_seg(uint16_t sel, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
    gdt_set(sel >> 3, base, limit, access, flags);
}
static uint8_t access_byte(uint64_t d) { return (uint8_t)(d >> 40); }

/* ------------------------------------------------------------------ segment-register loads */

enum sreg { ES, SS, DS, FS, GS };
static const char *const sreg_name[] = {"es", "ss", "ds", "fs", "gs"};

static uint16_t read_sreg(enum sreg r) {
    uint16_t v = 0;
    switch (r) {
    case ES: __asm__ volatile("mov %%es, %0" : "=r"(v)); break;
    case SS: __asm__ volatile("mov %%ss, %0" : "=r"(v)); break;
    case DS: __asm__ volatile("mov %%ds, %0" : "=r"(v)); break;
    case FS: __asm__ volatile("mov %%fs, %0" : "=r"(v)); break;
    case GS: __asm__ volatile("mov %%gs, %0" : "=r"(v)); break;
    }
    return v;
}

/* Loads sel into r under TRY and returns what r held right after. DS and SS go back to flat at
 * once (C code needs them); ES, FS and GS keep what was loaded. */
static uint16_t try_sreg(enum sreg r, uint32_t sel) {
    uint16_t got = 0;
    trap_arm();
#define LOAD_AND_READ(reg) TRY("mov %k[s], %%" reg) "mov %%" reg ", %[g]\n\t"
    switch (r) {
    case ES: __asm__ volatile(LOAD_AND_READ("es") : [g] "=&r"(got) : [s] "r"(sel) : "memory"); break;
    case FS: __asm__ volatile(LOAD_AND_READ("fs") : [g] "=&r"(got) : [s] "r"(sel) : "memory"); break;
    case GS: __asm__ volatile(LOAD_AND_READ("gs") : [g] "=&r"(got) : [s] "r"(sel) : "memory"); break;
    case DS:
        __asm__ volatile(LOAD_AND_READ("ds") FLAT("ds")
                         : [g] "=&r"(got) : [s] "r"(sel) : "memory");
        break;
    case SS:
        __asm__ volatile(LOAD_AND_READ("ss") FLAT("ss")
                         : [g] "=&r"(got) : [s] "r"(sel) : "memory");
        break;
    }
    return got;
}

static void load_works(const char *name, enum sreg r, uint32_t sel) {
    uint16_t got = try_sreg(r, sel);
    expect_none(name);
    expect_eq(cat(name, "selector incl. RPL"), got, sel);
}

/* A failing load faults before anything changes: the register keeps its old selector. */
static void load_fails(const char *name, enum sreg r, uint32_t sel, uint32_t vector, uint32_t err) {
    uint16_t before = read_sreg(r);
    uint16_t got = try_sreg(r, sel);
    expect_fault(name, vector, err);
    expect_eq(cat(name, sreg_name[r]), got, before);
}

static void t_loads(void) {
    set_seg(SEL_A, 0, 0xFFFFF, DATA_RO, F_4K32);
    set_seg(SEL_B, 0, 0xFFFFF, 0x12, F_4K32); /* not present */
    load_works("fs <- read-only data", FS, SEL_A);
    load_fails("ss <- read-only data", SS, SEL_A, 13, SEL_A);
    load_fails("es <- not-present data", ES, SEL_B, 11, SEL_B);
    load_fails("ss <- not-present data", SS, SEL_B, 12, SEL_B);
    load_fails("gs <- beyond GDT limit", GS, SEL_BEYOND | 2, 13, SEL_BEYOND);
    load_fails("ds <- execute-only code", DS, SEL_XO, 13, SEL_XO);
    load_fails("ss <- code", SS, KERNEL_CS, 13, KERNEL_CS);
    load_fails("ds <- LDT descriptor", DS, SEL_LDT, 13, SEL_LDT);
    load_fails("fs <- TSS descriptor", FS, SEL_TSS, 13, SEL_TSS);
    load_works("ds <- readable code", DS, KERNEL_CS);
    /* Privilege: a data segment needs DPL >= max(CPL, RPL); conforming code skips the check;
     * SS needs RPL = DPL = CPL. Error codes drop the RPL bits. */
    load_fails("ds <- RPL 3 to DPL 0 data", DS, KERNEL_DS | 3, 13, KERNEL_DS);
    load_fails("es <- RPL 2 to DPL 1 data", ES, SEL_D1 | 2, 13, SEL_D1);
    load_works("es <- RPL 1 to DPL 1 data", ES, SEL_D1 | 1);
    load_works("fs <- RPL 0 to DPL 3 data", FS, SEL_D3);
    load_works("gs <- RPL 3 to conforming code", GS, SEL_CONF | 3);
    load_fails("ss <- RPL 1 selector", SS, KERNEL_DS | 1, 13, KERNEL_DS);
    load_fails("ss <- DPL 3 data", SS, SEL_D3, 13, SEL_D3);
    load_fails("ss <- null", SS, 0, 13, 0);
    load_works("ds <- null", DS, 0);
    load_works("fs <- null with RPL 3", FS, 3);

    /* LFS loads FS and a register from m16:32; a faulting LGS changes neither. */
    static struct __attribute__((packed)) { uint32_t off; uint16_t sel; } fp;
    uint32_t r = 0;
    fp.off = 0x12345678, fp.sel = SEL_D3;
    trap_arm();
    __asm__ volatile(TRY("lfs %[m], %[r]") : [r] "+r"(r) : [m] "m"(fp) : "memory");
    expect_none("lfs");
    expect_eq("lfs: offset", r, 0x12345678);
    expect_eq("lfs: fs", read_sreg(FS), SEL_D3);
    fp.off = 0x9ABCDEF0, fp.sel = SEL_XO;
    uint16_t gs0 = read_sreg(GS);
    trap_arm();
    __asm__ volatile(TRY("lgs %[m], %[r]") : [r] "+r"(r) : [m] "m"(fp) : "memory");
    expect_fault("lgs <- execute-only code", 13, SEL_XO);
    expect_eq("lgs <- execute-only code: register kept", r, 0x12345678);
    expect_eq("lgs <- execute-only code: gs kept", read_sreg(GS), gs0);

    /* PUSH sreg (32-bit operand size) moves ESP by 4; POP sreg loads the selector. */
    uint32_t d, g;
    __asm__ volatile("movl %%esp, %[d]\n\tpushl %%fs\n\tsubl %%esp, %[d]\n\tpopl %%gs\n\t"
                     "movl %%gs, %[g]"
                     : [d] "=&r"(d), [g] "=r"(g) : : "memory");
    expect_eq("push fs: esp moved by 4", d, 4);
    expect_eq("pop gs: selector", g & 0xFFFF, SEL_D3);
}

/* ------------------------------------------------------------------ bases */

static void t_bases(void) {
    uint32_t v;
    memset(buf, 0, sizeof buf);
    set_seg(SEL_A, LIN(buf), 0xFFF, DATA_RW, F_BYTE32);
    __asm__ volatile("mov %k0, %%fs" ::"r"(SEL_A));
    __asm__ volatile("movl %0, %%fs:0x10" ::"r"(0xCAFEBABE) : "memory");
    expect_eq("fs base: write lands at base + offset", *(volatile uint32_t *)(buf + 0x10), 0xCAFEBABE);
    *(volatile uint32_t *)(buf + 0x20) = 0x600DF00D;
    __asm__ volatile("movl %%fs:0x20, %0" : "=r"(v) : : "memory");
    expect_eq("fs base: read from base + offset", v, 0x600DF00D);

    /* The descriptor is cached at load: editing the GDT changes nothing until the next load. */
    set_seg(SEL_A, LIN(buf) + 0x10, 0xFFF, DATA_RW, F_BYTE32);
    __asm__ volatile("movl %%fs:0x20, %0" : "=r"(v) : : "memory");
    expect_eq("fs base: cached until reload", v, 0x600DF00D);
    __asm__ volatile("mov %k1, %%fs\n\tmovl %%fs:0x00, %0" : "=r"(v) : "r"(SEL_A) : "memory");
    expect_eq("fs base: new base after reload", v, 0xCAFEBABE);

    /* The linear address wraps at 4 GiB: base 0xFFF00000 + (buf + 1 MiB) = buf. */
    set_seg(SEL_B, 0xFFF00000, 0xFFFFF, DATA_RW, F_4K32);
    __asm__ volatile("mov %k1, %%gs\n\tmovl %%gs:(%2), %0"
                     : "=r"(v) : "r"(SEL_B), "r"(LIN(buf) + 0x100020) : "memory");
    expect_eq("gs base: linear address wraps", v, 0x600DF00D);

    /* DS base applies to plain [reg] operands, ES base to string destinations, an override
     * to the string source. */
    set_seg(SEL_B, LIN(buf) + 0x20, 0xFFFFF, DATA_RW, F_4K32);
    __asm__ volatile("mov %k1, %%ds\n\tmovl (%2), %0\n\t" FLAT("ds")
                     : "=&r"(v) : "r"(SEL_B), "r"(0) : "memory");
    expect_eq("ds base: [reg] read", v, 0x600DF00D);
    set_seg(SEL_B, LIN(buf) + 0x200, 0xFFF, DATA_RW, F_BYTE32);
    uint32_t di = 0x10, cx = 8;
    __asm__ volatile("mov %k[s], %%es\n\trep stosb\n\t" FLAT("es")
                     : "+D"(di), "+c"(cx) : "a"(0x77), [s] "r"(SEL_B) : "memory");
    expect_eq("es base: rep stosb first byte", buf[0x210], 0x77);
    expect_eq("es base: rep stosb last byte", buf[0x217], 0x77);
    expect_eq("es base: rep stosb stops", buf[0x218], 0);
    expect_eq("es base: edi after", di, 0x18);
    uint32_t si = 0x10; /* fs:0x10 = buf + 0x20 (FS base is buf + 0x10 now) */
    di = 0x40;
    __asm__ volatile("mov %k[s], %%es\n\tmovsl %%fs:(%%esi), %%es:(%%edi)\n\t" FLAT("es")
                     : "+S"(si), "+D"(di) : [s] "r"(SEL_B) : "memory");
    expect_eq("fs:esi -> es:edi movs", *(volatile uint32_t *)(buf + 0x240), 0x600DF00D);

    /* SS base applies to ESP-based operands: with base 4, (%esp) is the second dword pushed. */
    set_seg(SEL_B, 4, 0xFFFFF, DATA_RW, F_4K32);
    __asm__ volatile("pushl $0x1111\n\tpushl $0x2222\n\t"
                     "mov %k1, %%ss\n\tmovl (%%esp), %0\n\t" FLAT("ss")
                     "addl $8, %%esp"
                     : "=&r"(v) : "r"(SEL_B) : "memory");
    expect_eq("ss base: (%esp) = base + esp", v, 0x1111);
}

/* ------------------------------------------------------------------ limits */

/* One access through FS at offset off, under TRY: width 1, 2 or 4; write if wr. */
static uint32_t fs_access(uint32_t off, int width, int wr) {
    uint32_t v = wr ? 0xA5A5A5A5 : 0x5A5A5A5A;
    trap_arm();
    if (wr && width == 1)
        __asm__ volatile(TRY("movb %b[v], %%fs:(%[o])") : : [v] "q"(v), [o] "r"(off) : "memory");
    else if (wr)
        __asm__ volatile(TRY("movl %[v], %%fs:(%[o])") : : [v] "r"(v), [o] "r"(off) : "memory");
    else if (width == 1)
        __asm__ volatile(TRY("movb %%fs:(%[o]), %b[v]") : [v] "+q"(v) : [o] "r"(off) : "memory");
    else if (width == 2)
        __asm__ volatile(TRY("movw %%fs:(%[o]), %w[v]") : [v] "+r"(v) : [o] "r"(off) : "memory");
    else
        __asm__ volatile(TRY("movl %%fs:(%[o]), %[v]") : [v] "+r"(v) : [o] "r"(off) : "memory");
    return v;
}

static void fs_ok(const char *name, uint32_t off, int width, int wr) {
    fs_access(off, width, wr);
    expect_none(name);
}
static void fs_gp(const char *name, uint32_t off, int width, int wr) {
    fs_access(off, width, wr);
    expect_fault(name, 13, 0);
}

static void t_limits(void) {
    const char *old = qemu_gap(QEMU_NO_LIMITS);
    /* Byte granular, limit 0xFF: offsets 0..0xFF; every byte of the access must be inside. */
    set_seg(SEL_A, LIN(buf), 0xFF, DATA_RW, F_BYTE32);
    __asm__ volatile("mov %k0, %%fs" ::"r"(SEL_A));
    fs_ok("limit 0xff: dword at 0xfc", 0xFC, 4, 0);
    fs_gp("limit 0xff: dword at 0xfd", 0xFD, 4, 0);
    fs_ok("limit 0xff: byte at 0xff", 0xFF, 1, 0);
    fs_gp("limit 0xff: byte at 0x100", 0x100, 1, 0);
    fs_gp("limit 0xff: word at 0xff", 0xFF, 2, 0);
    buf[0x100] = 0x42;
    fs_gp("limit 0xff: byte write at 0x100", 0x100, 1, 1);
    expect_eq("limit 0xff: memory past the limit kept", buf[0x100], 0x42);
    set_seg(SEL_A, LIN(buf), 0, DATA_RW, F_BYTE32);
    __asm__ volatile("mov %k0, %%fs" ::"r"(SEL_A));
    fs_ok("limit 0: byte at 0", 0, 1, 0);
    fs_gp("limit 0: dword at 0", 0, 4, 0);

    /* 4 KiB granular: the effective limit is (field << 12) | 0xFFF. */
    set_seg(SEL_A, LIN(buf), 0, DATA_RW, F_4K32);
    __asm__ volatile("mov %k0, %%fs" ::"r"(SEL_A));
    fs_ok("4K limit 0: byte at 0xfff", 0xFFF, 1, 0);
    fs_gp("4K limit 0: byte at 0x1000", 0x1000, 1, 0);
    set_seg(SEL_A, LIN(buf), 1, DATA_RW, F_4K32);
    __asm__ volatile("mov %k0, %%fs" ::"r"(SEL_A));
    fs_ok("4K limit 1: dword at 0x1ffc", 0x1FFC, 4, 0);
    fs_gp("4K limit 1: dword at 0x1ffe", 0x1FFE, 4, 0);

    /* Expand-down: valid offsets are limit+1 .. 0xFFFFFFFF (B = 1) or .. 0xFFFF (B = 0). The
     * base puts every offset used here inside buf, should a reference not check at all. */
    set_seg(SEL_A, LIN(buf) + 0x1800, 0xFFF, DATA_RWD, F_BYTE32);
    __asm__ volatile("mov %k0, %%fs" ::"r"(SEL_A));
    fs_ok("expand-down: dword at limit+1", 0x1000, 4, 1);
    expect_eq("expand-down: write landed at base + offset", *(volatile uint32_t *)(buf + 0x2800), 0xA5A5A5A5);
    fs_gp("expand-down: byte at the limit", 0xFFF, 1, 0);
    fs_gp("expand-down: dword at 0", 0, 4, 0);
    fs_ok("expand-down: dword at 0xfffffffc", 0xFFFFFFFC, 4, 1);
    expect_eq("expand-down: top dword is base - 4", *(volatile uint32_t *)(buf + 0x17FC), 0xA5A5A5A5);
    fs_gp("expand-down: dword at 0xfffffffd", 0xFFFFFFFD, 4, 0);
    set_seg(SEL_A, LIN(buf) + 0x2000 - 0xFFFC, 0xFFF, DATA_RWD, F_BYTE16);
    __asm__ volatile("mov %k0, %%fs" ::"r"(SEL_A));
    fs_ok("expand-down B=0: dword at 0xfffc", 0xFFFC, 4, 1);
    expect_eq("expand-down B=0: write landed", *(volatile uint32_t *)(buf + 0x2000), 0xA5A5A5A5);
    fs_gp("expand-down B=0: byte at 0x10000", 0x10000, 1, 0);
    fs_gp("expand-down B=0: dword at 0xfffe", 0xFFFE, 4, 0);
    set_seg(SEL_A, LIN(buf), 0, DATA_RWD, F_4K32);
    __asm__ volatile("mov %k0, %%fs" ::"r"(SEL_A));
    fs_gp("expand-down 4K limit 0: byte at 0xfff", 0xFFF, 1, 0);
    fs_ok("expand-down 4K limit 0: byte at 0x1000", 0x1000, 1, 0);

    /* Read-only data: reads work, writes #GP(0). Readable code in DS: likewise. */
    set_seg(SEL_A, LIN(buf), 0xFFF, DATA_RO, F_BYTE32);
    __asm__ volatile("mov %k0, %%fs" ::"r"(SEL_A));
    *(volatile uint32_t *)(buf + 0x80) = 0x12121212;
    expect_eq("read-only data: read", fs_access(0x80, 4, 0), 0x12121212);
    expect_none("read-only data: read");
    fs_gp("read-only data: write", 0x80, 4, 1);
    expect_eq("read-only data: memory kept", *(volatile uint32_t *)(buf + 0x80), 0x12121212);
    uint32_t v = 0;
    *(volatile uint32_t *)(buf + 0x80) = 0x12121212; /* whatever the write above did */
    trap_arm();
    __asm__ volatile("mov %k[s], %%ds\n\t" TRY("movl (%[p]), %[v]") FLAT("ds")
                     : [v] "+r"(v) : [p] "r"(buf + 0x80), [s] "r"(KERNEL_CS)
                     : "memory");
    expect_none("ds = readable code: read");
    expect_eq("ds = readable code: value", v, 0x12121212);
    trap_arm();
    __asm__ volatile("mov %k[s], %%ds\n\t" TRY("movl %[v], (%[p])") FLAT("ds")
                     : : [v] "r"(0), [p] "r"(buf + 0x80), [s] "r"(KERNEL_CS)
                     : "memory");
    expect_fault("ds = readable code: write", 13, 0);
    expect_eq("ds = readable code: memory kept", *(volatile uint32_t *)(buf + 0x80), 0x12121212);

    /* A null selector loads, but any access through it is #GP(0). */
    trap_arm();
    __asm__ volatile("mov %k[s], %%ds\n\t" TRY("movl (%[p]), %[v]") FLAT("ds")
                     : [v] "+r"(v) : [p] "r"(buf), [s] "r"(0) : "memory");
    expect_fault("ds = null: read", 13, 0);
    expect_eq("ds = null: ds in frame", trap_log[0].ds, 0);
    __asm__ volatile("mov %k0, %%fs" ::"r"(0));
    fs_gp("fs = null: read", 0x80, 4, 0);

    /* REP STOSB into the ES limit: the fault comes at the first byte past it, with ECX and EDI
     * counting the bytes already stored, and EIP at the REP prefix. */
    set_seg(SEL_A, LIN(buf), 0xFF, DATA_RW, F_BYTE32);
    memset(buf, 0, 0x200);
    uint32_t di = 0xF0, cx = 0x20;
    trap_arm();
    __asm__ volatile("mov %k[s], %%es\n\t" TRY("rep stosb") FLAT("es")
                     : "+D"(di), "+c"(cx) : "a"(0x33), [s] "r"(SEL_A) : "memory");
    expect_fault("rep stosb into es limit", 13, 0);
    expect_eq("rep stosb into es limit: ecx in frame", trap_log[0].ecx, 0x10);
    expect_eq("rep stosb into es limit: edi in frame", trap_log[0].edi, 0x100);
    expect_eq("rep stosb into es limit: ecx after", cx, 0x10);
    expect_eq("rep stosb into es limit: last byte stored", buf[0xFF], 0x33);
    expect_eq("rep stosb into es limit: nothing past it", buf[0x100], 0);

    /* SS: accesses past its limit raise #SS(0). Limit 16 MiB - 1 keeps our stack inside. */
    set_seg(SEL_B, 0, 0xFFF, DATA_RW, F_4K32);
    trap_arm();
    __asm__ volatile("mov %k[s], %%ss\n\t" TRY("movb %%ss:(%[p]), %b[v]") FLAT("ss")
                     : [v] "+q"(v) : [p] "r"(0xFFFFFF), [s] "r"(SEL_B) : "memory");
    expect_none("ss limit: byte at the limit");
    trap_arm();
    __asm__ volatile("mov %k[s], %%ss\n\t" TRY("movw %%ss:(%[p]), %w[v]") FLAT("ss")
                     : [v] "+r"(v) : [p] "r"(0xFFFFFF), [s] "r"(SEL_B) : "memory");
    expect_fault("ss limit: word at the limit", 12, 0);

    /* An expand-down SS (limit 0: offsets 1..0xFFFFFFFF) works as a stack, offset 0 faults.
     * The handler runs on it too. */
    set_seg(SEL_B, 0, 0, DATA_RWD, F_BYTE32);
    uint32_t pp;
    trap_arm();
    __asm__ volatile("mov %k[s], %%ss\n\tpushl $0x77\n\tpopl %[pp]\n\t" TRY("movb %%ss:(%[p]), %b[v]")
                     FLAT("ss")
                     : [v] "+q"(v), [pp] "=&r"(pp) : [p] "r"(0), [s] "r"(SEL_B) : "memory");
    expect_fault("expand-down ss: byte at 0", 12, 0);
    expect_eq("expand-down ss: push/pop", pp, 0x77);
    qemu_gap(old);
}

/* ------------------------------------------------------------------ LDT */

static void t_ldt(void) {
    /* LDT entry 0 is a real descriptor: only GDT index 0 is the null selector. */
    ldt[0] = 0x00CF92000000FFFFull; /* flat data, accessed bit clear */
    ldt[1] = ((uint64_t)(LIN(buf) >> 24) << 56) | (0x40ull << 48) | ((uint64_t)DATA_RW << 40) |
             ((uint64_t)(LIN(buf) & 0xFFFFFF) << 16) | 0xFFF;
    ldt[2] = 0x00CF12000000FFFFull; /* not present */
    ldt[3] = 0;
    set_seg(SEL_LDT, LIN(ldt), sizeof ldt - 1, 0x82, 0);
    __asm__ volatile("lldt %w0" ::"r"(SEL_LDT));
    uint32_t s;
    __asm__ volatile("sldt %0" : "=r"(s));
    expect_eq("sldt", s & 0xFFFF, SEL_LDT);

    *(volatile uint32_t *)(buf + 0x30) = 0x1D71D7;
    load_works("gs <- LDT entry 1", GS, 0x0C);
    uint32_t v;
    __asm__ volatile("movl %%gs:0x30, %0" : "=r"(v) : : "memory");
    expect_eq("gs <- LDT entry 1: base used", v, 0x1D71D7);
    expect_eq("LDT entry 1: accessed bit set", access_byte(ldt[1]), DATA_RW | 1);
    load_works("fs <- LDT entry 0 (0x04)", FS, 0x04);
    load_fails("es <- LDT entry 2 not present", ES, 0x14, 11, 0x14);
    load_fails("es <- beyond LDT limit", ES, 0x24, 13, 0x24);

    trap_arm();
    __asm__ volatile(TRY("lldt %w0") ::"r"(KERNEL_DS) : "memory");
    expect_fault("lldt <- data segment", 13, KERNEL_DS);
    trap_arm();
    __asm__ volatile(TRY("lldt %w0") ::"r"(SEL_LDT | 4) : "memory");
    expect_fault("lldt <- TI=1 selector", 13, SEL_LDT | 4); /* error codes keep TI */

    /* A null LDTR makes every TI=1 selector fail its limit check. */
    __asm__ volatile("lldt %w0" ::"r"(0));
    __asm__ volatile("sldt %0" : "=r"(s));
    expect_eq("lldt 0: sldt", s & 0xFFFF, 0);
    load_fails("es <- TI=1 with null LDTR", ES, 0x0C, 13, 0x0C);
    __asm__ volatile("lldt %w0" ::"r"(SEL_LDT));
}

/* ------------------------------------------------------------------ far transfers */

/* Code reached through SEL_CODE2 (base 0x1000) runs at offset = linear - 0x1000. It records CS
 * and its own EIP (call/pop), and returns with an indirect far jump or a far return. */
struct __attribute__((packed)) far_ptr {
    uint32_t off;
    uint16_t sel;
};
volatile struct far_ptr far_back, far_dest;
volatile uint32_t far_eip, far_ret_eip, far_ret_cs;
volatile uint16_t far_cs;
void far_jmp_target(void), far_jmp_probe(void), far_call_target(void), far_call_probe(void);
void far_call_ret8(void);

__asm__(".text\n"
        "far_jmp_target:\n\t"
        "movw %cs, far_cs\n\t"
        "call far_jmp_probe\n"
        "far_jmp_probe:\n\t"
        "popl far_eip\n\t"
        "ljmp *far_back\n"
        "far_call_target:\n\t"
        "movw %cs, far_cs\n\t"
        "pushl (%esp)\n\tpopl far_ret_eip\n\t"
        "pushl 4(%esp)\n\tpopl far_ret_cs\n\t"
        "call far_call_probe\n"
        "far_call_probe:\n\t"
        "popl far_eip\n\t"
        "lret\n"
        "far_call_ret8:\n\t"
        "movw %cs, far_cs\n\t"
        "lret $8\n");

static void t_far(void) {
    set_seg(SEL_CODE2, CODE2_BASE, 0xFFFFF, GDT_CODE_RX, F_4K32);
    uint16_t cs_after;

    /* Direct far JMP there, indirect far JMP (FF /5) back. */
    far_cs = 0, far_eip = 0;
    __asm__ volatile("movl $1f, far_back\n\tmovw %%cs, far_back+4\n\t"
                     "ljmp $" STR(SEL_CODE2) ", $far_jmp_target - " STR(CODE2_BASE) "\n"
                     "1:\tmovw %%cs, %0"
                     : "=r"(cs_after) : : "memory");
    expect_eq("far jmp: cs at target", far_cs, SEL_CODE2);
    expect_eq("far jmp: eip at target = linear - base", far_eip, LIN(far_jmp_probe) - CODE2_BASE);
    expect_eq("far jmp back: cs", cs_after, KERNEL_CS);
    /* SDM vol. 3 3.4.5.1: loading a selector into any segment register sets the accessed bit. */
    const char *old = qemu_gap("QEMU TCG does not set the accessed bit when a far transfer loads CS");
    expect_eq("far jmp: accessed bit set", access_byte(gdt_get(SEL_CODE2 >> 3)), GDT_CODE_RX | 1);
    qemu_gap(old);

    /* Direct far CALL: pushes CS and the return offset; RETF comes back. */
    uint32_t esp0, esp1, ret_at;
    far_cs = 0, far_eip = 0;
    __asm__ volatile("movl %%esp, %[e0]\n\t"
                     "lcall $" STR(SEL_CODE2) ", $far_call_target - " STR(CODE2_BASE) "\n"
                     "1:\tmovl $1b, %[r]\n\tmovl %%esp, %[e1]\n\tmovw %%cs, %[c]"
                     : [e0] "=&r"(esp0), [e1] "=&r"(esp1), [r] "=&r"(ret_at), [c] "=&r"(cs_after)
                     : : "memory");
    expect_eq("far call: cs at target", far_cs, SEL_CODE2);
    expect_eq("far call: eip at target", far_eip, LIN(far_call_probe) - CODE2_BASE);
    expect_eq("far call: pushed return offset", far_ret_eip, ret_at);
    expect_eq("far call: pushed cs", far_ret_cs & 0xFFFF, KERNEL_CS);
    expect_eq("retf: cs", cs_after, KERNEL_CS);
    expect_eq("retf: esp back", esp1, esp0);

    /* Indirect far CALL (FF /3) through m16:32, and RETF imm16 dropping two pushed arguments. */
    far_dest.off = LIN(far_call_ret8) - CODE2_BASE, far_dest.sel = SEL_CODE2;
    far_cs = 0;
    __asm__ volatile("movl %%esp, %[e0]\n\tpushl $1\n\tpushl $2\n\t"
                     "lcall *far_dest\n\t"
                     "movl %%esp, %[e1]\n\tmovw %%cs, %[c]"
                     : [e0] "=&r"(esp0), [e1] "=&r"(esp1), [c] "=&r"(cs_after) : : "memory");
    expect_eq("far call m16:32: cs at target", far_cs, SEL_CODE2);
    expect_eq("retf 8: esp back past the arguments", esp1, esp0);
    expect_eq("retf 8: cs", cs_after, KERNEL_CS);

    /* Faulting far JMPs: nothing changes, EIP stays on the JMP. */
    set_seg(SEL_SMALL, 0, 0xFFF, GDT_CODE_RX, F_BYTE32);
    trap_arm();
    __asm__ volatile(TRY("ljmp $" STR(SEL_SMALL) ", $0x2000") ::: "memory");
    expect_fault("far jmp past the cs limit", 13, 0);
    trap_arm();
    __asm__ volatile(TRY("ljmp $" STR(KERNEL_DS) ", $0") ::: "memory");
    expect_fault("far jmp to a data segment", 13, KERNEL_DS);
    trap_arm();
    __asm__ volatile(TRY("ljmp $" STR(SEL_NPCODE) ", $0") ::: "memory");
    expect_fault("far jmp to not-present code", 11, SEL_NPCODE);
    trap_arm();
    __asm__ volatile(TRY("ljmp $0, $0") ::: "memory");
    expect_fault("far jmp to null", 13, 0);
    trap_arm();
    __asm__ volatile(TRY("lcall $" STR(SEL_BEYOND) ", $0") ::: "memory");
    expect_fault("far call beyond GDT limit", 13, SEL_BEYOND);
}

/* ------------------------------------------------------------------ LAR, LSL, VERR, VERW */

/* Each runs with ZF preset to the opposite of the expected result, so that a ZF that is never
 * written shows. The destination starts as 0xDEADBEEF: it must stay so on failure. */
enum sel_op { LAR, LSL, VERR, VERW };
static const char *const op_name[] = {"lar", "lsl", "verr", "verw"};

static int sel_op(enum sel_op op, uint32_t sel, int zf_in, uint32_t *out) {
    uint32_t v = 0xDEADBEEF, fl = zf_in ? 0x42 : 0x02;
    uint8_t z;
    switch (op) {
    case LAR: __asm__ volatile("pushl %[f]\n\tpopfl\n\tlar %[s], %[v]\n\tsetz %[z]" : [v] "+r"(v), [z] "=q"(z) : [s] "r"(sel), [f] "r"(fl) : "cc"); break;
    case LSL: __asm__ volatile("pushl %[f]\n\tpopfl\n\tlsl %[s], %[v]\n\tsetz %[z]" : [v] "+r"(v), [z] "=q"(z) : [s] "r"(sel), [f] "r"(fl) : "cc"); break;
    case VERR: __asm__ volatile("pushl %[f]\n\tpopfl\n\tverr %w[s]\n\tsetz %[z]" : [z] "=q"(z) : [s] "r"(sel), [f] "r"(fl) : "cc"); break;
    case VERW: __asm__ volatile("pushl %[f]\n\tpopfl\n\tverw %w[s]\n\tsetz %[z]" : [z] "=q"(z) : [s] "r"(sel), [f] "r"(fl) : "cc"); break;
    }
    if (out)
        *out = v;
    return z;
}

static char what_buf[64];
static const char *what(enum sel_op op, const char *desc) {
    const char *p = op_name[op];
    size_t n = 0;
    while (*p && n < sizeof what_buf - 2)
        what_buf[n++] = *p++;
    what_buf[n++] = ' ';
    for (p = desc; *p && n < sizeof what_buf - 1;)
        what_buf[n++] = *p++;
    what_buf[n] = 0;
    return what_buf;
}

static void sel_ok(enum sel_op op, const char *desc, uint32_t sel, uint32_t mask, uint32_t want) {
    uint32_t v;
    int z = sel_op(op, sel, 0, &v);
    static char name[80];
    memcpy(name, what(op, desc), sizeof what_buf);
    expect_eq(cat(name, "ZF"), z, 1);
    if (mask)
        expect_eq(cat(name, "value"), v & mask, want);
}

static void sel_bad(enum sel_op op, const char *desc, uint32_t sel) {
    uint32_t v;
    int z = sel_op(op, sel, 1, &v);
    static char name[80];
    memcpy(name, what(op, desc), sizeof what_buf);
    expect_eq(cat(name, "ZF"), z, 0);
    if (op == LAR || op == LSL)
        expect_eq(cat(name, "destination kept"), v, 0xDEADBEEF);
}

static void t_lar_lsl_verr_verw(void) {
    /* LAR gives descriptor bytes 5..7 masked with 0x00FxFF00 (bits 16..19 undefined). For code
     * and data the accessed bit (0x100) is masked too: it has its own checks. For system
     * descriptors that bit is part of the type. */
    const uint32_t AR = 0x00F0FE00, AR_SYS = 0x00F0FF00;
    sel_ok(LAR, "kernel cs", KERNEL_CS, AR, 0x00C09A00);
    sel_ok(LAR, "kernel ds", KERNEL_DS, AR, 0x00C09200);
    sel_ok(LAR, "DPL 3 data, RPL 3", SEL_D3 | 3, AR, 0x00C0F200);
    sel_ok(LAR, "conforming code, RPL 3", SEL_CONF | 3, AR, 0x00C09E00);
    sel_ok(LAR, "LDT", SEL_LDT, AR_SYS, 0x00008200);
    sel_ok(LAR, "available TSS", SEL_TSS, AR_SYS, 0x00008900);
    sel_ok(LAR, "call gate", SEL_GATE, AR_SYS, 0x00008C00);
    sel_ok(LAR, "LDT entry 1 (TI=1)", 0x0C, AR, 0x00409200);
    sel_bad(LAR, "null", 0);
    sel_bad(LAR, "beyond GDT", SEL_BEYOND);
    sel_bad(LAR, "RPL 3 to DPL 0 data", KERNEL_DS | 3);
    sel_bad(LAR, "interrupt gate type", SEL_IGATE);

    set_seg(SEL_A, 0, 0x12345, DATA_RW, F_BYTE32);
    set_seg(SEL_B, 0, 1, DATA_RW, F_4K32);
    sel_ok(LSL, "kernel ds (4K, 0xfffff)", KERNEL_DS, 0xFFFFFFFF, 0xFFFFFFFF);
    sel_ok(LSL, "byte limit 0x12345", SEL_A, 0xFFFFFFFF, 0x12345);
    sel_ok(LSL, "4K limit 1", SEL_B, 0xFFFFFFFF, 0x1FFF);
    sel_ok(LSL, "LDT", SEL_LDT, 0xFFFFFFFF, sizeof ldt - 1);
    sel_ok(LSL, "TSS", SEL_TSS, 0xFFFFFFFF, 0x67);
    sel_bad(LSL, "call gate", SEL_GATE);
    sel_bad(LSL, "null", 0);
    sel_bad(LSL, "RPL 3 to DPL 0 data", SEL_A | 3);

    set_seg(SEL_A, 0, 0xFFFFF, DATA_RO, F_4K32);
    sel_ok(VERR, "readable code", KERNEL_CS, 0, 0);
    sel_ok(VERR, "data", KERNEL_DS, 0, 0);
    sel_ok(VERR, "read-only data", SEL_A, 0, 0);
    sel_ok(VERR, "conforming readable code, RPL 3", SEL_CONF | 3, 0, 0);
    sel_bad(VERR, "execute-only code", SEL_XO);
    sel_bad(VERR, "null", 0);
    sel_bad(VERR, "RPL 3 to DPL 0 data", KERNEL_DS | 3);
    sel_bad(VERR, "LDT", SEL_LDT);
    sel_ok(VERW, "data", KERNEL_DS, 0, 0);
    sel_ok(VERW, "DPL 3 data, RPL 0", SEL_D3, 0, 0);
    sel_bad(VERW, "read-only data", SEL_A);
    sel_bad(VERW, "code", KERNEL_CS);
    sel_bad(VERW, "null", 0);
    sel_bad(VERW, "RPL 3 to DPL 0 data", KERNEL_DS | 3);
    sel_bad(VERW, "beyond GDT", SEL_BEYOND);
}

/* ------------------------------------------------------------------ accessed bit */

static void t_accessed(void) {
    set_seg(SEL_A, 0, 0xFFFFF, DATA_RW, F_4K32);
    set_seg(SEL_B, 0, 0xFFFFF, DATA_RW, F_4K32);
    expect_eq("accessed bit clear before load", access_byte(gdt_get(SEL_A >> 3)), DATA_RW);
    __asm__ volatile("mov %k0, %%gs" ::"r"(SEL_A));
    expect_eq("gs load sets accessed bit", access_byte(gdt_get(SEL_A >> 3)), DATA_RW | 1);
    /* Only a segment-register load sets it (SDM vol. 3 3.4.5.1); LAR and VERW load none. */
    (void)sel_op(LAR, SEL_B, 0, 0);
    (void)sel_op(VERW, SEL_B, 0, 0);
    expect_eq("lar/verw leave accessed bit alone", access_byte(gdt_get(SEL_B >> 3)), DATA_RW);
    __asm__ volatile("mov %k0, %%ss\n\t" FLAT("ss") ::"r"(SEL_B) : "memory");
    expect_eq("ss load sets accessed bit", access_byte(gdt_get(SEL_B >> 3)), DATA_RW | 1);
}

/* One load through DS right after MOV DS, at the same EIP every call (not inlined). */
static __attribute__((noinline)) uint32_t read_after_ds_load(uint16_t sel, const void *p) {
    uint32_t v;
    __asm__ volatile("mov %k[s], %%ds\n\tmovl (%[p]), %[v]\n\t" FLAT("ds")
                     : [v] "=r"(v) : [p] "r"(p), [s] "r"(sel) : "memory");
    return v;
}

/* The same instructions after a segment load in two modes: flat DS, then DS with a base. Each
 * load ends its block and a new segment changes how the next block is translated: the code
 * after it must run as translated for the new DS, not be taken from the first run's flat
 * translation (btvm goes on from such helpers without the dispatcher: emu/helper_exit.h). */
static void t_same_code_two_modes(void) {
    volatile uint32_t *w = (volatile uint32_t *)(buf + 0x40);
    w[0] = 0xAAAA0001;
    w[0x100 / 4] = 0xBBBB0002;
    set_seg(SEL_A, 0x100, 0xFFFFF, DATA_RW, F_4K32); /* base 0x100, 4 GiB limit */
    expect_eq("same code after mov ds: flat ds", read_after_ds_load(KERNEL_DS, buf + 0x40), 0xAAAA0001);
    expect_eq("same code after mov ds: ds base 0x100", read_after_ds_load(SEL_A, buf + 0x40), 0xBBBB0002);
    expect_eq("same code after mov ds: flat ds again", read_after_ds_load(KERNEL_DS, buf + 0x40), 0xAAAA0001);
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)mbi;
    expect_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    detect_reference();
    gdt_install_flat();
    idt_install();
    trap_catch(11, 13);

    set_seg(SEL_XO, 0, 0xFFFFF, 0x98, F_4K32);
    set_seg(SEL_CONF, 0, 0xFFFFF, 0x9E, F_4K32);
    set_seg(SEL_D3, 0, 0xFFFFF, 0xF2, F_4K32);
    set_seg(SEL_D1, 0, 0xFFFFF, 0xB2, F_4K32);
    set_seg(SEL_GATE, 0, 0, 0x8C, 0);
    set_seg(SEL_NPCODE, 0, 0xFFFFF, 0x1A, F_4K32);
    set_seg(SEL_IGATE, 0, 0, 0x8E, 0);
    set_seg(SEL_TSS, LIN(tss), sizeof tss - 1, 0x89, 0);

    t_ldt(); /* first: t_loads uses SEL_LDT as a descriptor of the wrong type */
    t_loads();
    t_bases();
    t_limits();
    t_far();
    t_lar_lsl_verr_verw();
    t_accessed();
    t_same_code_two_modes();
    expect_finish("segments");
}
