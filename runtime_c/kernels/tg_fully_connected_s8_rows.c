/* Fast int8 fully connected layer: two output rows (and two batches when there are) per tile,
 * SXTB16 + SMLAD (tg_conv_gemm.h, whose weight layout and folded bias the emit writes). */
#include "tg_fully_connected.h"
#include "tg_conv_gemm.h"

void tg_fully_connected_s8_rows(const tg_fully_connected_params *p, const int8_t *input, int8_t *output)
{
    const tg_gemm_s8 g = {p->in_features, p->out_features, p->output_offset, p->act_min, p->act_max,
                          p->weight, p->bias, p->multiplier, p->shift};
    const int32_t k = p->in_features, n = p->out_features;
    int32_t b = 0;
    for (; b + 2 <= p->batches; b += 2) {
        tg_gemm_s8_2rows(&g, input + b * k, input + (b + 1) * k, output + b * n, output + (b + 1) * n);
    }
    if (b < p->batches) tg_gemm_s8_1row(&g, input + b * k, output + b * n);
}
