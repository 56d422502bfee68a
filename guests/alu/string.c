/* String instructions, byte/word/dword, with DF=0 (addresses go up) and DF=1 (down), with
 * REP / REPE / REPNE, checking the data and ECX, ESI, EDI afterwards. */
#include "alu.h"

static uint32_t Si, Di, Cx, Ax, Fl;
static uint8_t src[32], dst[32];
static uint32_t srcd[4] = {1, 2, 3, 4}, dstd[6];

/* Runs `insn` (which may start with "std;") with ESI, EDI, ECX, EAX; DF is cleared after. */
#define STR(insn, si, di, cx, ax)                                                                \
    do {                                                                                         \
        uint32_t s_ = (uint32_t)(si), d_ = (uint32_t)(di), c_ = (cx), a_ = (ax), f_;             \
        __asm__ volatile(insn "; cld; pushfl; popl %4"                                           \
                         : "+S"(s_), "+D"(d_), "+c"(c_), "+a"(a_), "=r"(f_)                      \
                         :                                                                       \
                         : "cc", "memory");                                                      \
        Si = s_, Di = d_, Cx = c_, Ax = a_, Fl = f_;                                             \
    } while (0)

#define ADDR(p) ((uint32_t)(p))

static void fill(uint8_t *p, const char *s, int n) {
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)s[i];
}

static void test_moves(void) {
    fill(src, "0123456789", 10);
    memset(dst, 0, sizeof dst);
    STR("rep movsb", src, dst, 10, 0);
    check("rep movsb data", memcmp(dst, "0123456789\0", 11) == 0);
    check_eq("rep movsb ecx", Cx, 0);
    check_eq("rep movsb esi", Si, ADDR(src + 10));
    check_eq("rep movsb edi", Di, ADDR(dst + 10));

    STR("std; rep movsl", &srcd[3], &dstd[4], 4, 0);
    check("std rep movsd data", dstd[0] == 0 && dstd[1] == 1 && dstd[2] == 2 && dstd[3] == 3 && dstd[4] == 4);
    check_eq("std rep movsd ecx", Cx, 0);
    check_eq("std rep movsd esi", Si, ADDR(srcd) - 4);
    check_eq("std rep movsd edi", Di, ADDR(&dstd[0]));

    STR("movsw", src, dst + 20, 77, 0);
    check_eq("movsw data", dst[20] | dst[21] << 8, '0' | '1' << 8);
    check_eq("movsw ecx untouched", Cx, 77);
    check_eq("movsw esi", Si, ADDR(src + 2));

    /* Overlapping forward copy moves one element at a time: the first byte spreads. */
    fill(dst, "abcde", 5);
    STR("rep movsb", dst, dst + 1, 4, 0);
    check("rep movsb overlap", memcmp(dst, "aaaaa", 5) == 0);
    /* A zero count does nothing. */
    STR("rep movsb", src, dst, 0, 0);
    check("rep movsb ecx=0 no copy", dst[0] == 'a');
    check_eq("rep movsb ecx=0 esi", Si, ADDR(src));
    /* Dwords whose destination starts 2 bytes into the source: each element reads two bytes
     * the one before wrote. */
    fill(dst, "ABCDEFGHIJKL", 12);
    STR("rep movsl", dst, dst + 2, 2, 0);
    check("rep movsd overlap by 2 bytes", memcmp(dst, "ABABCDCDGHKL", 12) == 0);
    /* Destination below the source: every element reads bytes not yet written (memmove). */
    fill(dst, "abcdefgh", 8);
    STR("rep movsb", dst + 2, dst, 6, 0);
    check("rep movsb down-overlap", memcmp(dst, "cdefghgh", 8) == 0);
    STR("rep movsw", dst + 1, dst, 3, 0);
    check("rep movsw down-overlap by 1 byte", memcmp(dst, "defghggh", 8) == 0);
    /* DF = 1: the destination above the source reads no byte already written (memmove);
     * below it, the elements replicate. */
    fill(dst, "abcdefgh", 8);
    STR("std; rep movsb", dst + 5, dst + 7, 6, 0);
    check("std rep movsb overlap up", memcmp(dst, "ababcdef", 8) == 0);
    check_eq("std rep movsb overlap up: edi", Di, ADDR(dst + 1));
    fill(dst, "abcdefgh", 8);
    STR("std; rep movsb", dst + 7, dst + 5, 4, 0);
    check("std rep movsb overlap down replicates", memcmp(dst, "abghghgh", 8) == 0);
    check_eq("std rep movsb overlap down: esi", Si, ADDR(dst + 3));
    fill(dst, "abcdefgh", 8);
    STR("std; rep stosw", 0, dst + 6, 3, 0x4241);
    check("std rep stosw", memcmp(dst, "abABABAB", 8) == 0);
    check_eq("std rep stosw: edi", Di, ADDR(dst));

}

