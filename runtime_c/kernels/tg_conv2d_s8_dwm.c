/* Fast int8 depthwise convolution with a channel multiplier (out_c = M * in_c, M > 1), any kernel
 * up to 64 taps, stride and dilation, with tg_dw_requant's output stage: tg_conv_dwm.h
 * instantiated with 3x3 and 5x5 and multipliers 2 and 3 as constants (their tap pairs stay in
 * registers and the output loop is straight-line), and once with the sizes at run time.
 * Scratch: in_c bytes of the input zero point, for taps outside the image. */
#include "tg_conv_dwm.h"

size_t tg_conv2d_s8_dwm_scratch_bytes(const tg_conv2d_params *p)
{
    return (size_t)((p->in_c + 3) & ~3);
}

void tg_conv2d_s8_dwm(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    TG_DWM_DISPATCH(p, input, output, (int8_t *)scratch, TG_DWM_RQ);
}
