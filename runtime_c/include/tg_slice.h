#ifndef TG_SLICE_H
#define TG_SLICE_H
#include "tg_types.h"

/* int8 strided slice. The output is written densely as [out_n][out_h][out_w][out_c] (lower
 * ranks padded with leading 1s) from
 *   input[in_offset + n * in_sn + h * in_sh + w * in_sw + c * in_sc],
 * where in_offset = sum_d begin_d * stride_d and in_s<d> = step_d * stride_d, stride_d being the
 * input's dense element strides (in_s<d> < 0 for a negative step: that axis is read from begin_d
 * backwards). No requantization,
 * no scratch. The fast variant is selected for forward steps only. */
typedef struct {
    int32_t out_n, out_h, out_w, out_c;
    int32_t in_offset, in_sn, in_sh, in_sw, in_sc;
} tg_slice_params;

void tg_slice_s8_ref(const tg_slice_params *p, const int8_t *input, int8_t *output);
/* Same results for in_sc == 1 (or out_c == 1): contiguous runs as word block copies. */
void tg_slice_s8_fast(const tg_slice_params *p, const int8_t *input, int8_t *output);

#endif
