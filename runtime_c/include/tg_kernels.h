/* Every public tinygen kernel, one header per op; each header documents its layouts, value
 * ranges and scratch needs. Include this one header from generated code. */
#ifndef TG_KERNELS_H
#define TG_KERNELS_H

#include "tg_types.h"
#include "tg_fixedpoint.h"
#include "tg_conv2d.h"

#endif /* TG_KERNELS_H */
