#ifndef TG_RESIZE_H
#define TG_RESIZE_H
#include "tg_types.h"

/* int8 image resize of [batches][in_h][in_w][channels] to [batches][out_h][out_w][channels], with
 * per-row and per-column source tables computed offline. The output keeps the input's
 * quantization. No scratch; not in place. */

/* out[n][y][x][c] = in[n][y_index[y]][x_index[x]][c] */
typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    const int16_t *y_index; /* out_h entries */
    const int16_t *x_index; /* out_w entries */
} tg_resize_nearest_params;

void tg_resize_nearest_s8_ref(const tg_resize_nearest_params *p, const int8_t *input, int8_t *output);

/* Bilinear on the raw codes with Q10 weights (wy on row y1, 1024 - wy on row y0; columns alike):
 *   acc = in[y0][x0]*(1024-wy)*(1024-wx) + in[y1][x0]*wy*(1024-wx)
 *       + in[y0][x1]*(1024-wy)*wx       + in[y1][x1]*wy*wx
 *   out = (acc + (acc > 0 ? 2^19 : -2^19)) / 2^20, C division (truncating toward zero).
 * wy, wx lie in (-512, 1024), negative only where the two source rows (columns) are one, so
 * |acc| < 2^31. */
typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    const int16_t *y0, *y1, *wy; /* out_h entries each */
    const int16_t *x0, *x1, *wx; /* out_w entries each */
} tg_resize_bilinear_params;

void tg_resize_bilinear_s8_ref(const tg_resize_bilinear_params *p, const int8_t *input, int8_t *output);

#endif
