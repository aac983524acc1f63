#ifndef TG_CONV2D_H
#define TG_CONV2D_H
#include "tg_types.h"

/* int8 2-D convolution, NHWC input/output, OHWI weights ([out_c][k_h][k_w][in_c/groups]).
 * acc = bias[o] + sum w * (in + input_offset); out = clamp(requant(acc, multiplier[o], shift[o])
 * + output_offset, act_min, act_max). Taps outside the image are skipped (= zero-point padding).
 * groups == in_c is depthwise; out_c / groups output channels per group. */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l, groups;
    int32_t input_offset, output_offset, act_min, act_max;
    const int8_t *weight;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
} tg_conv2d_params;

void tg_conv2d_s8_ref(const tg_conv2d_params *p, const int8_t *input, int8_t *output);

/* Fast variants (ARMv7E-M DSP). They read `weight` and `bias` in the layout tinygen/ops/conv2d.py
 * writes for them: bias with input_offset * sum(weights) folded in; weights in the GEMM tile's
 * order (tg_conv_gemm.h) for 1x1 / im2col, [ceil(in_c/4)][k_h*k_w][4] for depthwise (tg_conv_dw.h),
 * int16 tap pairs [in_c][ceil(k_h*k_w/2)][M] for depthwise with multiplier (tg_conv_dwm.h). */
void tg_conv2d_s8_pw4(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch);
size_t tg_conv2d_s8_pw4_scratch_bytes(const tg_conv2d_params *p);
void tg_conv2d_s8_1x1(const tg_conv2d_params *p, const int8_t *input, int8_t *output);
void tg_conv2d_s8_im2col4(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch);
size_t tg_conv2d_s8_im2col4_scratch_bytes(const tg_conv2d_params *p);
void tg_conv2d_s8_im2col(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch);
size_t tg_conv2d_s8_im2col_scratch_bytes(const tg_conv2d_params *p);
void tg_conv2d_s8_dw3x3s1(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch);
size_t tg_conv2d_s8_dw3x3s1_scratch_bytes(const tg_conv2d_params *p);
void tg_conv2d_s8_dw3x3s2(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch);
size_t tg_conv2d_s8_dw3x3s2_scratch_bytes(const tg_conv2d_params *p);
void tg_conv2d_s8_dw(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch);
size_t tg_conv2d_s8_dw_scratch_bytes(const tg_conv2d_params *p);
void tg_conv2d_s8_dwm(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch);
size_t tg_conv2d_s8_dwm_scratch_bytes(const tg_conv2d_params *p);
/* tg_conv2d_s8_dwm with `bias` as tg_gemm_w16.h's output-stage records. */
void tg_conv2d_s8_dwm_w16(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch);
size_t tg_conv2d_s8_dwm_w16_scratch_bytes(const tg_conv2d_params *p);

#endif
