/* Fast int8 pointwise convolution (1x1, stride 1, no padding, groups 1): a GEMM of the
 * [pixels][in_c] input with the [out_c][in_c] weights, two pixels x two channels per tile
 * (tg_conv_gemm.h, whose weight layout and folded bias the emit writes). No scratch. */
#include "tg_conv2d.h"
#include "tg_conv_gemm.h"

void tg_conv2d_s8_1x1(const tg_conv2d_params *p, const int8_t *input, int8_t *output)
{
    const tg_gemm_s8 g = {p->in_c, p->out_c, p->output_offset, p->act_min, p->act_max,
                          p->weight, p->bias, p->multiplier, p->shift};
    const int32_t pixels = p->out_h * p->out_w, k = p->in_c, n = p->out_c;
    int32_t i = 0;
    for (; i + 2 <= pixels; i += 2) {
        tg_gemm_s8_2rows(&g, input + i * k, input + (i + 1) * k, output + i * n, output + (i + 1) * n);
    }
    if (i < pixels) tg_gemm_s8_1row(&g, input + i * k, output + i * n);
}
