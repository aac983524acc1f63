/* Fast int8 convolution with 1/2/4-bit weights, groups == 1 (same results as
 * tg_conv2d_packed_s8_ref, see tg_conv2d_packed.h): each output pixel's receptive field is copied
 * into an im2col row in scratch (k_h*k_w*in_c bytes, HWI order; out-of-image taps hold
 * -input_offset, which adds 0 like the reference's skipped taps), then every output channel pair
 * is a packed dot product over it (tg_packed_dot.h, weights in the "pairs" layout, offsets folded
 * into the bias as for the packed fully connected layer). */
#include "tg_block_copy.h"
#include "tg_conv2d_packed.h"
#include "tg_fixedpoint.h"
#include "tg_packed_dot.h"

size_t tg_conv2d_packed_s8_fast_scratch_bytes(const tg_conv2d_packed_params *p)
{
    return (size_t)((p->k_h * p->k_w * p->in_c + 3) & ~3);
}

static int8_t finish(const tg_conv2d_packed_params *p, int32_t o, int32_t dot, int32_t sx)
{
    int32_t acc = (int32_t)((uint32_t)p->bias[o] + (uint32_t)dot * (uint32_t)p->weight_step
                            + (uint32_t)sx * (uint32_t)p->weight_offset);
    return (int8_t)tg_requantize_clamp(acc, p->multiplier[o], p->shift[o], p->output_offset, p->act_min, p->act_max);
}

void tg_conv2d_packed_s8_fast(const tg_conv2d_packed_params *p, const int8_t *input, int8_t *output,
                              void *scratch)
{
    int8_t *col = (int8_t *)scratch;
    const int32_t cin = p->in_c, k = p->k_h * p->k_w * cin, bits = p->weight_bits;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            int8_t *c = col;
            for (int32_t ky = 0; ky < p->k_h; ++ky) {
                const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
                for (int32_t kx = 0; kx < p->k_w; ++kx, c += cin) {
                    const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
                    if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) tg_fill_s8(c, -p->input_offset, cin);
                    else tg_copy_s8(c, input + (iy * p->in_w + ix) * cin, cin);
                }
            }
            int32_t sx = 0;
            for (int32_t i = 0; i < k; ++i) sx += col[i];
            for (int32_t o = 0; o < p->out_c; o += 2) {
                const uint8_t *row = p->weight + o * p->row_bytes;
                const int32_t stride = o + 1 < p->out_c ? p->row_bytes : 0; /* odd last row pairs with itself */
                int32_t d0, d1;
                tg_packed_dot_rows(row, stride, col, k, bits, &d0, &d1);
                *output++ = finish(p, o, d0, sx);
                if (stride) *output++ = finish(p, o + 1, d1, sx);
            }
        }
    }
}
