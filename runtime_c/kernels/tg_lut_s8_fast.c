/* Fast int8 table lookup (same contract as tg_lut_s8_ref, see tg_lut.h): one word load and one
 * word store per four lookups; in place stays safe since each word is read before it is written. */
#include "tg_dsp.h"
#include "tg_lut.h"

void tg_lut_s8_fast(const tg_lut_params *p, const int8_t *input, int8_t *output)
{
    const uint8_t *t = (const uint8_t *)p->table + 128; /* indexed by the signed input */
    int32_t i = 0;
    for (; i + 4 <= p->size; i += 4) {
        const uint32_t w = tg_load_u32(input + i);
        const uint32_t r = (uint32_t)t[(int8_t)w] | (uint32_t)t[(int8_t)(w >> 8)] << 8
                           | (uint32_t)t[(int8_t)(w >> 16)] << 16 | (uint32_t)t[(int8_t)(w >> 24)] << 24;
        tg_store_u32(output + i, r);
    }
    for (; i < p->size; ++i) output[i] = (int8_t)t[input[i]];
}
