#ifndef TG_LUT_H
#define TG_LUT_H
#include "tg_types.h"

/* int8 element-wise table lookup: out[i] = table[in[i] + 128] for i < size. table has 256
 * entries computed offline (any int8 -> int8 function, requantization included). output may
 * equal input (in place). No scratch. */
typedef struct {
    int32_t size;
    const int8_t *table;
} tg_lut_params;

void tg_lut_s8_ref(const tg_lut_params *p, const int8_t *input, int8_t *output);
/* Same results, a word load and store per four lookups. */
void tg_lut_s8_fast(const tg_lut_params *p, const int8_t *input, int8_t *output);

#endif
