/* Reference int8 group maximum: plain loops, the readable definition. See tg_group_max.h. */
#include "tg_group_max.h"

void tg_group_max_s8_ref(const tg_group_max_params *p, const int8_t *input, int8_t *output)
{
    const int32_t n = p->outer * p->groups;
    for (int32_t i = 0; i < n; ++i) {
        const int8_t *in = input + i * p->group;
        int8_t m = in[0];
        for (int32_t j = 1; j < p->group; ++j) {
            if (in[j] > m) m = in[j];
        }
        output[i] = m;
    }
}
