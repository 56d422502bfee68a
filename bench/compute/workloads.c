/* Compute kernels for the btvm compute benchmark; see workloads.h.

   Written to compile identically for the freestanding i386 guest and natively on x86-64:
   no libc, no floating point, no 64-bit division, no loops that gcc would turn into memset or
   memcpy calls (the guest has no libc to provide them). Data lives in static arrays (.bss):
   about 2.4 MiB in all, well inside the guest's 64 MiB. */
#include "workloads.h"

/* Numerical Recipes LCG: full period mod 2^32, cheap, identical in both builds. */
static uint32_t lcg_next(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state;
}

/* Final mixing step (murmur3 fmix32) so checksums of different kernels look unrelated. */
static uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* ---------------------------------------------------------------------------------------------
   Sieve of Eratosthenes: one byte per number below SIEVE_MAX. Each repeat sieves a slightly
   different limit so that no repeat is a copy of another, and sums the primes it finds. */
#define SIEVE_MAX (1u << 21)
static uint8_t sieve_flags[SIEVE_MAX];

static uint32_t sieve_once(uint32_t limit, uint32_t *count)
{
    /* Start with the odd numbers as candidates (this also keeps gcc from making the loop a
       memset call); 2 is handled apart. */
    for (uint32_t i = 0; i < limit; i++)
        sieve_flags[i] = (uint8_t)(i & 1u);
    sieve_flags[1] = 0;
    for (uint32_t p = 3; p * p < limit; p += 2) {
        if (!sieve_flags[p])
            continue;
        for (uint32_t m = p * p; m < limit; m += 2 * p)
            sieve_flags[m] = 0;
    }
    uint32_t n = 1, sum = 2; /* the prime 2 */
    for (uint32_t i = 3; i < limit; i += 2) {
        if (sieve_flags[i]) {
            n++;
            sum += i;
        }
    }
    *count = n;
    return sum;
}

uint32_t wl_sieve(uint32_t reps)
{
    uint32_t h = 0;
    for (uint32_t r = 0; r < reps; r++) {
        uint32_t count;
        uint32_t sum = sieve_once(SIEVE_MAX - (r & 1023u), &count);
        h = (h ^ sum) * 0x01000193u + count;
    }
    return mix32(h);
}

/* ---------------------------------------------------------------------------------------------
   CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), one 256-entry table, byte at a time.
   Each repeat continues the CRC of the previous one over the same buffer. */
#define CRC_BUF (256u * 1024u)
static uint8_t crc_buf[CRC_BUF];
static uint32_t crc_table[256];

static void crc32_make_table(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
        crc_table[n] = c;
    }
}

/* Standard interface: crc32_update(0, data, len) is the CRC-32 of data. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, uint32_t len)
{
    crc = ~crc;
    for (uint32_t i = 0; i < len; i++)
        crc = crc_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

uint32_t wl_crc32(uint32_t reps)
{
    crc32_make_table();
    uint32_t s = 0x12345678u;
    for (uint32_t i = 0; i < CRC_BUF; i++)
        crc_buf[i] = (uint8_t)(lcg_next(&s) >> 24);
    uint32_t crc = 0;
    for (uint32_t r = 0; r < reps; r++)
        crc = crc32_update(crc, crc_buf, CRC_BUF);
    return crc;
}

/* ---------------------------------------------------------------------------------------------
   Integer matrix multiply C = A * B, 128x128 int32 (wrapping), i-k-j loop order. Between repeats
   one element of A changes, so every repeat computes a different product. */
#define MAT_N 128
static int32_t mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];

