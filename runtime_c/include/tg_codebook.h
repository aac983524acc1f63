#ifndef TG_CODEBOOK_H
#define TG_CODEBOOK_H
#include "tg_types.h"
#include "tg_dsp.h"

/* Codebook weights (weight sharing; mirrors tinygen/reference/codebook.py): weight j of output
 * channel o is table[o * table_stride + index(o, j)], where index(o, j) is the index_bits-bit
 * (1..4) field at bit j*index_bits of row o of `index` (row_bytes bytes, little-endian bit order,
 * a field may straddle two bytes); table_stride is 0 (one table for the layer) or 2^index_bits
 * (one per output channel). Otherwise exactly tg_conv2d.h / tg_fully_connected.h (HWI weight rows):
 * acc = bias[o] + sum w * (in + input_offset); out = clamp(requant(acc, multiplier[o], shift[o])
 * + output_offset, act_min, act_max); out-of-image taps are skipped. */
typedef struct {
    int32_t in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l, groups;
    int32_t input_offset, output_offset, act_min, act_max;
    int32_t index_bits, row_bytes, table_stride;
    const uint8_t *index;
    const int8_t *table;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
} tg_conv2d_codebook_params;

typedef struct {
    int32_t batches, in_features, out_features;
    int32_t input_offset, output_offset, act_min, act_max;
    int32_t index_bits, row_bytes, table_stride;
    const uint8_t *index;
    const int8_t *table;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
} tg_fully_connected_codebook_params;

void tg_conv2d_codebook_s8_ref(const tg_conv2d_codebook_params *p, const int8_t *input, int8_t *output);
void tg_fully_connected_codebook_s8_ref(const tg_fully_connected_codebook_params *p, const int8_t *input,
                                        int8_t *output);
/* Same results for groups == 1 (with tg_requant_fast.h's output stage): each output channel's row is decoded once into int16 in scratch
 * (tg_codebook_decode_row), then reused for every output pixel with a SMLAD dot product (two
 * pixels per pass for a 1x1/1 unpadded layer). */
void tg_conv2d_codebook_s8_fast(const tg_conv2d_codebook_params *p, const int8_t *input, int8_t *output,
                                void *scratch);
size_t tg_conv2d_codebook_s8_fast_scratch_bytes(const tg_conv2d_codebook_params *p);
void tg_fully_connected_codebook_s8_fast(const tg_fully_connected_codebook_params *p, const int8_t *input,
                                         int8_t *output, void *scratch);
size_t tg_fully_connected_codebook_s8_fast_scratch_bytes(const tg_fully_connected_codebook_params *p);

/* index(row, j) for bits in 1..4 */
static inline int32_t tg_codebook_index(const uint8_t *row, int32_t j, int32_t bits)
{
    const int32_t bit = j * bits;
    uint32_t v = row[bit >> 3];
    if ((bit & 7) + bits > 8) v |= (uint32_t)row[(bit >> 3) + 1] << 8;
    return (int32_t)((v >> (bit & 7)) & ((1u << bits) - 1u));
}

/* Sequential reader of a row's index fields (little-endian bit stream, bits 1..4). */
typedef struct {
    const uint8_t *src;
    uint32_t buf;
    int32_t have;
} tg_codebook_reader;

static inline int32_t tg_codebook_next(tg_codebook_reader *r, int32_t bits)
{
    if (r->have < bits) {
        r->buf |= (uint32_t)*r->src++ << r->have;
        r->have += 8;
    }
    const int32_t idx = (int32_t)(r->buf & ((1u << bits) - 1u));
    r->buf >>= bits;
    r->have -= bits;
    return idx;
}

/* Decode `taps` runs of `run` weights of one row into int16 `out`: within each run, whole blocks
 * of 4 are stored w0, w2, w1, w3 (the halves tg_codebook_dot pairs with SXTB16 / SXTB16 ROR 8
 * of four input bytes), the run % 4 tail in order. */
static inline void tg_codebook_decode_row(const uint8_t *row, const int8_t *table, int32_t bits, int32_t taps,
                                          int32_t run, int16_t *out)
{
    tg_codebook_reader r = {row, 0u, 0};
    for (int32_t t = 0; t < taps; ++t, out += run) {
        int32_t c = 0;
        for (; c + 4 <= run; c += 4) {
            const int32_t i0 = tg_codebook_next(&r, bits), i1 = tg_codebook_next(&r, bits);
            const int32_t i2 = tg_codebook_next(&r, bits), i3 = tg_codebook_next(&r, bits);
            out[c] = table[i0];
            out[c + 1] = table[i2];
            out[c + 2] = table[i1];
            out[c + 3] = table[i3];
        }
        for (; c < run; ++c) out[c] = table[tg_codebook_next(&r, bits)];
    }
}

/* acc + sum_c w[c] * (x[c] + offset) over n channels, w from tg_codebook_decode_row; offset is
 * -zero point (|x + offset| <= 255 fits an int16 half). */
static inline int32_t tg_codebook_dot(const int8_t *x, const int16_t *w, int32_t n, int32_t offset, int32_t acc)
{
    const uint32_t off2 = ((uint32_t)offset & 0xFFFFu) * 0x00010001u;
    int32_t c = 0;
    for (; c + 4 <= n; c += 4) {
        const uint32_t v = tg_load_u32(x + c);
        acc = tg_smlad(tg_sxtab16(off2, v), tg_load_u32(w + c), acc);
        acc = tg_smlad(tg_sxtab16(off2, v >> 8), tg_load_u32(w + c + 2), acc);
    }
    for (; c < n; ++c) acc += (int32_t)w[c] * ((int32_t)x[c] + offset);
    return acc;
}

/* tg_codebook_dot for two inputs x0, x1 on the same weights: *acc0 += w . (x0 + offset),
 * *acc1 += w . (x1 + offset) (each weight word loaded once for both). */
static inline void tg_codebook_dot2(const int8_t *x0, const int8_t *x1, const int16_t *w, int32_t n, int32_t offset,
                                    int32_t *acc0, int32_t *acc1)
{
    const uint32_t off2 = ((uint32_t)offset & 0xFFFFu) * 0x00010001u;
    int32_t s0 = *acc0, s1 = *acc1, c = 0;
    for (; c + 4 <= n; c += 4) {
        const uint32_t w02 = tg_load_u32(w + c), w13 = tg_load_u32(w + c + 2);
        const uint32_t v0 = tg_load_u32(x0 + c), v1 = tg_load_u32(x1 + c);
        s0 = tg_smlad(tg_sxtab16(off2, v0), w02, s0);
        s0 = tg_smlad(tg_sxtab16(off2, v0 >> 8), w13, s0);
        s1 = tg_smlad(tg_sxtab16(off2, v1), w02, s1);
        s1 = tg_smlad(tg_sxtab16(off2, v1 >> 8), w13, s1);
    }
    for (; c < n; ++c) {
        s0 += (int32_t)w[c] * ((int32_t)x0[c] + offset);
        s1 += (int32_t)w[c] * ((int32_t)x1[c] + offset);
    }
    *acc0 = s0;
    *acc1 = s1;
}

#endif
