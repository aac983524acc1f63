#ifndef TG_BFULLY_CONNECTED_H
#define TG_BFULLY_CONNECTED_H
#include "tg_types.h"
#include "tg_bitpack.h"

/* Binary (+-1) fully connected layer on packed vectors (conventions: tg_bitpack.h).
 * input uint32_t [ceil(in_features/32)]; weight uint32_t [out_c][ceil(in_features/32)].
 * dot = in_features - 2*popcount(in ^ w). Output stage per output channel as in tg_bitpack.h:
 * output_binary 1: output uint32_t [ceil(out_c/32)] from thresholds and flip (padding bits 0);
 * output_binary 0: output int8_t [out_c] from pre_shift, bias, multiplier, shift, output_offset,
 *   act_min, act_max. |dot| <= in_features. No scratch. */
typedef struct {
    int32_t in_features, out_c;
    const uint32_t *weight;
    int32_t output_binary;
    const int32_t *thresholds;
    const uint8_t *flip;
    const int32_t *multiplier;
    const int32_t *shift;
    const int32_t *bias; /* units of 2^-pre_shift dot */
    int32_t pre_shift, output_offset;
    int32_t act_min, act_max;
} tg_bfully_connected_params;

/* output is uint32_t * (output_binary) or int8_t * */
void tg_bfully_connected_b1_ref(const tg_bfully_connected_params *p, const uint32_t *input, void *output);
/* carry-save popcount (tg_popcount.h), same params and output */
void tg_bfully_connected_b1_hs8(const tg_bfully_connected_params *p, const uint32_t *input, void *output);

#endif
