/* Reference int8 bilinear resize with Q10 weights. See tg_resize.h for the formula and bounds. */
#include "tg_resize.h"

void tg_resize_bilinear_s8_ref(const tg_resize_bilinear_params *p, const int8_t *input, int8_t *output)
{
    const int32_t one = 1 << 10;
    const int32_t row = p->in_w * p->channels;
    for (int32_t n = 0; n < p->batches; ++n) {
        const int8_t *image = input + n * p->in_h * row;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const int8_t *r0 = image + p->y0[y] * row, *r1 = image + p->y1[y] * row;
            const int32_t wy = p->wy[y];
            for (int32_t x = 0; x < p->out_w; ++x) {
                const int32_t c0 = p->x0[x] * p->channels, c1 = p->x1[x] * p->channels;
                const int32_t wx = p->wx[x];
                const int32_t w00 = (one - wy) * (one - wx), w10 = wy * (one - wx);
                const int32_t w01 = (one - wy) * wx, w11 = wy * wx;
                for (int32_t c = 0; c < p->channels; ++c) {
                    const int32_t acc = r0[c0 + c] * w00 + r1[c0 + c] * w10 + r0[c1 + c] * w01 + r1[c1 + c] * w11;
                    *output++ = (int8_t)((acc + (acc > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
                }
            }
        }
    }
}
