/* Binary max pooling with the window clipped to the image once per output pixel (the reference
 * tests every tap for every word), then AND of whole rows of words: max of +-1 values is +1
 * unless all are -1, i.e. AND of the bits (1 = -1). See tg_bmax_pool2d.h. */
#include "tg_bmax_pool2d.h"

static inline int32_t clip_lo(int32_t start) { return start < 0 ? -start : 0; }

void tg_bmax_pool2d_b1_rows(const tg_bmax_pool2d_params *p, const uint32_t *input, uint32_t *output)
{
    const int32_t words = p->words;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t y0 = oy * p->stride_h - p->pad_t;
        const int32_t ky0 = clip_lo(y0);
        const int32_t ky1 = y0 + p->k_h > p->in_h ? p->in_h - y0 : p->k_h;
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t x0 = ox * p->stride_w - p->pad_l;
            const int32_t kx0 = clip_lo(x0);
            const int32_t kx1 = x0 + p->k_w > p->in_w ? p->in_w - x0 : p->k_w;
            uint32_t *out = output + (oy * p->out_w + ox) * words;
            for (int32_t c = 0; c < words; ++c) out[c] = 0xFFFFFFFFu; /* identity of AND */
            for (int32_t ky = ky0; ky < ky1 && kx0 < kx1; ++ky) {
                const uint32_t *row = input + ((y0 + ky) * p->in_w + x0 + kx0) * words;
                const int32_t n = (kx1 - kx0) * words; /* the window's taps in this row are contiguous */
                for (int32_t i = 0, c = 0; i < n; ++i) {
                    out[c] &= row[i];
                    c = c + 1 == words ? 0 : c + 1;
                }
            }
        }
    }
}
