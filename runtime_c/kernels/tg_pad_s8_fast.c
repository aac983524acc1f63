/* Fast int8 constant padding (same contract as tg_pad_s8_ref, see tg_pad.h): padding rows and
 * columns are word fills, each input pixel row (in_w * in_c bytes, or in_c when channels are
 * padded) a word block copy. */
#include "tg_block_copy.h"
#include "tg_pad.h"

void tg_pad_s8_fast(const tg_pad_params *p, const int8_t *input, int8_t *output)
{
    const int32_t orow = p->out_w * p->out_c, irow = p->in_w * p->in_c;
    const int32_t left = p->pad_w * p->out_c, right = orow - left - p->in_w * p->out_c;
    const int32_t cright = p->out_c - p->pad_c - p->in_c;
    for (int32_t n = 0; n < p->batches; ++n) {
        for (int32_t oy = 0; oy < p->out_h; ++oy, output += orow) {
            const int32_t iy = oy - p->pad_h;
            if (iy < 0 || iy >= p->in_h) {
                tg_fill_s8(output, p->value, orow);
                continue;
            }
            const int8_t *in = input + (n * p->in_h + iy) * irow;
            int8_t *out = output;
            tg_fill_s8(out, p->value, left);
            out += left;
            if (p->in_c == p->out_c) {
                tg_copy_s8(out, in, irow);
                out += irow;
            } else {
                for (int32_t x = 0; x < p->in_w; ++x, in += p->in_c) {
                    tg_fill_s8(out, p->value, p->pad_c);
                    tg_copy_s8(out + p->pad_c, in, p->in_c);
                    tg_fill_s8(out + p->pad_c + p->in_c, p->value, cright);
                    out += p->out_c;
                }
            }
            tg_fill_s8(out, p->value, right);
        }
    }
}
