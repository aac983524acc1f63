/* Fast int8 convolution with sparse weights, groups 1 (same results as tg_conv2d_sparse_s8_ref
 * with the input offset folded into the bias, see tg_sparse.h). Output pixels go in pairs: both
 * receptive fields are copied into im2col rows in scratch, out-of-image taps holding
 * -input_offset (adding 0 after the fold), then one walk over a row's entries serves both
 * (tg_sparse_row2). tg_conv2d_sparse_s8_1x1 does the same without the copy. */
#include <string.h>

#include "tg_fixedpoint.h"
#include "tg_sparse.h"

size_t tg_conv2d_sparse_s8_fast_scratch_bytes(const tg_conv2d_sparse_params *p)
{
    return (size_t)((2 * p->k_h * p->k_w * p->in_c + 3) & ~3);
}

static void im2col(const tg_conv2d_sparse_params *p, const int8_t *input, int32_t pixel, int8_t *col)
{
    const int32_t oy = pixel / p->out_w, ox = pixel % p->out_w;
    const int8_t pad = (int8_t)(-p->input_offset);
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx, col += p->in_c) {
            const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w)
                memset(col, pad, (size_t)p->in_c);
            else
                memcpy(col, input + (iy * p->in_w + ix) * p->in_c, (size_t)p->in_c);
        }
    }
}

void tg_conv2d_sparse_s8_fast(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output,
                              void *scratch)
{
    const int32_t pixels = p->out_h * p->out_w, k = p->k_h * p->k_w * p->in_c;
    int8_t *col = (int8_t *)scratch;
    for (int32_t px = 0; px < pixels; px += 2) {
        im2col(p, input, px, col);
        if (px + 1 < pixels) im2col(p, input, px + 1, col + k);
        tg_sparse_pixels(p->values, p->steps, p->pairs, p->bias, p->multiplier, p->shift, p->out_c,
                         p->output_offset, p->act_min, p->act_max, col, k, px + 1 < pixels, output + px * p->out_c);
    }
}
