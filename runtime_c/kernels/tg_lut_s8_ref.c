/* Reference int8 table lookup. See tg_lut.h. */
#include "tg_lut.h"

void tg_lut_s8_ref(const tg_lut_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = p->table[(int32_t)input[i] + 128];
    }
}
