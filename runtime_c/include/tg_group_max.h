#ifndef TG_GROUP_MAX_H
#define TG_GROUP_MAX_H
#include "tg_types.h"

/* int8 maximum over consecutive groups of the innermost axis (max-out of multi-head depthwise
 * convolutions). The input is [outer][groups * group], the output [outer][groups]:
 *   out[o][g] = max_{j < group} in[o][g * group + j]
 * Input and output share one quantization grid. No scratch. */
typedef struct {
    int32_t outer, groups, group;
} tg_group_max_params;

void tg_group_max_s8_ref(const tg_group_max_params *p, const int8_t *input, int8_t *output);
/* Fast variant: groups of 2 and 3 unrolled (tg_group_max_s8_fast.c). */
void tg_group_max_s8_fast(const tg_group_max_params *p, const int8_t *input, int8_t *output);

#endif
