/* float32 kernels (the float parts of Larq Compute Engine models). Mirrors the float ops in tinygen/ops (conv2d_float.py, ...).
 *
 * Float parameters are stored as their IEEE-754 bit patterns (uint32_t arrays and fields) and read
 * with tg_f32(), so they are exact. Every kernel evaluates each product and sum as a separate
 * float32 operation in the order documented below; compile in ISO C mode (-std=c99/c11), where
 * GCC does not contract a*b+c into a fused multiply-add, and the results equal the numpy
 * reference bit for bit. Activation bounds lo/hi (bit patterns) clamp as x < lo ? lo : x > hi ?
 * hi : x (+-inf for none). Layouts are NHWC, batch 1. No kernel needs scratch.
 */
#ifndef TG_FLOAT_H
#define TG_FLOAT_H
#include <string.h>

#include "tg_types.h"

static inline float tg_f32(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline float tg_fclamp(float x, uint32_t lo_bits, uint32_t hi_bits)
{
    const float lo = tg_f32(lo_bits), hi = tg_f32(hi_bits);
    return x < lo ? lo : (x > hi ? hi : x);
}

/* conv2d_float: acc = 0; for ky, kx, c over in-image taps: acc = acc + in * w (weight OHWI
 * [out_c][k_h][k_w][in_c/groups]); out = clamp(acc + bias[o]). */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_t, pad_l, groups;
    uint32_t act_lo, act_hi;
    const uint32_t *weight;
    const uint32_t *bias;
} tg_conv2d_f32_params;
void tg_conv2d_f32_ref(const tg_conv2d_f32_params *p, const float *input, float *output);

/* fully_connected_float: acc = 0; for k: acc = acc + in[k] * w[o][k]; out = clamp(acc + bias[o]). */
typedef struct {
    int32_t in_features, out_features;
    uint32_t act_lo, act_hi;
    const uint32_t *weight;
    const uint32_t *bias;
} tg_fully_connected_f32_params;
void tg_fully_connected_f32_ref(const tg_fully_connected_f32_params *p, const float *input, float *output);

/* binary element-wise (op 0: a + b, op 1: a * b), broadcasting like tg_elementwise.h;
 * out = clamp(a op b). The _c variant takes the second operand from `constant`. */
typedef struct {
    int32_t op, out_n, out_h, out_w, out_c;
    int32_t in1_sn, in1_sh, in1_sw, in1_sc;
    int32_t in2_sn, in2_sh, in2_sw, in2_sc;
    uint32_t act_lo, act_hi;
    const uint32_t *constant;
} tg_elementwise2_f32_params;
void tg_elementwise2_f32_ref(const tg_elementwise2_f32_params *p, const float *input1, const float *input2, float *output);
void tg_elementwise2_f32_c_ref(const tg_elementwise2_f32_params *p, const float *input1, float *output);

/* max_pool2d_float: out = clamp(max over in-image taps). */
typedef struct {
    int32_t in_h, in_w, channels, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_t, pad_l;
    uint32_t act_lo, act_hi;
} tg_max_pool2d_f32_params;
void tg_max_pool2d_f32_ref(const tg_max_pool2d_f32_params *p, const float *input, float *output);

/* mean_float over [outer][reduce][inner]: acc = 0; for r: acc = acc + in; out = acc / (float)reduce. */
typedef struct {
    int32_t outer, reduce, inner;
} tg_mean_f32_params;
void tg_mean_f32_ref(const tg_mean_f32_params *p, const float *input, float *output);

/* binarize_float: bit = in < 0.0f (1 means -1), 32 channels per word, padding bits 0. */
typedef struct {
    int32_t pixels, channels;
} tg_binarize_f32_params;
void tg_binarize_f32_ref(const tg_binarize_f32_params *p, const float *input, uint32_t *output);

/* unbinarize_float: out = bit ? -1.0f : +1.0f. */
typedef struct {
    int32_t pixels, channels;
} tg_unbinarize_f32_params;
void tg_unbinarize_f32_ref(const tg_unbinarize_f32_params *p, const uint32_t *input, float *output);

/* bconv2d_float (Larq Compute Engine's float output transform): with a = sum over taps of
 * popcount(in ^ w), out-of-image taps reading +1 (bits 0),
 *   x = clamp(2 * a, clamp_min, clamp_max)                 int32
 *   y = (float)x * multiplier[o] + bias[o]                  two float32 operations
 *   zero padding (pad_value 0): y = y + zp_multiplier[o] * (float)(sum over out-of-image taps of
 *     tap_sum[o][ky][kx]) at pixels with an out-of-image tap, tap_sum = in_c - 2*popcount(w tap).
 * input uint32_t [in_h][in_w][ceil(in_c/32)], weight OHWI packed, output float [out_h][out_w][out_c]. */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_t, pad_l, pad_value, clamp_min, clamp_max;
    const uint32_t *weight;
    const uint32_t *multiplier;
    const uint32_t *bias;
    const uint32_t *zp_multiplier;
    const int32_t *tap_sum;
} tg_bconv2d_f32_params;
void tg_bconv2d_f32_ref(const tg_bconv2d_f32_params *p, const uint32_t *input, float *output);

/* softmax_float over rows: m = max; e = tg_expf((in - m) * beta); sum = sum of e in order;
 * out = e / sum. tg_expf is tinygen's own float32 exp (range reduction and a degree-6
 * polynomial: +, * and an exact power-of-two scaling only), mirrored by the numpy reference. */
typedef struct {
    int32_t rows, row_size;
    uint32_t beta;
} tg_softmax_f32_params;
void tg_softmax_f32_ref(const tg_softmax_f32_params *p, const float *input, float *output);

#endif /* TG_FLOAT_H */
