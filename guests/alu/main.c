/* alu: self-checking test of the integer instruction set (results from the Intel SDM). */
#include "alu.h"

uint32_t A, C, D, F;
uint32_t tm[8] __attribute__((aligned(16)));

void kmain(uint32_t magic, uint32_t mbi) {
    (void)magic, (void)mbi;
    serial_puts("alu: integer instructions, results and defined flags\n");
    test_arith();
    test_shift();
    test_muldiv();
    test_bits();
    test_cc();
    test_bcd();
    test_string();
    test_stack();
    finish("alu");
}
