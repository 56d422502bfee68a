/* BT BTS BTR BTC, BSF BSR, BSWAP, XCHG CMPXCHG CMPXCHG8B XADD, CBW CWDE CWD CDQ,
 * MOVZX MOVSX, LEA. */
#include "alu.h"

uint64_t tm64;

static void test_bt(void) {
    T("bt32 bit 8", "btl %%ecx, %%eax", 0x100, 8, ZF, 0x100, BITF, CF | ZF);
    T("bt32 offset 40 is bit 8", "btl %%ecx, %%eax", 0x100, 40, 0, 0x100, BITF, CF);
    T("bts32", "btsl %%ecx, %%eax", 0, 3, CF, 8, BITF, 0);
    T("btr32", "btrl %%ecx, %%eax", 0xFFFFFFFF, 31, 0, 0x7FFFFFFF, BITF, CF);
    T("btc32", "btcl %%ecx, %%eax", 1, 0, 0, 0, BITF, CF);
    T("bt16 offset 17 is bit 1", "btw %%cx, %%ax", 2, 17, 0, 2, BITF, CF);
    T("bt32 imm 31", "btl $31, %%eax", 0x80000000, 0, 0, 0x80000000, BITF, CF);
    T("btc32 imm 4", "btcl $4, %%eax", 0, 0, ZF, 0x10, BITF, ZF);

    /* With a memory operand and a register offset the offset is signed and unbounded:
     * the bit string starts at tm+16 and reaches other dwords. */
    for (int i = 0; i < 8; i++)
        tm[i] = 0;
    RUN("btsl %%ecx, tm+16", 0, 100, 0, CF);
    check_eq("bts [m] offset 100", tm[7], 0x10);
    check_eq("bts [m] offset 100 CF", F & CF, 0);
    RUN("btl %%ecx, tm+16", 0, 100, 0, 0);
    check_eq("bt [m] offset 100 CF", F & CF, CF);
    RUN("btcl %%ecx, tm+16", 0, -1, 0, 0);
    check_eq("btc [m] offset -1", tm[3], 0x80000000);
    RUN("btrl %%ecx, tm+16", 0, -1, 0, 0);
    check_eq("btr [m] offset -1", tm[3], 0);
    check_eq("btr [m] offset -1 CF", F & CF, CF);
    RUN("btsw %%cx, tm+16", 0, 32, 0, 0);
    check_eq("bts16 [m] offset 32", tm[5], 1);
    RUN("btsw %%cx, tm+16", 0, 0xFFEF, 0, 0); /* cx = -17: word -2, bit 15 */
    check_eq("bts16 [m] offset -17", tm[3], 0x8000);
    tm[4] = 2;
    RUN("btl $33, tm+16", 0, 0, 0, 0); /* an immediate offset is taken mod 32 */
    check_eq("bt [m] imm 33 is bit 1", F & CF, CF);
}

static void test_scan_swap(void) {
    /* BSF/BSR: ZF = (source == 0); the destination is then undefined. */
    T("bsf32", "bsfl %%ecx, %%eax", 0, 0x00010000, ZF, 16, ZF, 0);
    T("bsr32", "bsrl %%ecx, %%eax", 0, 0x00010001, ZF, 16, ZF, 0);
    T("bsr32 bit 31", "bsrl %%ecx, %%eax", 0, 0x80000000, 0, 31, ZF, 0);
    T("bsf16", "bsfw %%cx, %%ax", 0xFFFF0000, 0x8000, 0, 0xFFFF000F, ZF, 0);
    RUN("bsfl %%ecx, %%eax", 0, 0, 0, 0);
    check_eq("bsf32 zero sets ZF", F & ZF, ZF);
    tm[0] = 0x300;
    T("bsr [m]", "bsrl tm, %%eax", 0, 0, 0, 9, ZF, 0);
    /* A P6 ignores REP before BSF/BSR (later CPUs run F3 0F BC/BD as TZCNT/LZCNT, which would
     * set ZF for a zero result and count from the top). */
    T("rep bsf is bsf", ".byte 0xf3\n bsfl %%ecx, %%eax", 5, 1, ZF, 0, ZF, 0);
    T("rep bsr is bsr", ".byte 0xf3\n bsrl %%ecx, %%eax", 0, 0x10000, ZF, 16, ZF, 0);
    T("bswap", "bswap %%eax", 0x12345678, 0, ALL, 0x78563412, ALL, ALL);
    RUN("bswap %%ecx", 0, 0x000000FF, 0, 0);
    check_eq("bswap ecx", C, 0xFF000000);
}

