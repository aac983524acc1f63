/* The dot products of the fast packed-weight kernels (fully connected, conv through an im2col row)
 * on weights in the "pairs" layout: each row is whole little-endian words of 32/bits codes; field
 * j of half h of a word (bits 16h + bits*j) holds input 4*(j/2) + (j%2) + 2h of that word's group,
 * so `(word >> bits*j) & mask` is two codes as int16 halves matching SXTB16 (j even) or SXTB16
 * ROR 8 (j odd) of the inputs' word j/2: one AND with a shifted operand unpacks two codes, SMLAD
 * multiplies them. Codes past the row's length are 0. (tinygen/ops/fully_connected_packed.py
 * pair_layout writes it.) */
#ifndef TG_PACKED_DOT_H
#define TG_PACKED_DOT_H

#include <stdint.h>

#include "tg_dsp.h"

/* sum(code * x) over `words` words of two rows (`stride` bytes apart), each input word widened
 * once for both; 32/BITS codes per word (a constant, so the loops unroll). The empty asm hides the
 * mask's value from gcc so that it folds each shift into the AND (AND Rd, mask, w, LSR #s)
 * instead of materializing the immediate mask after a separate shift. */
#define TG_FCP_DOT2(NAME, BITS)                                                                    \
    static inline void NAME(const uint8_t *row, int32_t stride, const int8_t *in, int32_t words,          \
                     int32_t *acc0, int32_t *acc1)                                                 \
    {                                                                                              \
        uint32_t mask = ((1u << (BITS)) - 1u) * 0x00010001u;                                       \
        __asm__("" : "+r"(mask));                                                                  \
        int32_t a0 = 0, a1 = 0;                                                                    \
        for (int32_t i = 0; i < words; ++i, row += 4, in += 32 / (BITS)) {                         \
            const uint32_t w0 = tg_load_u32(row), w1 = tg_load_u32(row + stride);                  \
            _Pragma("GCC unroll 8")                                                                \
            for (int32_t q = 0; q < 8 / (BITS); ++q) {                                             \
                const uint32_t x = tg_load_u32(in + 4 * q);                                        \
                const uint32_t xe = tg_sxtb16(x), xo = tg_sxtb16_ror8(x);                          \
                a0 = tg_smlad(mask & (w0 >> ((BITS) * 2 * q)), xe, a0);                            \
                a1 = tg_smlad(mask & (w1 >> ((BITS) * 2 * q)), xe, a1);                            \
                a0 = tg_smlad(mask & (w0 >> ((BITS) * (2 * q + 1))), xo, a0);                      \
                a1 = tg_smlad(mask & (w1 >> ((BITS) * (2 * q + 1))), xo, a1);                      \
            }                                                                                      \
        }                                                                                          \
        *acc0 = a0;                                                                                \
        *acc1 = a1;                                                                                \
    }

TG_FCP_DOT2(tg_packed_dot1, 1)
TG_FCP_DOT2(tg_packed_dot2, 2)
TG_FCP_DOT2(tg_packed_dot4, 4)

static inline int32_t tg_packed_tail_dot(const uint8_t *row, const int8_t *in, int32_t words, int32_t tail, int32_t bits)
{
    const uint32_t field = (1u << bits) - 1u, w = tg_load_u32(row + 4 * words);
    const int32_t per = 32 / bits;
    int32_t acc = 0;
    for (int32_t g = 0; g < tail; ++g) {
        const int32_t j = 2 * (g / 4) + (g & 1), at = 16 * ((g >> 1) & 1) + bits * j;
        acc += (int32_t)((w >> at) & field) * in[words * per + g];
    }
    return acc;
}

/* Both rows' sums over k inputs (32/bits per word), tail included. */
static inline void tg_packed_dot_rows(const uint8_t *row, int32_t stride, const int8_t *in, int32_t k, int32_t bits,
                                      int32_t *d0, int32_t *d1)
{
    const int32_t words = k / (32 / bits), tail = k - words * (32 / bits);
    if (bits == 4) tg_packed_dot4(row, stride, in, words, d0, d1);
    else if (bits == 2) tg_packed_dot2(row, stride, in, words, d0, d1);
    else tg_packed_dot1(row, stride, in, words, d0, d1);
    if (tail) {
        *d0 += tg_packed_tail_dot(row, in, words, tail, bits);
        *d1 += tg_packed_tail_dot(row + stride, in, words, tail, bits);
    }
}

#endif /* TG_PACKED_DOT_H */
