/* Decimal adjust: DAA DAS after packed-BCD add/sub, AAA AAS after unpacked add/sub,
 * AAM AAD (also with a base other than 10, encoded by hand). */
#include "alu.h"

#define AAF (CF | AF)         /* AAA/AAS: only CF and AF are defined */
#define AAMF (SF | ZF | PF)   /* AAM/AAD: SF ZF PF from AL */

void test_bcd(void) {
    T("daa 79+35=114", "addb %%cl, %%al; daa", 0x79, 0x35, 0, 0x14, BCDF, CF | AF | PF);
    T("daa 38+45=83", "addb %%cl, %%al; daa", 0x38, 0x45, 0, 0x83, BCDF, AF | SF);
    T("daa 99+01=100", "addb %%cl, %%al; daa", 0x99, 0x01, 0, 0x00, BCDF, CF | AF | PF | ZF);
    T("daa 12+34 no adjust", "addb %%cl, %%al; daa", 0x12, 0x34, 0, 0x46, BCDF, 0);
    T("das 35-47=-12", "subb %%cl, %%al; das", 0x35, 0x47, 0, 0x88, BCDF, CF | AF | PF | SF);
    T("das 45-12=33", "subb %%cl, %%al; das", 0x45, 0x12, 0, 0x33, BCDF, PF);
    T("aaa 9+8=17", "addb %%cl, %%al; aaa", 0x0009, 8, 0, 0x0107, AAF, CF | AF);
    T("aaa 5+0", "addb %%cl, %%al; aaa", 0x0005, 0, 0, 0x0005, AAF, 0);
    T("aas 25-8=17", "subb %%cl, %%al; aas", 0x0205, 8, 0, 0x0107, AAF, CF | AF);
    T("aam 63", "aam", 0x3F, 0, 0, 0x0603, AAMF, PF);
    T("aam 0", "aam", 0x1200, 0, 0, 0x0000, AAMF, PF | ZF);
    T("aam base 16", ".byte 0xd4, 0x10", 0x3F, 0, 0, 0x030F, AAMF, PF);
    T("aad 63", "aad", 0x0603, 0, 0, 0x003F, AAMF, PF);
    T("aad base 16", ".byte 0xd5, 0x10", 0x0305, 0, 0, 0x0035, AAMF, PF);
    T("aad keeps upper eax", "aad", 0xABCD0109, 0, 0, 0xABCD0013, AAMF, 0);
}
