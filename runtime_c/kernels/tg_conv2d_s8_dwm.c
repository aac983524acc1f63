/* Fast int8 depthwise convolution with a channel multiplier (out_c = M * in_c, M > 1), any kernel up to 64 taps, stride and dilation: tg_conv_dwm.h
 * instantiated with 3x3 and 5x5 as constants (their tap pairs stay in registers) and once with the
 * sizes at run time. Scratch: in_c bytes of the input zero point, for taps outside the image. */
#include "tg_conv_dwm.h"

size_t tg_conv2d_s8_dwm_scratch_bytes(const tg_conv2d_params *p)
{
    return (size_t)((p->in_c + 3) & ~3);
}

void tg_conv2d_s8_dwm(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    if (p->k_h == 3 && p->k_w == 3)
        tg_dwm_s8(p, input, output, (int8_t *)scratch, 3, 3);
    else if (p->k_h == 5 && p->k_w == 5)
        tg_dwm_s8(p, input, output, (int8_t *)scratch, 5, 5);
    else
        tg_dwm_s8(p, input, output, (int8_t *)scratch, p->k_h, p->k_w);
}
