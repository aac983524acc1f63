#ifndef TG_POOL_H
#define TG_POOL_H
#include "tg_types.h"

/* int8 2-D pooling, NHWC input [in_h][in_w][channels], output [out_h][out_w][channels].
 * Window taps: iy = oy*stride_h - pad_t + ky*dil_h, ix = ox*stride_w - pad_l + kx*dil_w; taps
 * outside the image are skipped.
 *   max: out = clamp(max of the in-image taps, act_min, act_max); no in-image tap -> clamp(-128).
 *        Input and output share one quantization. Reads no avg-only field.
 *   avg: acc = sum of (in + input_offset) over in-image taps; count = k_h*k_w when
 *        count_include_pad, else the number of in-image taps (never 0);
 *        out = clamp(requant(acc << left_shift, multiplier[count], shift[count]) + output_offset, act_min, act_max)
 *        (left_shift: the pre-scale, tinygen/quant/params.py; the generator bounds the shifted sum to int32).
 *        multiplier/shift have k_h*k_w + 1 entries, indexed by count (entry 0 unused).
 *        divide != 0 (TFLite Micro's int8 average pool) replaces the requantization:
 *        out = clamp(acc / count rounded half away from zero + output_offset, act_min, act_max);
 *        multiplier/shift are then unused.
 * No scratch. */
typedef struct {
    int32_t in_h, in_w, channels, out_h, out_w;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l;
    int32_t act_min, act_max;
    int32_t count_include_pad, input_offset, output_offset; /* avg only */
    int32_t divide;                                          /* avg only: 1 = divide, 0 = requantize */
    const int32_t *multiplier;                               /* avg only */
    const int32_t *shift;                                    /* avg only */
    int32_t left_shift;                                      /* avg only, requantize only */
} tg_pool_params;

void tg_max_pool2d_s8_ref(const tg_pool_params *p, const int8_t *input, int8_t *output);
void tg_avg_pool2d_s8_ref(const tg_pool_params *p, const int8_t *input, int8_t *output);
/* Fast variants, same results: four channels per word (tg_*_fast.c say how); avg needs k_h*k_w <= 256. */
void tg_max_pool2d_s8_fast(const tg_pool_params *p, const int8_t *input, int8_t *output);
void tg_avg_pool2d_s8_fast(const tg_pool_params *p, const int8_t *input, int8_t *output);

#endif