uint32_t wl_matmul(uint32_t reps)
{
    uint32_t s = 0xC0FFEEu;
    for (int i = 0; i < MAT_N; i++) {
        for (int j = 0; j < MAT_N; j++) {
            mat_a[i][j] = (int32_t)(lcg_next(&s) >> 20) - 2048; /* -2048..2047 */
            mat_b[i][j] = (int32_t)(lcg_next(&s) >> 20) - 2048;
        }
    }
    uint32_t h = 0;
    for (uint32_t r = 0; r < reps; r++) {
        for (int i = 0; i < MAT_N; i++) {
            int32_t *ci = mat_c[i];
            for (int j = 0; j < MAT_N; j++)
                ci[j] = 0;
            for (int k = 0; k < MAT_N; k++) {
                uint32_t aik = (uint32_t)mat_a[i][k]; /* unsigned: wrapping is defined */
                const int32_t *bk = mat_b[k];
                for (int j = 0; j < MAT_N; j++)
                    ci[j] = (int32_t)((uint32_t)ci[j] + aik * (uint32_t)bk[j]);
            }
        }
        uint32_t sum = 0;
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++)
                sum = sum * 31u + (uint32_t)mat_c[i][j];
        h = (h ^ sum) * 0x01000193u;
        mat_a[r % MAT_N][(r * 7u) % MAT_N] += (int32_t)(r & 0xffu) + 1;
    }
    return mix32(h);
}

/* ---------------------------------------------------------------------------------------------
   Quicksort of QS_N LCG-generated uint32: Hoare partition around a median-of-three pivot,
   insertion sort below 16 elements, recursion on the smaller side only (stack depth <= log2 n,
   the guest's stack is 64 KiB). */
#define QS_N (256u * 1024u)
static uint32_t qs_arr[QS_N];

