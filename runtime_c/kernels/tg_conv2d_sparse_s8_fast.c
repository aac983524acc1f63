/* Fast int8 convolution with sparse weights, groups 1 (same results as tg_conv2d_sparse_s8_ref
 * with the input offset folded into the bias, see tg_sparse.h). Output pixels go in groups of
 * four: their receptive fields are copied into scratch interleaved (byte q of word i = pixel q's
 * value at HWI position i; out-of-image taps and missing pixels hold -input_offset, which adds 0
 * after the fold), then one walk over a row's entries serves all four (tg_sparse_row4): per
 * non-zero one word load and four multiply-adds. The output stage is tg_requant_smmulr.h's (the
 * generator checked its operand bound for the layer). */
#include "tg_requant_smmulr.h"
#include "tg_sparse.h"

size_t tg_conv2d_sparse_s8_fast_scratch_bytes(const tg_conv2d_sparse_params *p)
{
    return (size_t)(4 * p->k_h * p->k_w * p->in_c);
}

static void gather(const tg_conv2d_sparse_params *p, const int8_t *input, int32_t pixel, int32_t pixels,
                   uint8_t *col)
{
    const uint8_t pad = (uint8_t)(-p->input_offset);
    const int32_t cin = p->in_c;
    for (int32_t q = 0; q < 4; ++q, ++pixel) {
        uint8_t *dst = col + q;
        const int32_t oy = pixel / p->out_w, ox = pixel % p->out_w;
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
            for (int32_t kx = 0; kx < p->k_w; ++kx, dst += 4 * cin) {
                const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
                if (pixel >= pixels || iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                    for (int32_t c = 0; c < cin; ++c) dst[4 * c] = pad;
                } else {
                    const uint8_t *src = (const uint8_t *)input + (iy * p->in_w + ix) * cin;
                    for (int32_t c = 0; c < cin; ++c) dst[4 * c] = src[c];
                }
            }
        }
    }
}

void tg_conv2d_sparse_s8_fast(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output,
                              void *scratch)
{
    /* locals: the int8 output stores may alias *p, which would make the compiler reload it */
    const int32_t pixels = p->out_h * p->out_w, cout = p->out_c;
    const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int8_t *const values = p->values;
    const uint8_t *const steps = p->steps;
    const uint16_t *const pairs = p->pairs;
    const int32_t *const bias = p->bias, *const mult = p->multiplier, *const shift = p->shift;
    uint8_t *col = (uint8_t *)scratch;
    for (int32_t px = 0; px < pixels; px += 4) {
        gather(p, input, px, pixels, col);
        const int8_t *v = values;
        const uint8_t *st = steps;
        int8_t *out = output + px * cout;
        const int32_t n = pixels - px < 4 ? pixels - px : 4;
        for (int32_t o = 0; o < cout; ++o) {
            int32_t acc[4] = {bias[o], bias[o], bias[o], bias[o]};
            tg_sparse_row4(col, &v, &st, pairs[o], acc);
            const tg_rq rq = tg_rq_make(mult[o], shift[o]);
            /* four lanes written out (not a loop) so the sums stay in registers */
            const int32_t y0 = tg_rq_apply(&rq, acc[0]) + off, y1 = tg_rq_apply(&rq, acc[1]) + off;
            const int32_t y2 = tg_rq_apply(&rq, acc[2]) + off, y3 = tg_rq_apply(&rq, acc[3]) + off;
            out[o] = (int8_t)(y0 < lo ? lo : (y0 > hi ? hi : y0));
            if (n > 1) out[cout + o] = (int8_t)(y1 < lo ? lo : (y1 > hi ? hi : y1));
            if (n > 2) out[2 * cout + o] = (int8_t)(y2 < lo ? lo : (y2 > hi ? hi : y2));
            if (n > 3) out[3 * cout + o] = (int8_t)(y3 < lo ? lo : (y3 > hi ? hi : y3));
        }
    }
}