static void test_stores_loads(void) {
    memset(dst, 0, sizeof dst);
    STR("rep stosw", dst, dst, 5, 0xBEEF);
    check("rep stosw data", dst[0] == 0xEF && dst[1] == 0xBE && dst[8] == 0xEF && dst[9] == 0xBE && dst[10] == 0);
    check_eq("rep stosw edi", Di, ADDR(dst + 10));
    check_eq("rep stosw ecx", Cx, 0);

    STR("std; stosb", 0, dst + 15, 3, 0x5A);
    check_eq("std stosb data", dst[15], 0x5A);
    check_eq("std stosb edi", Di, ADDR(dst + 14));

    for (int i = 0; i < 6; i++)
        dstd[i] = 0;
    STR("std; rep stosl", 0, &dstd[3], 3, 0xC0FFEE);
    check("std rep stosd data", dstd[0] == 0 && dstd[1] == 0xC0FFEE && dstd[3] == 0xC0FFEE && dstd[4] == 0);
    check_eq("std rep stosd edi", Di, ADDR(&dstd[0]));

    STR("lodsl", srcd, 0, 0, 0);
    check_eq("lodsd eax", Ax, 1);
    check_eq("lodsd esi", Si, ADDR(srcd) + 4);
    STR("std; lodsw", src + 4, 0, 0, 0xFFFF0000);
    check_eq("std lodsw eax", Ax, 0xFFFF0000 | '4' | '5' << 8);
    check_eq("std lodsw esi", Si, ADDR(src + 2));
    STR("lodsb", src + 9, 0, 0, 0x12345678);
    check_eq("lodsb eax", Ax, 0x12345600 | '9');
    /* One element each, both directions (translated inline, without the helper). */
    for (int i = 0; i < 4; i++)
        dstd[i] = 0;
    STR("std; movsl", &srcd[2], &dstd[3], 0, 0);
    check("std movsd data", dstd[3] == 3 && dstd[2] == 0);
    check_eq("std movsd esi", Si, ADDR(&srcd[1]));
    check_eq("std movsd edi", Di, ADDR(&dstd[2]));
    STR("movsb", src + 1, dst + 1, 0, 0);
    check_eq("movsb data", dst[1], '1');
    check_eq("movsb esi", Si, ADDR(src + 2));
    STR("std; stosw", 0, dst + 6, 0, 0x1234);
    check_eq("std stosw data", dst[6] | dst[7] << 8, 0x1234);
    check_eq("std stosw edi", Di, ADDR(dst + 4));
    STR("stosl", 0, &dstd[0], 0, 0xCAFEF00D);
    check_eq("stosd data", dstd[0], 0xCAFEF00D);
    check_eq("stosd edi", Di, ADDR(&dstd[1]));
}

static void test_compares(void) {
    fill(src, "hello world", 11);
    fill(dst, "help!", 5);
    /* REPE CMPS stops after the first mismatch ('l' - 'p' borrows: CF=1, ZF=0). */
    STR("repe cmpsb", src, dst, 5, 0);
    check_eq("repe cmpsb ecx", Cx, 1);
    check_eq("repe cmpsb esi", Si, ADDR(src + 4));
    check_eq("repe cmpsb edi", Di, ADDR(dst + 4));
    check_eq("repe cmpsb flags", Fl & (ZF | CF), CF);

    STR("repe cmpsl", srcd, srcd, 3, 0);
    check_eq("repe cmpsd equal ecx", Cx, 0);
    check_eq("repe cmpsd equal esi", Si, ADDR(srcd) + 12);
    check_eq("repe cmpsd equal flags", Fl & ALL, PF | ZF);

    STR("std; cmpsb", src + 1, dst + 4, 0, 0); /* 'e' - '!' = 0x44 */
    check_eq("std cmpsb esi", Si, ADDR(src));
    check_eq("std cmpsb edi", Di, ADDR(dst + 3));
    check_eq("std cmpsb flags", Fl & ALL, PF);

    /* REPNE SCAS stops at the first match. */
    STR("repne scasb", 0, src, 11, 'o');
    check_eq("repne scasb ecx", Cx, 6);
    check_eq("repne scasb edi", Di, ADDR(src + 5));
    check_eq("repne scasb ZF", Fl & ZF, ZF);
    STR("repne scasb", 0, src, 11, 'z');
    check_eq("repne scasb miss ecx", Cx, 0);
    check_eq("repne scasb miss edi", Di, ADDR(src + 11));
    check_eq("repne scasb miss ZF", Fl & ZF, 0);

    static const uint16_t words[5] = {0x1234, 7, 0x1234, 9, 11};
    STR("std; repne scasw", 0, &words[4], 5, 0x1234);
    check_eq("std repne scasw ecx", Cx, 2);
    check_eq("std repne scasw edi", Di, ADDR(&words[1]));
    STR("scasb", 0, src + 4, 0, 'z'); /* 'z' - 'o' = 0x0B */
    check_eq("scasb edi", Di, ADDR(src + 5));
    check_eq("scasb flags", Fl & ALL, AF);
    STR("std; scasl", 0, &srcd[1], 0, 1); /* 1 - 2: borrow */
    check_eq("std scasd edi", Di, ADDR(&srcd[0]));
    check_eq("std scasd flags", Fl & ALL, CF | SF | AF | PF);
    STR("repe scasl", 0, srcd, 4, 1);
    check_eq("repe scasd ecx", Cx, 2);
    check_eq("repe scasd flags", Fl & (ZF | CF | SF), CF | SF);
}

void test_string(void) {
    test_moves();
    test_stores_loads();
    test_compares();
}
