/* PAE paging structures for the pae guest (Intel SDM vol. 3A 4.4): 512 64-bit entries per
 * page directory or page table; a 32-byte PDPT of four entries. Bits as in pg.h, plus: */
#pragma once
#include <stdint.h>

#define PG_PWT 0x008u
#define PG_PCD 0x010u
#define CR4_PAE 0x20u

/* Volatile: the compiler must not move or merge entry writes around the accesses that depend
 * on them. A 64-bit store compiles to two 32-bit stores; tests that care say which half. */
typedef struct { volatile uint64_t e[512]; } __attribute__((aligned(4096))) ptable64;
