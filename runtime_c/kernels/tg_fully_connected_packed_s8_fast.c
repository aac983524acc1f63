/* Fast int8 fully connected layer with 1/2/4-bit weights (same results as
 * tg_fully_connected_packed_s8_ref, see tg_fully_connected_packed.h), on weights laid out offline
 * (ops/fully_connected_packed.py, layout "pairs"): each row is whole little-endian words of 32/bits
 * codes; field j of half h of a word (bits 16h + bits*j) holds input 4*(j/2) + (j%2) + 2h of that
 * word's group, so `(word >> bits*j) & mask` is two codes as int16 halves matching SXTB16 (j even)
 * or SXTB16 ROR 8 (j odd) of the inputs' word j/2: one AND with a shifted operand unpacks two
 * codes, SMLAD multiplies them. Codes past in_features are 0.
 * acc = bias + sum (code*step + woff)(x + ioff) = bias' + step * sum(code*x) + woff * sum(x), the
 * rest (step*ioff*sum(code) + in_features*woff*ioff) folded into bias' offline. */
#include "tg_dsp.h"
#include "tg_fixedpoint.h"
#include "tg_fully_connected_packed.h"

/* sum(code * x) over `words` words of one row; PER codes per word (a constant, so unrolled). */
#define TG_FCP_DOT(NAME, BITS)                                                                   \
    static int32_t NAME(const uint8_t *row, const int8_t *in, int32_t words)                    \
    {                                                                                           \
        const uint32_t mask = ((1u << (BITS)) - 1u) * 0x00010001u;                              \
        int32_t acc = 0;                                                                        \
        for (int32_t i = 0; i < words; ++i, row += 4, in += 32 / (BITS)) {                      \
            const uint32_t w = tg_load_u32(row);                                                \
            for (int32_t q = 0; q < 8 / (BITS); ++q) {                                          \
                const uint32_t x = tg_load_u32(in + 4 * q);                                     \
                acc = tg_smlad((w >> ((BITS) * 2 * q)) & mask, tg_sxtb16(x), acc);              \
                acc = tg_smlad((w >> ((BITS) * (2 * q + 1))) & mask, tg_sxtb16_ror8(x), acc);   \
            }                                                                                   \
        }                                                                                       \
        return acc;                                                                             \
    }

TG_FCP_DOT(dot1, 1)
TG_FCP_DOT(dot2, 2)
TG_FCP_DOT(dot4, 4)

void tg_fully_connected_packed_s8_fast(const tg_fully_connected_packed_params *p, const int8_t *input,
                                       int8_t *output)
{
    const int32_t bits = p->weight_bits, per = 32 / bits, k = p->in_features;
    const int32_t words = k / per, tail = k - words * per;
    const uint32_t field = (1u << bits) - 1u;
    for (int32_t n = 0; n < p->batches; ++n) {
        const int8_t *in = input + n * k;
        int32_t sx = 0;
        for (int32_t i = 0; i < k; ++i) sx += in[i];
        for (int32_t o = 0; o < p->out_features; ++o) {
            const uint8_t *row = p->weight + o * p->row_bytes;
            int32_t acc = bits == 4 ? dot4(row, in, words) : bits == 2 ? dot2(row, in, words) : dot1(row, in, words);
            if (tail) {
                const uint32_t w = tg_load_u32(row + 4 * words);
                for (int32_t g = 0; g < tail; ++g) {
                    const int32_t j = 2 * (g / 4) + (g & 1), at = 16 * ((g >> 1) & 1) + bits * j;
                    acc += (int32_t)((w >> at) & field) * in[words * per + g];
                }
            }
            acc = (int32_t)((uint32_t)p->bias[o] + (uint32_t)acc * (uint32_t)p->weight_step
                            + (uint32_t)sx * (uint32_t)p->weight_offset);
            acc = tg_requantize(acc, p->multiplier[o], p->shift[o]) + p->output_offset;
            *output++ = (int8_t)tg_clamp(acc, p->act_min, p->act_max);
        }
    }
}
