/* Fast int8 convolution, any kernel, stride, padding and dilation, groups 1: the receptive
 * fields of two output pixels are copied into scratch (im2col, [k_h][k_w][in_c] each, taps
 * outside the image filled with the input zero point, which the folded bias expects), then the
 * GEMM tile of tg_conv_gemm.h runs on them. One and three input channels (first layers) copy
 * byte by byte with the count known to the compiler instead of calling memcpy per tap. */
#include <string.h>
#include "tg_conv2d.h"
#include "tg_conv_gemm.h"

size_t tg_conv2d_s8_im2col_scratch_bytes(const tg_conv2d_params *p)
{
    return (size_t)(2 * ((p->k_h * p->k_w * p->in_c + 3) & ~3));
}

static inline void tg_im2col_taps(const tg_conv2d_params *p, const int8_t *input, int8_t *dst,
                                  int32_t oy, int32_t ox, const int32_t cin)
{
    const int8_t zp = (int8_t)(-p->input_offset);
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                const int8_t *src = input + (iy * p->in_w + ix) * cin;
                if (cin <= 4) {
                    for (int32_t c = 0; c < cin; ++c) dst[c] = src[c];
                } else {
                    memcpy(dst, src, (size_t)cin);
                }
            } else if (cin <= 4) {
                for (int32_t c = 0; c < cin; ++c) dst[c] = zp;
            } else {
                memset(dst, zp, (size_t)cin);
            }
            dst += cin;
        }
    }
}

static inline void tg_im2col_conv(const tg_conv2d_params *p, const int8_t *input, int8_t *output,
                                  int8_t *scratch, const int32_t cin)
{
    const int32_t k = p->k_h * p->k_w * cin, n = p->out_c, pixels = p->out_h * p->out_w;
    int8_t *col0 = scratch, *col1 = scratch + ((k + 3) & ~3);
    const tg_gemm_s8 g = {k, n, p->output_offset, p->act_min, p->act_max,
                          p->weight, p->bias, p->multiplier, p->shift};
    int32_t i = 0;
    for (; i + 2 <= pixels; i += 2) {
        tg_im2col_taps(p, input, col0, i / p->out_w, i % p->out_w, cin);
        tg_im2col_taps(p, input, col1, (i + 1) / p->out_w, (i + 1) % p->out_w, cin);
        tg_gemm_s8_2rows(&g, col0, col1, output + i * n, output + (i + 1) * n);
    }
    if (i < pixels) {
        tg_im2col_taps(p, input, col0, i / p->out_w, i % p->out_w, cin);
        tg_gemm_s8_1row(&g, col0, output + i * n);
    }
}

void tg_conv2d_s8_im2col(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    if (p->in_c == 3) {
        tg_im2col_conv(p, input, output, (int8_t *)scratch, 3);
    } else if (p->in_c == 1) {
        tg_im2col_conv(p, input, output, (int8_t *)scratch, 1);
    } else {
        tg_im2col_conv(p, input, output, (int8_t *)scratch, p->in_c);
    }
}