static void insertion_sort(uint32_t *a, int32_t lo, int32_t hi)
{
    for (int32_t i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        int32_t j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quicksort(uint32_t *a, int32_t lo, int32_t hi)
{
    while (hi - lo >= 16) {
        int32_t mid = lo + (hi - lo) / 2;
        /* order a[lo] <= a[mid] <= a[hi]; the median becomes the pivot */
        uint32_t t;
        if (a[mid] < a[lo]) { t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
        if (a[hi] < a[lo])  { t = a[hi];  a[hi] = a[lo];  a[lo] = t; }
        if (a[hi] < a[mid]) { t = a[hi];  a[hi] = a[mid]; a[mid] = t; }
        uint32_t pivot = a[mid];
        int32_t i = lo - 1, j = hi + 1;
        for (;;) {
            do i++; while (a[i] < pivot);
            do j--; while (a[j] > pivot);
            if (i >= j)
                break;
            t = a[i]; a[i] = a[j]; a[j] = t;
        }
        /* [lo, j] and [j+1, hi] */
        if (j - lo < hi - j) {
            quicksort(a, lo, j);
            lo = j + 1;
        } else {
            quicksort(a, j + 1, hi);
            hi = j;
        }
    }
    insertion_sort(a, lo, hi);
}

/* Order-dependent digest of a[0..n): also checks sortedness (returns 0xBAD50127 if unsorted). */
static uint32_t sorted_digest(const uint32_t *a, uint32_t n)
{
    uint32_t h = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && a[i - 1] > a[i])
            return 0xBAD50127u;
        h += a[i] * (2u * i + 1u);
    }
    return h;
}

uint32_t wl_quicksort(uint32_t reps)
{
    uint32_t h = 0;
    for (uint32_t r = 0; r < reps; r++) {
        uint32_t s = 0x5EED0000u + r;
        for (uint32_t i = 0; i < QS_N; i++)
            qs_arr[i] = lcg_next(&s) ^ (s >> 15);
        quicksort(qs_arr, 0, (int32_t)QS_N - 1);
        h = (h ^ sorted_digest(qs_arr, QS_N)) * 0x01000193u;
    }
    return mix32(h);
}

/* ---------------------------------------------------------------------------------------------
   SHA-256 (FIPS 180-4). The constants are the standard's: the first 32 bits of the fractional
   parts of the cube roots (K) and square roots (H0) of the first primes. Each repeat hashes the
   buffer, then writes the digest into the buffer, so the next repeat hashes different data. */
#define SHA_BUF (64u * 1024u)
static uint8_t sha_buf[SHA_BUF];

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror32(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

static void sha256_block(uint32_t st[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ror32(w[t - 15], 7) ^ ror32(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ror32(w[t - 2], 17) ^ ror32(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
    uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                      sha_k[t] + w[t];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d;
    st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

/* Digest of len bytes at msg, as eight big-endian words in out. */
static void sha256(const uint8_t *msg, uint32_t len, uint32_t out[8])
{
    out[0] = 0x6a09e667; out[1] = 0xbb67ae85; out[2] = 0x3c6ef372; out[3] = 0xa54ff53a;
    out[4] = 0x510e527f; out[5] = 0x9b05688c; out[6] = 0x1f83d9ab; out[7] = 0x5be0cd19;
    uint32_t done = 0;
    for (; len - done >= 64; done += 64)
        sha256_block(out, msg + done);
    /* Tail: remaining bytes, 0x80, zeros, 64-bit big-endian bit length (len < 2^29 here). */
    uint8_t tail[128];
    uint32_t rest = len - done;
    uint32_t tail_len = rest + 9 <= 64 ? 64 : 128;
    for (uint32_t i = 0; i < tail_len; i++) {
        uint8_t v = 0;
        if (i < rest)
            v = msg[done + i];
        else if (i == rest)
            v = 0x80;
        else if (i >= tail_len - 4)
            v = (uint8_t)((len << 3) >> (8 * (tail_len - 1 - i)));
        tail[i] = v;
    }
    sha256_block(out, tail);
    if (tail_len == 128)
        sha256_block(out, tail + 64);
}

uint32_t wl_sha256(uint32_t reps)
{
    uint32_t s = 0xABCDEF01u;
    for (uint32_t i = 0; i < SHA_BUF; i++)
        sha_buf[i] = (uint8_t)(lcg_next(&s) >> 24);
    uint32_t h = 0;
    for (uint32_t r = 0; r < reps; r++) {
        uint32_t d[8];
        sha256(sha_buf, SHA_BUF, d);
        uint32_t off = (r * 32u) % SHA_BUF;
        for (int i = 0; i < 8; i++) {
            sha_buf[off + 4 * i] = (uint8_t)(d[i] >> 24);
            sha_buf[off + 4 * i + 1] = (uint8_t)(d[i] >> 16);
            sha_buf[off + 4 * i + 2] = (uint8_t)(d[i] >> 8);
            sha_buf[off + 4 * i + 3] = (uint8_t)d[i];
        }
        h = (h ^ d[0] ^ d[7]) * 0x01000193u;
    }
    return mix32(h);
}

uint32_t wl_empty(uint32_t reps)
{
    (void)reps;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
   Control-flow kernels: what a return-address stack and indirect-branch caches are for. The
   helpers are noinline so that gcc keeps every CALL and RET. */
#define NOINLINE __attribute__((noinline))

/* Call-heavy: a chain of small functions, half of them reached through a table of function
   pointers (indirect CALL), as object-oriented or callback-style code does. */
typedef uint32_t (*step_fn)(uint32_t, uint32_t);
static NOINLINE uint32_t step_add(uint32_t h, uint32_t x) { return h + x * 0x9e3779b1u; }
static NOINLINE uint32_t step_xor(uint32_t h, uint32_t x) { return (h ^ x) * 0x01000193u; }
static NOINLINE uint32_t step_rot(uint32_t h, uint32_t x) { return ((h << 7) | (h >> 25)) + x; }
static NOINLINE uint32_t step_mul(uint32_t h, uint32_t x) { return h * (x | 1u); }
static step_fn volatile steps[4] = {step_add, step_xor, step_rot, step_mul};

static NOINLINE uint32_t call_leaf(uint32_t h, uint32_t x) { return step_xor(step_add(h, x), x >> 3); }
static NOINLINE uint32_t call_mid(uint32_t h, uint32_t x)
{
    h = call_leaf(h, x);
    return steps[x & 3u](h, x);
}

uint32_t wl_calls(uint32_t reps)
{
    uint32_t h = 0x811c9dc5u, s = 1;
    for (uint32_t r = 0; r < reps; r++)
        for (uint32_t i = 0; i < 4096; i++)
            h = call_mid(h, lcg_next(&s));
    return mix32(h);
}

/* Recursive calls: doubly recursive Fibonacci and Ackermann's function (deep, irregular
   recursion that overflows any small return stack and comes back through it). */
static NOINLINE uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static NOINLINE uint32_t ackermann(uint32_t m, uint32_t n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

uint32_t wl_recursion(uint32_t reps)
{
    uint32_t h = 0;
    for (uint32_t r = 0; r < reps; r++) {
        h = (h ^ fib(18 + (r & 3u))) * 0x01000193u;
        h = (h ^ ackermann(2, 200 + (r & 7u))) * 0x01000193u;
        h = (h ^ ackermann(3, 3 + (r & 1u))) * 0x01000193u;
    }
    return mix32(h);
}

/* Interpreter: a small stack-machine bytecode run by a switch in a loop (gcc makes it a jump
   table: one indirect JMP per bytecode, to many targets). The program sums a hash over a loop. */
enum { OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_XOR, OP_MUL, OP_SHR, OP_DUP, OP_SWAP, OP_DECJNZ, OP_HALT };
static const uint8_t interp_prog[] = {
    OP_PUSH, 200,                 /* counter */
    OP_STORE, 0,
    /* loop: */
    OP_LOAD, 1, OP_LOAD, 0, OP_XOR, OP_PUSH, 31, OP_MUL, OP_DUP, OP_PUSH, 5, OP_SHR, OP_XOR,
    OP_DUP, OP_STORE, 1,          /* v1 = b */
    OP_LOAD, 2, OP_SWAP, OP_ADD, OP_STORE, 2, /* v2 += b */
    OP_LOAD, 0, OP_DECJNZ, 4,     /* counter-1 -> slot 0, back to loop while nonzero */
    OP_HALT,
};

static NOINLINE uint32_t interp_run(uint32_t seed)
{
    uint32_t stack[16], vars[4] = {0, seed, seed ^ 0x5a5a5a5au, 0};
    uint32_t sp = 0, pc = 0;
    for (;;) {
        uint8_t op = interp_prog[pc++];
        switch (op) {
        case OP_PUSH: stack[sp++] = interp_prog[pc++]; break;
        case OP_LOAD: stack[sp++] = vars[interp_prog[pc++] & 3u]; break;
        case OP_STORE: vars[interp_prog[pc++] & 3u] = stack[--sp]; break;
        case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case OP_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case OP_SHR: sp--; stack[sp - 1] >>= stack[sp] & 31u; break;
        case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case OP_SWAP: { uint32_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
        case OP_DECJNZ: {
            uint32_t v = stack[--sp] - 1;
            vars[0] = v;
            uint8_t target = interp_prog[pc++];
            if (v)
                pc = target;
            break;
        }
        default: return vars[1] ^ vars[2];
        }
        sp &= 15u;
    }
}

uint32_t wl_interp(uint32_t reps)
{
    uint32_t h = 0;
    for (uint32_t r = 0; r < reps; r++)
        h = (h * 0x01000193u) ^ interp_run(h + r);
    return mix32(h);
}

/* Division: Euclid's GCD of LCG pairs (an unsigned DIV per step, about ten a pair) and a signed
   quotient by a changing divisor (IDIV). The divisors change every time, so the compiler cannot
   turn them into multiplications: the i386 code runs DIV and IDIV themselves, which a translator
   that takes them to a helper (for their #DE) pays for on every one. */
uint32_t wl_divide(uint32_t reps)
{
    uint32_t h = 0x811c9dc5u, x = 12345u;
    for (uint32_t r = 0; r < reps; r++)
        for (uint32_t i = 0; i < 4096; i++) {
            x = x * 1664525u + 1013904223u;
            uint32_t a = x, b = (x >> 16) | 1u;
            while (b) {
                uint32_t t = a % b;
                a = b;
                b = t;
            }
            int32_t q = (int32_t)x / (int32_t)((i - 2048u) | 1u);
            h = (h ^ a ^ (uint32_t)q) * 0x01000193u;
        }
    return mix32(h);
}

/* ---------------------------------------------------------------------------------------------
   The table. default_reps put each kernel at roughly 0.3-1 s natively on the project's machine
   (2-core AMD EPYC VM, gcc 12 -O2). The checksums were computed natively and confirmed under
   qemu-system-i386 (see bench/README.md); change a size or a repeat count and they must be
   measured again with `compute-native KERNEL` and checked under QEMU. The control-flow kernels
   (calls, recursion, interp) run about 0.2-0.3 s natively, so that the guest test that runs
   every kernel (tests/guests, guest-compute) stays inside its time limit. */
const struct workload workloads[] = {
    {"sieve", wl_sieve, 180, 0x8c472519u},
    {"crc32", wl_crc32, 1000, 0x23151bd0u},
    {"matmul", wl_matmul, 600, 0xd5531dbbu},
    {"quicksort", wl_quicksort, 35, 0x6d5fbc61u},
    {"sha256", wl_sha256, 2500, 0x998adfa8u},
    {"calls", wl_calls, 1000, 0x9f9edcbeu},
    {"recursion", wl_recursion, 300, 0xa8275a23u},
    {"interp", wl_interp, 8000, 0x89688c2au},
    {"divide", wl_divide, 1600, 0xad67f13fu},
    {"mandel", wl_mandel, 100, 0xf9533193u},
    {"fpconv", wl_fpconv, 1000, 0x1637033cu},
    {"empty", wl_empty, 0, 0x00000000u},
    {0, 0, 0, 0},
};

/* ---------------------------------------------------------------------------------------------
   Self-tests on standard vectors. */
static int words_eq(const uint32_t *a, const uint32_t *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

int workloads_selftest(void)
{
    static const uint8_t digits[9] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    crc32_make_table();
    if (crc32_update(0, digits, 9) != 0xCBF43926u) /* the CRC-32 check value */
        return 1;

    static const uint8_t abc[3] = {'a', 'b', 'c'};
    static const uint32_t abc_digest[8] = {0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223,
                                           0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad};
    uint32_t d[8];
    sha256(abc, 3, d);
    if (!words_eq(d, abc_digest, 8))
        return 2;

    static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static const uint32_t two_digest[8] = {0x248d6a61, 0xd20638b8, 0xe5c02693, 0x0c3e6039,
                                           0xa33ce459, 0x64ff2167, 0xf6ecedd4, 0x19db06c1};
    sha256((const uint8_t *)two_blocks, 56, d);
    if (!words_eq(d, two_digest, 8))
        return 3;

    sha256(abc, 0, d); /* the empty message */
    static const uint32_t empty_digest[8] = {0xe3b0c442, 0x98fc1c14, 0x9afbf4c8, 0x996fb924,
                                             0x27ae41e4, 0x649b934c, 0xa495991b, 0x7852b855};
    if (!words_eq(d, empty_digest, 8))
        return 4;

    static uint32_t small[100];
    uint32_t s = 7;
    for (int i = 0; i < 100; i++)
        small[i] = lcg_next(&s) % 50u; /* many duplicates */
    quicksort(small, 0, 99);
    if (sorted_digest(small, 100) == 0xBAD50127u)
        return 5;

    uint32_t count;
    if (sieve_once(100, &count) != 1060u || count != 25u) /* 25 primes below 100, sum 1060 */
        return 6;
    return 0;
}

int wl_streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

const struct workload *wl_find(const char *name)
{
    for (const struct workload *w = workloads; w->name; w++)
        if (wl_streq(w->name, name))
            return w;
    return 0;
}
