/* Every public tinygen kernel, one header per op; each header documents its layouts, value
 * ranges and scratch needs. Generated models include only the headers they use; include this
 * one to get all of them. tests/test_runtime_headers.py keeps this list complete. */
#ifndef TG_KERNELS_H
#define TG_KERNELS_H

#include "tg_types.h"
#include "tg_fixedpoint.h"
#include "tg_bitpack.h"
#include "tg_bconv2d.h"
#include "tg_bfully_connected.h"
#include "tg_binarize.h"
#include "tg_bmax_pool2d.h"
#include "tg_concat.h"
#include "tg_conv2d.h"
#include "tg_conv2d_packed.h"
#include "tg_elementwise.h"
#include "tg_float.h"
#include "tg_fully_connected.h"
#include "tg_fully_connected_packed.h"
#include "tg_group_max.h"
#include "tg_lut.h"
#include "tg_maximum.h"
#include "tg_mean.h"
#include "tg_pad.h"
#include "tg_pool.h"
#include "tg_reshape.h"
#include "tg_slice.h"
#include "tg_softmax.h"
#include "tg_variance.h"

#endif /* TG_KERNELS_H */
