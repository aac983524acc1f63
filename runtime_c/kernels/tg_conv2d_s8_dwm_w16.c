/* tg_conv2d_s8_dwm with tg_gemm_w16.h's record output stage (`bias` holds {bias, m, k_lo, k_hi,
 * sh} per output channel), for layers whose multipliers and shifts that stage accepts
 * (ops/conv2d.py): three instructions fewer per output. Scratch as tg_conv2d_s8_dwm. */
#include "tg_conv_dwm.h"

size_t tg_conv2d_s8_dwm_w16_scratch_bytes(const tg_conv2d_params *p)
{
    return (size_t)((p->in_c + 3) & ~3);
}

void tg_conv2d_s8_dwm_w16(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    TG_DWM_DISPATCH(p, input, output, (int8_t *)scratch, TG_DWM_W16);
}
