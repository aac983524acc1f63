/* Fast int8 variance (same contract as tg_variance_s8_ref, see tg_variance.h). The loop sums the
 * raw inputs x and their squares in int32 (|x| <= 128, so sum x^2 <= 2^14 * reduce < 2^31 for
 * reduce < 2^17, checked by the generator: ops/variance.py) and applies the offset once per
 * output, exactly: with d = x + off over R values,
 *   sum d = sum x + R * off,   sum d^2 = sum x^2 + 2 * off * sum x + R * off^2   (int64). */
#include "tg_variance.h"
#include "tg_fixedpoint.h"

void tg_variance_s8_fast(const tg_variance_params *p, const int8_t *input, int8_t *restrict output)
{
    const int32_t outer = p->outer, R = p->reduce, inner = p->inner, off = p->input_offset;
    const int32_t pre = p->pre_shift, m = p->multiplier, shift = p->shift, oo = p->output_offset;
    const int32_t lo = p->act_min, hi = p->act_max;
    for (int32_t o = 0; o < outer; ++o) {
        const int8_t *base = input + o * R * inner;
        for (int32_t i = 0; i < inner; ++i) {
            const int8_t *x = base + i;
            int32_t sx = 0, sxx = 0;
            for (int32_t r = 0; r < R; ++r, x += inner) {
                const int32_t v = *x;
                sx += v;
                sxx += v * v;
            }
            const int64_t s1 = (int64_t)sx + (int64_t)R * off;
            const int64_t s2 = (int64_t)sxx + 2 * (int64_t)off * sx + (int64_t)R * off * off;
            int64_t num = (int64_t)R * s2 - s1 * s1;
            if (pre > 0) num = (num + ((int64_t)1 << (pre - 1))) >> pre;
            else num *= (int64_t)1 << -pre; /* num >= 0 */
            output[o * inner + i] = (int8_t)tg_requantize_clamp((int32_t)num, m, shift, oo, lo, hi);
        }
    }
}
