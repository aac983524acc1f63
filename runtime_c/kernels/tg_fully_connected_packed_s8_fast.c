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

/* sum(code * x) over `words` words of two rows (`stride` bytes apart), each input word widened
 * once for both; 32/BITS codes per word (a constant, so the loops unroll). The empty asm hides the
 * mask's value from gcc so that it folds each shift into the AND (AND Rd, mask, w, LSR #s)
 * instead of materializing the immediate mask after a separate shift. */
#define TG_FCP_DOT2(NAME, BITS)                                                                    \
    static void NAME(const uint8_t *row, int32_t stride, const int8_t *in, int32_t words,          \
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

TG_FCP_DOT2(dot1, 1)
TG_FCP_DOT2(dot2, 2)
TG_FCP_DOT2(dot4, 4)

static int32_t tail_dot(const uint8_t *row, const int8_t *in, int32_t words, int32_t tail, int32_t bits)
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

static int8_t finish(const tg_fully_connected_packed_params *p, int32_t o, int32_t dot, int32_t sx)
{
    int32_t acc = (int32_t)((uint32_t)p->bias[o] + (uint32_t)dot * (uint32_t)p->weight_step
                            + (uint32_t)sx * (uint32_t)p->weight_offset);
    acc = tg_requantize(acc, p->multiplier[o], p->shift[o]) + p->output_offset;
    return (int8_t)tg_clamp(acc, p->act_min, p->act_max);
}

void tg_fully_connected_packed_s8_fast(const tg_fully_connected_packed_params *p, const int8_t *input,
                                       int8_t *output)
{
    const int32_t bits = p->weight_bits, per = 32 / bits, k = p->in_features;
    const int32_t words = k / per, tail = k - words * per;
    for (int32_t n = 0; n < p->batches; ++n) {
        const int8_t *in = input + n * k;
        int32_t sx = 0;
        for (int32_t i = 0; i < k; ++i) sx += in[i];
        for (int32_t o = 0; o < p->out_features; o += 2) {
            const uint8_t *row = p->weight + o * p->row_bytes;
            /* an odd last row pairs with itself; only its first result is kept */
            const int32_t stride = o + 1 < p->out_features ? p->row_bytes : 0;
            int32_t d0, d1;
            if (bits == 4) dot4(row, stride, in, words, &d0, &d1);
            else if (bits == 2) dot2(row, stride, in, words, &d0, &d1);
            else dot1(row, stride, in, words, &d0, &d1);
            if (tail) {
                d0 += tail_dot(row, in, words, tail, bits);
                d1 += tail_dot(row + stride, in, words, tail, bits);
            }
            *output++ = finish(p, o, d0, sx);
            if (stride) *output++ = finish(p, o + 1, d1, sx);
        }
    }
}
