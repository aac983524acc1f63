/* Popcount building blocks for the binary kernels (one definition, portable C; the DSP USAD8 of
 * tg_dsp_bits.h sums bytes on Cortex-M, its portable twin on the host).
 *
 * Carry-save (Harley-Seal) counting: a carry-save adder takes three words and returns the bitwise
 * sum as (high, low) bit planes, a + b + c = 2*high + low per bit position. Chaining it keeps
 * running counts as bit planes ones/twos/fours (weights 1, 2, 4); every 8 words produce one word
 * of weight 8 ("eights"), the only word popcounted per block:
 *     popcount(d0 ^ ... ) total = 8 * sum popcount(eights) + 4*pc(fours) + 2*pc(twos) + pc(ones).
 * 7 adders (5 operations each) + 1 byte-count per 8 words, instead of one full popcount per word.
 *
 * Byte counts: tg_byte_counts(x) leaves popcount of each byte of x in that byte (0..8); weighted
 * byte counts of several words may be added before one USAD8 as long as every byte stays < 256.
 */
#ifndef TG_POPCOUNT_H
#define TG_POPCOUNT_H

#include <stdint.h>

#include "tg_dsp_bits.h"

/* per byte: number of bits set (0..8) */
static inline uint32_t tg_byte_counts(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (x + (x >> 4)) & 0x0F0F0F0Fu;
}

/* sum of the four bytes of x */
static inline uint32_t tg_sum_bytes(uint32_t x) { return tg_usad8(x, 0u); }

/* popcount of one word */
static inline uint32_t tg_popcount_u32(uint32_t x) { return tg_sum_bytes(tg_byte_counts(x)); }

/* carry-save adder: a + b + c = 2*(*high) + (*low), per bit */
#define TG_CSA(high, low, a, b, c)            \
    do {                                      \
        const uint32_t tg_csa_u_ = (a) ^ (b); \
        (high) = ((a) & (b)) | (tg_csa_u_ & (c)); \
        (low) = tg_csa_u_ ^ (c);              \
    } while (0)

/* Running carry-save state of one count. */
typedef struct {
    uint32_t ones, twos, fours;
    uint32_t eights; /* popcount of the eights words so far */
} tg_hs_state;

/* Add 8 words d[0..7] to the state (the Harley-Seal block of 8). */
#define TG_HS_BLOCK8(st, d0, d1, d2, d3, d4, d5, d6, d7)                  \
    do {                                                                  \
        uint32_t tg_ta_, tg_tb_, tg_fa_, tg_fb_, tg_e_;                   \
        TG_CSA(tg_ta_, (st).ones, (st).ones, d0, d1);                     \
        TG_CSA(tg_tb_, (st).ones, (st).ones, d2, d3);                     \
        TG_CSA(tg_fa_, (st).twos, (st).twos, tg_ta_, tg_tb_);             \
        TG_CSA(tg_ta_, (st).ones, (st).ones, d4, d5);                     \
        TG_CSA(tg_tb_, (st).ones, (st).ones, d6, d7);                     \
        TG_CSA(tg_fb_, (st).twos, (st).twos, tg_ta_, tg_tb_);             \
        TG_CSA(tg_e_, (st).fours, (st).fours, tg_fa_, tg_fb_);            \
        (st).eights = tg_usada8(tg_byte_counts(tg_e_), 0u, (st).eights);  \
    } while (0)

