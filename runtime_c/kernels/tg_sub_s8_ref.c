/* Reference int8 broadcasting subtract: add's loops with b negated (tg_add_sub_s8). See tg_elementwise.h. */
#include "tg_elementwise.h"

void tg_sub_s8_ref(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    tg_add_sub_s8(p, input1, input2, output, -1);
}
