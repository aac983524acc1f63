/* Fast int8 depthwise convolution, 3x3 stride 2: tg_conv_dw.h instantiated with these sizes as
 * constants. Scratch: in_c bytes of the input zero point, for taps outside the image. */
#include "tg_conv_dw.h"

size_t tg_conv2d_s8_dw3x3s2_scratch_bytes(const tg_conv2d_params *p)
{
    return (size_t)((p->in_c + 3) & ~3);
}

void tg_conv2d_s8_dw3x3s2(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    tg_dw_s8(p, input, output, (int8_t *)scratch, 3, 3, 2, 2);
}
