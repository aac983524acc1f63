#ifndef TG_ELEMENTWISE_H
#define TG_ELEMENTWISE_H
#include "tg_types.h"

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
} tg_add_params;

typedef struct {
    int32_t out_n, out_h, out_w, out_c;
    int32_t in1_sn, in1_sh, in1_sw, in1_sc;
    int32_t in2_sn, in2_sh, in2_sw, in2_sc;
    int32_t input1_offset, input2_offset, output_offset, multiplier, shift, act_min, act_max;
} tg_mul_params;

void tg_add_s8_ref(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void tg_mul_s8_ref(const tg_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
/* The same results with tg_requant_fast.h's requantization; the generator selects them only for
 * layers whose operand bounds it allows (ops/add.py, ops/mul.py). */
void tg_add_s8_fast(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void tg_mul_s8_fast(const tg_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

#endif
