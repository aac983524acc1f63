/* Fast int8 fully connected layer with 1/2/4-bit weights (same results as
 * tg_fully_connected_packed_s8_ref, see tg_fully_connected_packed.h) on weights in the "pairs"
 * layout (tg_packed_dot.h), two output rows per pass over the input.
 * acc = bias + sum (code*step + woff)(x + ioff) = bias' + step * sum(code*x) + woff * sum(x), the
 * rest (step*ioff*sum(code) + in_features*woff*ioff) folded into bias' offline. */
#include "tg_packed_dot.h"
#include "tg_fixedpoint.h"
#include "tg_fully_connected_packed.h"

static int8_t finish(const tg_fully_connected_packed_params *p, int32_t o, int32_t dot, int32_t sx)
{
    int32_t acc = (int32_t)((uint32_t)p->bias[o] + (uint32_t)dot * (uint32_t)p->weight_step
                            + (uint32_t)sx * (uint32_t)p->weight_offset);
    return (int8_t)tg_requantize_clamp(acc, p->multiplier[o], p->shift[o], p->output_offset, p->act_min, p->act_max);
}

void tg_fully_connected_packed_s8_fast(const tg_fully_connected_packed_params *p, const int8_t *input,
                                       int8_t *output)
{
    const int32_t bits = p->weight_bits, k = p->in_features;
    for (int32_t n = 0; n < p->batches; ++n) {
        const int8_t *in = input + n * k;
        int32_t sx = 0;
        for (int32_t i = 0; i < k; ++i) sx += in[i];
        for (int32_t o = 0; o < p->out_features; o += 2) {
            const uint8_t *row = p->weight + o * p->row_bytes;
            /* an odd last row pairs with itself; only its first result is kept */
            const int32_t stride = o + 1 < p->out_features ? p->row_bytes : 0;
            int32_t d0, d1;
            tg_packed_dot_rows(row, stride, in, k, bits, &d0, &d1);
            *output++ = finish(p, o, d0, sx);
            if (stride) *output++ = finish(p, o + 1, d1, sx);
        }
    }
}
