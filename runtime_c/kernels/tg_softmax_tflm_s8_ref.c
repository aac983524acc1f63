/* Reference int8 softmax, TFLite Micro's fixed-point algorithm (mode "tflm"). See tg_softmax.h. */
#include "tg_softmax.h"
#include "tg_fixedpoint.h"

/* x * 2^e for e > 0, saturating to int32 (gemmlowp SaturatingRoundingMultiplyByPOT, e > 0) */
static int32_t sat_shl(int32_t x, int e)
{
    const int32_t limit = (int32_t)((1LL << (31 - e)) - 1);
    if (x > limit) return INT32_MAX;
    if (x < -limit) return INT32_MIN;
    return (int32_t)((uint32_t)x << e);
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out: Newton-Raphson from 48/17 - 32/17 * d */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2); /* Q0.31 */
    int32_t x = 1515870810 + tg_srdhm(half_denominator, -1010580540);         /* Q2.29 */
    for (int i = 0; i < 3; ++i) {
        const int32_t err = (1 << 29) - tg_srdhm(half_denominator, x);
        x = x + sat_shl(tg_srdhm(x, err), 2);
    }
    return sat_shl(x, 1);
}

static int leading_zeros(uint32_t v)
{
    int n = 0;
    while (n < 32 && !(v & 0x80000000u)) {
        v <<= 1;
        ++n;
    }
    return n;
}

void tg_softmax_tflm_s8_ref(const tg_softmax_tflm_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t r = 0; r < p->rows; ++r) {
        const int8_t *in = input + r * p->row_size;
        int8_t *out = output + r * p->row_size;
        int32_t max = -128;
        for (int32_t c = 0; c < p->row_size; ++c) {
            if (in[c] > max) max = in[c];
        }
        int32_t sum = 0; /* Q12.19 */
        for (int32_t c = 0; c < p->row_size; ++c) {
            sum += tg_rdbpot(p->exp_q31[max - in[c]], 12);
        }
        /* reciprocal: sum = (1 + f) * 2^(12 - headroom) with f in [0, 1) */
        const int headroom = leading_zeros((uint32_t)sum);
        const int32_t f = (int32_t)(((uint32_t)sum << headroom) - 0x80000000u);
        const int32_t scale = one_over_one_plus_x(f);
        const int exponent = (12 - headroom) + 31 - 8;
        for (int32_t c = 0; c < p->row_size; ++c) {
            const int32_t v = tg_rdbpot(tg_srdhm(scale, p->exp_q31[max - in[c]]), exponent) - 128;
            out[c] = (int8_t)tg_clamp(v, -128, 127);
        }
    }
}
