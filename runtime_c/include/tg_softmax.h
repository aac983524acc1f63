#ifndef TG_SOFTMAX_H
#define TG_SOFTMAX_H
#include "tg_types.h"

/* int8 softmax over rows of row_size consecutive values (the innermost axis), temperature and
 * input scale folded into an offline exp table (table[d] = round(2^15 exp(-beta s_in d)),
 * table_size <= 256 entries, entries past the end are 0). For each row:
 *   d_i = max_j in[j] - in[i];  e_i = d_i < table_size ? table[d_i] : 0;  sum = sum_i e_i
 *   p_i = ((uint64)e_i << 30 + sum / 2) / sum                      (Q30 probability)
 *   out[i] = clamp(requant(p_i, multiplier, shift) + output_offset, act_min, act_max)
 * row_size <= 65536. output may equal input (in place). No scratch. */
typedef struct {
    int32_t rows, row_size;
    int32_t output_offset, multiplier, shift, act_min, act_max, table_size;
    const uint16_t *table;
} tg_softmax_params;

void tg_softmax_s8_ref(const tg_softmax_params *p, const int8_t *input, int8_t *output);

/* TFLite Micro's int8 softmax (mode "tflm"; output scale 1/256, zero point -128), rows as above:
 *   e[c]  = exp_q31[max - in[c]]                    Q0.31, 256 entries computed offline
 *   sum   = sum_c rdbpot(e[c], 12)                   Q12.19 (row_size < 4096)
 *   1/sum = scale * 2^-bits                          scale Q0.31, from clz and 3 Newton steps
 *   out[c] = clamp(rdbpot(srdhm(scale, e[c]), bits + 23) - 128, -128, 127)
 * output may equal input. No scratch. */
typedef struct {
    int32_t rows, row_size;
    const int32_t *exp_q31;
} tg_softmax_tflm_params;

void tg_softmax_tflm_s8_ref(const tg_softmax_tflm_params *p, const int8_t *input, int8_t *output);

#endif