/* per 4-bit field: number of bits set (0..4) */
static inline uint32_t tg_nibble_counts(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    return (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
}

/* Weighted byte counts of the state's planes: 4*fours + 2*twos + ones, each byte <= 56. The
 * ones and twos nibble counts are added as nibbles (<= 4 + 2*4 = 12 < 16) before one nibble->byte
 * step, which saves a third of the three separate byte counts. */
static inline uint32_t tg_hs_plane_bytes(const tg_hs_state *st)
{
    const uint32_t y = tg_nibble_counts(st->ones) + (tg_nibble_counts(st->twos) << 1);
    const uint32_t f = tg_nibble_counts(st->fours);
    return (y & 0x0F0F0F0Fu) + ((y >> 4) & 0x0F0F0F0Fu) + (((f + (f >> 4)) & 0x0F0F0F0Fu) << 2);
}

/* The total count of a state plus `extra_bytes` (weighted byte counts of tail words; every byte of
 * plane_bytes + extra_bytes must stay < 256). */
static inline int32_t tg_hs_total(const tg_hs_state *st, uint32_t extra_bytes)
{
    return (int32_t)(8u * st->eights + tg_sum_bytes(tg_hs_plane_bytes(st) + extra_bytes));
}

/* Add n < 8 words d[0..n-1] (n a compile-time constant where it matters) to the state, returning
 * their weighted byte counts that the state does not hold (at most 56 per byte: 4 + 2 + 1 words'
 * worth of carries). */
static inline uint32_t tg_hs_tail(tg_hs_state *st, const uint32_t *d, int n)
{
    uint32_t extra = 0, ta, tb, fa;
    if (n & 4) {
        TG_CSA(ta, st->ones, st->ones, d[0], d[1]);
        TG_CSA(tb, st->ones, st->ones, d[2], d[3]);
        TG_CSA(fa, st->twos, st->twos, ta, tb);
        extra += tg_byte_counts(fa) << 2;
        d += 4;
    }
    if (n & 2) {
        TG_CSA(ta, st->ones, st->ones, d[0], d[1]);
        extra += tg_byte_counts(ta) << 1;
        d += 2;
    }
    if (n & 1) extra += tg_byte_counts(d[0]);
    return extra;
}

/* Add popcount(a[i] ^ b[i]) for nb blocks of 8 words (nb >= 0) to the state.
 * Cortex-M with DSP: hand-written loop (63 instructions per block: LDRD, the 7 adders with 3
 * temporaries, the eights byte count; gcc 12 -O2 takes 75, with LDR and spills), its byte counts
 * summed with USAD8 every 31 blocks (each block adds at most 8 per byte). Host: the C twin. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__thumb2__)
#define TG_HS_PAIR(dst)                                \
    "ldrd %[x0], %[x1], [%[a]], #8\n\t"              \
    "ldrd %[y0], %[y1], [%[b]], #8\n\t"              \
    "eor %[x0], %[x0], %[y0]\n\t"                    \
    "eor %[x1], %[x1], %[y1]\n\t"                    \
    "eor %[x0], %[x0], %[ones]\n\t"                  \
    "eor " dst ", %[x1], %[ones]\n\t"                \
    "and " dst ", " dst ", %[x0]\n\t"                \
    "eor " dst ", " dst ", %[ones]\n\t"              \
    "eor %[ones], %[x0], %[x1]\n\t"
/* high = maj(lo, p, q) into out (p is modified), lo = p ^ q ^ lo */
#define TG_HS_CSA(out, lo, p, q)                       \
    "eor " p ", " p ", " lo "\n\t"                   \
    "eor " out ", " q ", " lo "\n\t"                 \
    "and " out ", " out ", " p "\n\t"                \
    "eor " out ", " out ", " lo "\n\t"               \
    "eor " lo ", " p ", " q "\n\t"

/* x = byte counts of x (the temporary t is overwritten) */
#define TG_HS_BYTE_COUNTS(x, t)                               \
    "lsr " t ", " x ", #1\n\t"                             \
    "and " t ", " t ", #0x55555555\n\t"                    \
    "sub " x ", " x ", " t "\n\t"                           \
    "lsr " t ", " x ", #2\n\t"                             \
    "and " t ", " t ", #0x33333333\n\t"                    \
    "and " x ", " x ", #0x33333333\n\t"                    \
    "add " x ", " x ", " t "\n\t"                           \
    "add " x ", " x ", " x ", lsr #4\n\t"                  \
    "and " x ", " x ", #0x0F0F0F0F\n\t"
/* bytes += byte counts of x (x and the temporary t are overwritten) */
#define TG_HS_ADD_BYTES(x, t) TG_HS_BYTE_COUNTS(x, t) "add %[bytes], %[bytes], " x "\n\t"
/* the Harley-Seal block of 8 words (a, b advance by 8 words): the eights word's byte counts go to bytes */
#define TG_HS_BLOCK8_ASM                                      \
    TG_HS_PAIR("%[ta]")                                       \
    TG_HS_PAIR("%[y1]")                                       \
    TG_HS_CSA("%[fa]", "%[twos]", "%[ta]", "%[y1]")           \
    TG_HS_PAIR("%[ta]")                                       \
    TG_HS_PAIR("%[y1]")                                       \
    TG_HS_CSA("%[x0]", "%[twos]", "%[ta]", "%[y1]")           \
    TG_HS_CSA("%[x1]", "%[fours]", "%[fa]", "%[x0]")          \
    TG_HS_ADD_BYTES("%[x1]", "%[y0]")

static inline __attribute__((always_inline)) void tg_hs_xor_blocks(tg_hs_state *st, const uint32_t *a, const uint32_t *b, int32_t nb)
{
    uint32_t ones = st->ones, twos = st->twos, fours = st->fours;
    while (nb > 0) {
        int32_t n = nb < 31 ? nb : 31;
        uint32_t bytes = 0, x0, x1, y0, y1, ta, fa;
        nb -= n;
        __asm__ volatile(
            "1:\n\t"
            TG_HS_BLOCK8_ASM
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [x0] "=&r"(x0), [x1] "=&r"(x1), [y0] "=&r"(y0), [y1] "=&r"(y1), [ta] "=&r"(ta), [fa] "=&r"(fa),
              [ones] "+r"(ones), [twos] "+r"(twos), [fours] "+r"(fours), [bytes] "+r"(bytes), [a] "+r"(a),
              [b] "+r"(b), [n] "+r"(n)
            :
            : "cc", "memory");
        st->eights += tg_sum_bytes(bytes);
    }
    st->ones = ones;
    st->twos = twos;
    st->fours = fours;
}
#else
static inline __attribute__((always_inline)) void tg_hs_xor_blocks(tg_hs_state *st, const uint32_t *a, const uint32_t *b, int32_t nb)
{
    for (int32_t i = 0; i < nb; ++i, a += 8, b += 8) {
        TG_HS_BLOCK8(*st, a[0] ^ b[0], a[1] ^ b[1], a[2] ^ b[2], a[3] ^ b[3], a[4] ^ b[4], a[5] ^ b[5],
                     a[6] ^ b[6], a[7] ^ b[7]);
    }
}
#endif

#endif /* TG_POPCOUNT_H */
