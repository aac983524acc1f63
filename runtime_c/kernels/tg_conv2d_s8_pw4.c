/* Fast int8 pointwise convolution (1x1, stride 1, no padding, groups 1): four pixels at a time
 * are widened into scratch and multiplied with every output channel's int8 weights
 * (tg_gemm_w16.h, whose weight layout and output-stage records the emit writes). */
#include "tg_conv2d.h"
#include "tg_gemm_w16.h"

size_t tg_conv2d_s8_pw4_scratch_bytes(const tg_conv2d_params *p)
{
    return (size_t)tg_w16_cols_bytes(p->in_c);
}

void tg_conv2d_s8_pw4(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    uint32_t *cols = (uint32_t *)scratch;
    const int32_t k = p->in_c, n = p->out_c, k4 = tg_w16_k4(k), pixels = p->out_h * p->out_w;
    int32_t i = 0;
    for (; i + TG_W16_ROWS <= pixels; i += TG_W16_ROWS) {
        tg_w16_widen(cols, input + i * k, k, k, TG_W16_ROWS);
        tg_w16_gemm4(p->weight, p->bias, n, k4, cols, output + i * n, n, p->act_min, p->act_max);
    }
    if (i < pixels) {
        tg_w16_widen(cols, input + i * k, k, k, pixels - i);
        tg_w16_gemm_tail(p->weight, p->bias, n, k4, cols, output + i * n, n, pixels - i, p->act_min, p->act_max);
    }
}
