/* Fast int8 1x1/1 unpadded convolution with sparse weights (tg_sparse.h): output pixels in
 * pairs, each pair's channels read straight from the input (stride in_c), one walk over the
 * entries per pair; the input offset is folded into the bias. */
#include "tg_sparse.h"

void tg_conv2d_sparse_s8_1x1(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output)
{
    const int32_t pixels = p->out_h * p->out_w, cin = p->in_c;
    for (int32_t px = 0; px < pixels; px += 2)
        tg_sparse_pixels(p->values, p->steps, p->pairs, p->bias, p->multiplier, p->shift, p->out_c,
                         p->output_offset, p->act_min, p->act_max, input + px * cin, cin, px + 1 < pixels,
                         output + px * p->out_c);
}