static void test_exchange(void) {
    RUN("xchgl %%ecx, %%eax", 1, 2, 0, 0);
    check_eq("xchg32 eax", A, 2);
    check_eq("xchg32 ecx", C, 1);
    T("xchg8 al,ah", "xchgb %%al, %%ah", 0x00001234, 0, 0, 0x00003412, ALL, 0);
    RUN("xchgw %%cx, %%ax", 0x11112222, 0x33334444, 0, 0);
    check_eq("xchg16 ax", A, 0x11114444);
    check_eq("xchg16 cx", C, 0x33332222);
    tm[0] = 5;
    T("xchg [m]", "xchgl %%eax, tm", 9, 0, 0, 5, ALL, 0);
    check_eq("xchg [m] memory", tm[0], 9);

    /* CMPXCHG: flags as CMP accumulator,dest; equal -> dest = source, else accumulator = dest. */
    tm[0] = 5;
    T("cmpxchg32 equal", "cmpxchgl %%ecx, tm", 5, 9, 0, 5, ALL, PF | ZF);
    check_eq("cmpxchg32 equal stores", tm[0], 9);
    tm[0] = 7;
    T("cmpxchg32 differ", "cmpxchgl %%ecx, tm", 5, 9, 0, 7, ALL, CF | AF | SF);
    check_eq("cmpxchg32 differ keeps", tm[0], 7);
    RUN("cmpxchgb %%cl, %%dl", 0x10, 0x20, 0x10, 0);
    check_eq("cmpxchg8 equal", D, 0x20);
    check_eq("cmpxchg8 flags", F & ALL, PF | ZF);
    RUN("cmpxchgw %%cx, %%dx", 0xAAAA0001, 0x5555, 2, 0);
    check_eq("cmpxchg16 differ loads ax", A, 0xAAAA0002);
    check_eq("cmpxchg16 flags", F & ALL, CF | PF | AF | SF);

    /* CMPXCHG8B: only ZF changes. */
    uint64_t acc = 0x1111111122222222ull;
    uint32_t f = CF | SF | PF | 2;
    tm64 = acc;
    __asm__ volatile("pushl %1; popfl; cmpxchg8b tm64; pushfl; popl %1"
                     : "+A"(acc), "+r"(f) : "b"(0x44444444), "c"(0x33333333) : "cc", "memory");
    check_eq("cmpxchg8b equal lo", (uint32_t)tm64, 0x44444444);
    check_eq("cmpxchg8b equal hi", (uint32_t)(tm64 >> 32), 0x33333333);
    check_eq("cmpxchg8b equal flags", f & ALL, CF | SF | PF | ZF);
    acc = 0;
    f = ZF | OF | 2;
    tm64 = 0x5555555566666666ull;
    __asm__ volatile("pushl %1; popfl; cmpxchg8b tm64; pushfl; popl %1"
                     : "+A"(acc), "+r"(f) : "b"(1), "c"(2) : "cc", "memory");
    check_eq("cmpxchg8b differ eax", (uint32_t)acc, 0x66666666);
    check_eq("cmpxchg8b differ edx", (uint32_t)(acc >> 32), 0x55555555);
    check_eq("cmpxchg8b differ keeps", (uint32_t)tm64, 0x66666666);
    check_eq("cmpxchg8b differ flags", f & ALL, OF);

    /* XADD: dest = dest + src, src = old dest; flags as ADD. */
    tm[0] = 10;
    RUN("xaddl %%ecx, tm", 0, 5, 0, 0);
    check_eq("xadd [m] sum", tm[0], 15);
    check_eq("xadd [m] old", C, 10);
    check_eq("xadd [m] flags", F & ALL, PF);
    RUN("xaddl %%ecx, %%eax", 0xFFFFFFFF, 1, 0, 0);
    check_eq("xadd32 sum", A, 0);
    check_eq("xadd32 old", C, 0xFFFFFFFF);
    check_eq("xadd32 flags", F & ALL, CF | PF | AF | ZF);
    RUN("xaddb %%cl, %%al", 0x7F, 1, 0, 0);
    check_eq("xadd8 sum", A, 0x80);
    check_eq("xadd8 old", C, 0x7F);
    check_eq("xadd8 flags", F & ALL, AF | SF | OF);
}

