/* Reference int8 constant padding: plain loops, the readable definition. See tg_pad.h. */
#include "tg_pad.h"

void tg_pad_s8_ref(const tg_pad_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t n = 0; n < p->batches; ++n) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy = oy - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix = ox - p->pad_w;
                const int inside_yx = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
                int8_t *out = output + ((n * p->out_h + oy) * p->out_w + ox) * p->out_c;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t ic = oc - p->pad_c;
                    out[oc] = (inside_yx && ic >= 0 && ic < p->in_c)
                                  ? input[((n * p->in_h + iy) * p->in_w + ix) * p->in_c + ic]
                                  : (int8_t)p->value;
                }
            }
        }
    }
}
