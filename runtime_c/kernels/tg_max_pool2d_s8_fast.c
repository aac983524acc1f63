/* Fast int8 max pooling (same contract as tg_max_pool2d_s8_ref, see tg_pool.h): four channels per
 * word with SSUB8 + SEL (tg_max_s8x4), the in-image tap range computed once per output pixel
 * instead of tested per tap, the activation clamp on four lanes at once. Channel tails scalar. */
#include "tg_dsp_extra.h"
#include "tg_fixedpoint.h"
#include "tg_pool.h"
#include "tg_pool_taps.h"

void tg_max_pool2d_s8_fast(const tg_pool_params *p, const int8_t *input, int8_t *output)
{
    const int32_t channels = p->channels, row = p->in_w * channels;
    const int32_t ystep = p->dil_h * row, xstep = p->dil_w * channels;
    const uint32_t lo4 = 0x01010101u * (uint8_t)p->act_min, hi4 = 0x01010101u * (uint8_t)p->act_max;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t by = oy * p->stride_h - p->pad_t;
        int32_t ky0, ky1;
        tg_pool_taps(by, p->dil_h, p->k_h, p->in_h, &ky0, &ky1);
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t bx = ox * p->stride_w - p->pad_l;
            int32_t kx0, kx1;
            tg_pool_taps(bx, p->dil_w, p->k_w, p->in_w, &kx0, &kx1);
            const int8_t *first = input + (by + ky0 * p->dil_h) * row + (bx + kx0 * p->dil_w) * channels;
            int8_t *out = output + (oy * p->out_w + ox) * channels;
            int32_t c = 0;
            for (; c + 4 <= channels; c += 4) {
                uint32_t m = 0x80808080u; /* -128 in every lane: no in-image tap gives clamp(-128) */
                const int8_t *r = first + c;
                for (int32_t ky = ky0; ky < ky1; ++ky, r += ystep) {
                    const int8_t *t = r;
                    for (int32_t kx = kx0; kx < kx1; ++kx, t += xstep) m = tg_max_s8x4(m, tg_load_u32(t));
                }
                tg_store_u32(out + c, tg_min_s8x4(tg_max_s8x4(m, lo4), hi4));
            }
            for (; c < channels; ++c) {
                int32_t m = -128;
                const int8_t *r = first + c;
                for (int32_t ky = ky0; ky < ky1; ++ky, r += ystep) {
                    const int8_t *t = r;
                    for (int32_t kx = kx0; kx < kx1; ++kx, t += xstep) m = *t > m ? *t : m;
                }
                out[c] = (int8_t)tg_clamp(m, p->act_min, p->act_max);
            }
        }
    }
}