static void test_extend(void) {
    T("cbw", "cbtw", 0x12345680, 0, ALL, 0x1234FF80, ALL, ALL);
    T("cwde", "cwtl", 0x12348000, 0, 0, 0xFFFF8000, ALL, 0);
    RUN("cwtd", 0x8000, 0, 0x12340000, 0);
    check_eq("cwd", D, 0x1234FFFF);
    RUN("cltd", 0x7FFFFFFF, 0, 0xAAAAAAAA, 0);
    check_eq("cdq positive", D, 0);
    RUN("cltd", 0x80000000, 0, 0, 0);
    check_eq("cdq negative", D, 0xFFFFFFFF);

    T("movzx r32,r8", "movzbl %%cl, %%eax", 0xFFFFFFFF, 0x80, 0, 0x80, ALL, 0);
    T("movsx r32,r8", "movsbl %%cl, %%eax", 0, 0x80, 0, 0xFFFFFF80, ALL, 0);
    T("movzx r32,r16", "movzwl %%cx, %%eax", 0xFFFFFFFF, 0x18000, 0, 0x8000, ALL, 0);
    T("movsx r32,r16", "movswl %%cx, %%eax", 0, 0x8000, 0, 0xFFFF8000, ALL, 0);
    T("movsx r16,r8", "movsbw %%cl, %%ax", 0x12345678, 0xF0, 0, 0x1234FFF0, ALL, 0);
    T("movzx r16,r8", "movzbw %%cl, %%ax", 0x12345678, 0x1FF, 0, 0x123400FF, ALL, 0);
    T("movzx r32,ch", "movzbl %%ch, %%eax", 0, 0x1234, 0, 0x12, ALL, 0);
    tm[0] = 0x000080FE;
    T("movsx r32,[m8]", "movsbl tm, %%eax", 0, 0, 0, 0xFFFFFFFE, ALL, 0);
    T("movzx r32,[m16]", "movzwl tm, %%eax", 0, 0, 0, 0x80FE, ALL, 0);
    T("movsx r32,[m16] unaligned", "movswl tm+1, %%eax", 0, 0, 0, 0x80, ALL, 0);

    /* LEA computes an address, touches no memory and no flags; it wraps mod 2^32. */
    T("lea b+i*4+d", "leal 10(%%ecx,%%ecx,4), %%eax", 0, 3, ALL, 25, ALL, ALL);
    T("lea wraps", "leal -4(,%%ecx,8), %%eax", 0, 0, 0, 0xFFFFFFFC, ALL, 0);
    T("lea 2^31 wrap", "leal 0x80000000(%%ecx,%%ecx), %%eax", 0, 0x80000001, 0, 0x80000002, ALL, 0);
    T("lea16", "leaw 1(%%ecx), %%ax", 0x12345678, 0xFFFF, 0, 0x12340000, ALL, 0);
}

void test_bits(void) {
    test_bt();
    test_scan_swap();
    test_exchange();
    test_extend();
}
