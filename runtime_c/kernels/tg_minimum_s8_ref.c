/* Reference int8 element-wise minimum. See tg_maximum.h. */
#include "tg_maximum.h"

void tg_minimum_s8_ref(const tg_maximum_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int8_t a = input1[i], b = input2[i];
        output[i] = a < b ? a : b;
    }
}
