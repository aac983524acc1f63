#ifndef TG_RESHAPE_H
#define TG_RESHAPE_H
#include "tg_types.h"

/* Reshape: the bytes are unchanged (row-major), only the shape changes, so this is a copy of
 * `bytes` bytes with memmove semantics (any dtype; buffers may overlap). Nothing is done when
 * output == input; codegen omits the call entirely when the planner ran it in place. */
typedef struct {
    int32_t bytes;
} tg_reshape_params;

void tg_reshape_ref(const tg_reshape_params *p, const void *input, void *output);

#endif
