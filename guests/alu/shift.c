/* SHL SHR SAR ROL ROR RCL RCR SHLD SHRD: by 1, by CL, by immediate. The count is masked to
 * 5 bits; a masked count of 0 changes nothing, not even the flags. For shifts CF is the last
 * bit shifted out; OF is defined only for a count of 1. Rotates never touch SF ZF AF PF. */
#include "alu.h"

static void test_shifts(void) {
    T("shl32 1 80000001", "shll %%eax", 0x80000001, 0, 0, 2, SH1, CF | OF);
    T("shl32 1 40000000", "shll $1, %%eax", 0x40000000, 0, 0, 0x80000000, SH1, PF | SF | OF);
    T("shl16 1 c000", "shlw %%ax", 0x0000C000, 0, 0, 0x00008000, SH1, CF | PF | SF);
    T("shr32 1", "shrl %%eax", 0x80000001, 0, 0, 0x40000000, SH1, CF | PF | OF);
    T("sar32 1", "sarl %%eax", 0x80000001, 0, 0, 0xC0000000, SH1, CF | PF | SF);
    T("shl32 cl=4", "shll %%cl, %%eax", 0x12345678, 4, 0, 0x23456780, SHN, CF);
    T("shr32 cl=8", "shrl %%cl, %%eax", 0x12345678, 8, 0, 0x00123456, SHN, PF);
    T("sar32 cl=31", "sarl %%cl, %%eax", 0x80000000, 31, 0, 0xFFFFFFFF, SHN, PF | SF);
    T("shl32 cl=0 keeps flags", "shll %%cl, %%eax", 0x12345678, 0, ALL, 0x12345678, ALL, ALL);
    T("shl32 cl=32 is 0", "shll %%cl, %%eax", 0x12345678, 32, CF | ZF, 0x12345678, ALL, CF | ZF);
    T("shl32 cl=33 is 1", "shll %%cl, %%eax", 0x80000000, 33, 0, 0, SH1, CF | PF | ZF | OF);
    T("shl8 cl=3", "shlb %%cl, %%al", 0xAAAAAA31, 3, 0, 0xAAAAAA88, SHN, CF | PF | SF);
    T("shr16 cl=9", "shrw %%cl, %%ax", 0x77778000, 9, 0, 0x77770040, SHN, 0);
    T("sar8 cl=7", "sarb %%cl, %%al", 0x00000080, 7, 0, 0x000000FF, SHN, PF | SF);
    T("shl32 imm 8", "shll $8, %%eax", 0x12345678, 0, 0, 0x34567800, SHN, PF);
    T("shl32 imm 0 keeps flags", "shll $0, %%eax", 0x12345678, 0, ALL, 0x12345678, ALL, ALL);
    T("shr32 imm 31", "shrl $31, %%eax", 0xC0000000, 0, 0, 1, SHN, CF);
    tm[0] = 0x81;
    T("shr [m],1", "shrl tm", 0, 0, 0, 0, SH1, CF);
    check_eq("shr [m],1 value", tm[0], 0x40);
}

static void test_rotates(void) {
    T("rol32 1", "roll %%eax", 0x80000000, 0, 0, 1, ROT1, CF | OF);
    T("ror32 1 keeps ZF", "rorl %%eax", 1, 0, ZF, 0x80000000, ROT1, CF | ZF | OF);
    T("rol32 cl=4", "roll %%cl, %%eax", 0x12345678, 4, SF | PF, 0x23456781, ROTN, CF | PF | SF);
    T("ror32 cl=8", "rorl %%cl, %%eax", 0x12345678, 8, CF | AF, 0x78123456, ROTN, AF);
    T("rol8 imm 4", "rolb $4, %%al", 0x00000012, 0, 0, 0x00000021, ROTN, CF);
    T("ror16 imm 4", "rorw $4, %%ax", 0x99991234, 0, CF, 0x99994123, ROTN, 0);
    T("rol32 cl=0 keeps flags", "roll %%cl, %%eax", 0x12345678, 0, ALL, 0x12345678, ALL, ALL);
    /* RCL/RCR rotate through CF: a 33-, 17- or 9-bit rotate. */
    T("rcl32 1", "rcll %%eax", 0x80000000, 0, 0, 0, ROT1, CF | OF);
    T("rcr32 1", "rcrl %%eax", 1, 0, CF, 0x80000000, ROT1, CF | OF);
    T("rcl32 cl=4", "rcll %%cl, %%eax", 0x12345678, 4, CF, 0x23456788, ROTN, CF);
    T("rcr32 cl=4", "rcrl %%cl, %%eax", 0x12345678, 4, 0, 0x01234567, ROTN, CF);
    T("rcl8 cl=1", "rclb %%cl, %%al", 0x12345680, 1, 0, 0x12345600, ROT1, CF | OF);
    T("rcr16 cl=1", "rcrw %%cl, %%ax", 0xFFFF0001, 1, 0, 0xFFFF0000, ROT1, CF);
    T("rcl16 cl=16", "rclw %%cl, %%ax", 0x00000001, 16, CF, 0x00008000, ROTN, CF);
    T("rcr32 imm 0 keeps flags", "rcrl $0, %%eax", 0x12345678, 0, ALL, 0x12345678, ALL, ALL);
}

static void test_double_shifts(void) {
    T("shld32 imm 8", "shldl $8, %%ecx, %%eax", 0x12345678, 0x9ABCDEF0, 0, 0x3456789A, SHN, PF);
    T("shld32 imm 1", "shldl $1, %%ecx, %%eax", 0x40000000, 0x80000000, 0, 0x80000001, SH1, SF | OF);
    T("shrd16 imm 4", "shrdw $4, %%cx, %%ax", 0xFFFF1234, 0xABCD, 0, 0xFFFFD123, SHN, SF);
    RUN("shrdl %%cl, %%edx, %%eax", 0x12345678, 4, 0x9ABCDEF5, 0);
    check_eq("shrd32 cl=4", A, 0x51234567);
    check_eq("shrd32 cl=4 flags", F & SHN, CF);
    RUN("shldl %%cl, %%edx, %%eax", 0x12345678, 36, 0xABCDEF01, 0);
    check_eq("shld32 cl=36 is 4", A, 0x2345678A);
    check_eq("shld32 cl=36 flags", F & SHN, CF);
    RUN("shldl %%cl, %%edx, %%eax", 0x12345678, 0, 0xFFFFFFFF, ALL);
    check_eq("shld32 cl=0", A, 0x12345678);
    check_eq("shld32 cl=0 keeps flags", F & ALL, ALL);
}

void test_shift(void) {
    test_shifts();
    test_rotates();
    test_double_shifts();
}
