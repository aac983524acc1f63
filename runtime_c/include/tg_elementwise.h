#ifndef TG_ELEMENTWISE_H
#define TG_ELEMENTWISE_H
#include "tg_types.h"
#include "tg_fixedpoint.h"

/* int8 elementwise add and mul with broadcasting. Both kernels write the output densely as
 * [out_n][out_h][out_w][out_c] (NHWC; a [N][F] tensor is [N][1][1][F]) and read input k at
 *     input_k[n * ink_sn + h * ink_sh + w * ink_sw + c * ink_sc],
 * its own dense strides, with stride 0 on every dim it broadcasts (size 1). Either input may be a
 * constant array. An input with the output's shape may share the output's buffer (in place).
 *
 * add (TFLite Micro scheme):
 *   a = requant(sat32((x1 + input1_offset) << left_shift), input1_multiplier, input1_shift)
 *   b = requant(sat32((x2 + input2_offset) << left_shift), input2_multiplier, input2_shift)
 *   out = clamp(requant(sat32(a + b), output_multiplier, output_shift) + output_offset, act_min, act_max)
 * sub: as add with tg_add_params, out from sat32(a - b)
 * add, tg_add_s8_lut: a and b looked up in tables the generator computed with the formulas above,
 *   table1[x1 + 128] = a << pre, table2[x2 + 128] = b << pre, pre being the output requantization's
 *   left shift in tg_requant_smmulr.h's form (max(output_shift, 0) + 1; the generator checked that
 *   |a| + |b| over all entries is within that form's bound); the other kernels get NULL tables.
 * mul:
 *   out = clamp(requant((x1 + input1_offset) * (x2 + input2_offset), multiplier, shift) + output_offset,
 *               act_min, act_max)
 * No scratch. */
typedef struct {
    int32_t out_n, out_h, out_w, out_c;
    int32_t in1_sn, in1_sh, in1_sw, in1_sc;
    int32_t in2_sn, in2_sh, in2_sw, in2_sc;
    int32_t input1_offset, input2_offset, output_offset, left_shift;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, act_min, act_max;
    const int32_t *table1, *table2;
} tg_add_params;

typedef struct {
    int32_t out_n, out_h, out_w, out_c;
    int32_t in1_sn, in1_sh, in1_sw, in1_sc;
    int32_t in2_sn, in2_sh, in2_sw, in2_sc;
    int32_t input1_offset, input2_offset, output_offset, multiplier, shift, act_min, act_max;
} tg_mul_params;

/* The loops of add (sign 1) and sub (sign -1), shared by their kernels. */
static inline int32_t tg_add_scaled(int32_t x, int32_t offset, int32_t left_shift, int32_t m, int32_t shift)
{
    return tg_requantize(tg_sat32((int64_t)(x + offset) * ((int64_t)1 << left_shift)), m, shift);
}

static inline void tg_add_sub_s8(const tg_add_params *p, const int8_t *input1, const int8_t *input2,
                                 int8_t *output, int32_t sign)
{
    for (int32_t n = 0; n < p->out_n; ++n) {
        for (int32_t h = 0; h < p->out_h; ++h) {
            for (int32_t w = 0; w < p->out_w; ++w) {
                const int8_t *in1 = input1 + n * p->in1_sn + h * p->in1_sh + w * p->in1_sw;
                const int8_t *in2 = input2 + n * p->in2_sn + h * p->in2_sh + w * p->in2_sw;
                for (int32_t c = 0; c < p->out_c; ++c) {
                    const int32_t a = tg_add_scaled(in1[c * p->in1_sc], p->input1_offset, p->left_shift,
                                                    p->input1_multiplier, p->input1_shift);
                    const int32_t b = tg_add_scaled(in2[c * p->in2_sc], p->input2_offset, p->left_shift,
                                                    p->input2_multiplier, p->input2_shift);
                    *output++ = (int8_t)tg_requantize_clamp(tg_sat32((int64_t)a + (int64_t)sign * b),
                                                            p->output_multiplier, p->output_shift,
                                                            p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
}

void tg_add_s8_ref(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void tg_sub_s8_ref(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void tg_mul_s8_ref(const tg_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
/* The same results with tg_requant_smmulr.h's requantization; the generator selects them only for
 * layers whose operand bounds it allows (ops/add.py, ops/mul.py). */
void tg_add_s8_fast(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
/* add with its input requantizations as tables (see above), for layers whose tables bound it. */
void tg_add_s8_lut(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void tg_mul_s8_fast(const tg_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
/* mul with tg_gemm_w16.h's one-SMLAL output stage, for layers whose multiplier and shift it takes. */
void tg_mul_s8_w16(const tg_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
/* mul with one SMLAL and SSAT, for the single-rounding multipliers of PyTorch models (shift 0). */
void tg_mul_s8_once(const tg_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

/* 1 when an input's strides (sn, sh, sw, sc) are the dense strides of the output shape
 * [n, h, w, c], i.e. it does not broadcast (a size-1 axis has stride 0). Used by the fast kernels. */
static inline int tg_dense_strides(int32_t n, int32_t h, int32_t w, int32_t c, int32_t sn, int32_t sh, int32_t sw,
                                   int32_t sc)
{
    int32_t step = 1;
    if (sc != (c > 1 ? step : 0)) return 0;
    step *= c;
    if (sw != (w > 1 ? step : 0)) return 0;
    step *= w;
    if (sh != (h > 1 ? step : 0)) return 0;
    step *= h;
    return sn == (n > 1 ? step : 0);
}

/* Runs fn(args..., in1, s1, in2, s2, out, count), a fast kernel's loop over `count` elements
 * read at element strides s1 / s2, over the output of a broadcasting op with params p (add's or
 * mul's): once over the whole output when neither input broadcasts, else once per output pixel
 * (n, h, w) over its channels. */
#define TG_BROADCAST_RUNS(p, input1, input2, output, fn, ...)                                                   \
    do {                                                                                                       \
        if (tg_dense_strides((p)->out_n, (p)->out_h, (p)->out_w, (p)->out_c, (p)->in1_sn, (p)->in1_sh,         \
                             (p)->in1_sw, (p)->in1_sc)                                                        \
            && tg_dense_strides((p)->out_n, (p)->out_h, (p)->out_w, (p)->out_c, (p)->in2_sn, (p)->in2_sh,      \
                                (p)->in2_sw, (p)->in2_sc)) {                                                  \
            fn(__VA_ARGS__, (input1), 1, (input2), 1, (output), (p)->out_n * (p)->out_h * (p)->out_w * (p)->out_c); \
            break;                                                                                             \
        }                                                                                                      \
        int8_t *o_ = (output);                                                                                 \
        for (int32_t n_ = 0; n_ < (p)->out_n; ++n_)                                                            \
            for (int32_t h_ = 0; h_ < (p)->out_h; ++h_)                                                        \
                for (int32_t w_ = 0; w_ < (p)->out_w; ++w_, o_ += (p)->out_c)                                  \
                    fn(__VA_ARGS__, (input1) + n_ * (p)->in1_sn + h_ * (p)->in1_sh + w_ * (p)->in1_sw,         \
                       (p)->in1_sc, (input2) + n_ * (p)->in2_sn + h_ * (p)->in2_sh + w_ * (p)->in2_sw,         \
                       (p)->in2_sc, o_, (p)->out_c);                                                           \
    } while (0)

#endif
