#ifndef TG_BMAX_POOL2D_H
#define TG_BMAX_POOL2D_H
#include "tg_types.h"
#include "tg_bitpack.h"

/* Max pooling on packed binary tensors (conventions: tg_bitpack.h): max over +-1 is -1 only if
 * every tap is -1, so out word = AND of the in-image tap words (out-of-image taps ignored).
 * input uint32_t [in_h][in_w][words]; output uint32_t [out_h][out_w][words]. Every window must
 * hold an in-image tap (padding < kernel, checked in Python). No scratch. */
typedef struct {
    int32_t in_h, in_w, words, out_h, out_w;
    int32_t k_h, k_w, stride_h, stride_w, pad_t, pad_l;
} tg_bmax_pool2d_params;

void tg_bmax_pool2d_b1_ref(const tg_bmax_pool2d_params *p, const uint32_t *input, uint32_t *output);
/* window clipped once per output pixel, contiguous rows of words ANDed */
void tg_bmax_pool2d_b1_rows(const tg_bmax_pool2d_params *p, const uint32_t *input, uint32_t *output);

#endif
