/* Fast int8 group maximum (same contract as tg_group_max_s8_ref, see tg_group_max.h): groups of 2
 * and 3 (the max-out of 2- and 3-head depthwise layers) unrolled with the sizes as constants, other
 * group sizes through one pointer walk. */
#include "tg_group_max.h"

static inline int32_t max2(int32_t a, int32_t b) { return a > b ? a : b; }

void tg_group_max_s8_fast(const tg_group_max_params *p, const int8_t *input, int8_t *restrict output)
{
    const int32_t n = p->outer * p->groups, g = p->group;
    const int8_t *in = input;
    if (g == 3) {
        for (int32_t i = 0; i < n; ++i, in += 3) output[i] = (int8_t)max2(max2(in[0], in[1]), in[2]);
    } else if (g == 2) {
        for (int32_t i = 0; i < n; ++i, in += 2) output[i] = (int8_t)max2(in[0], in[1]);
    } else {
        for (int32_t i = 0; i < n; ++i) {
            int32_t m = *in++;
            for (int32_t j = 1; j < g; ++j) m = max2(m, *in++);
            output[i] = (int8_t)m;
        }
    }
}
