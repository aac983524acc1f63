/* Patch-based execution (tinygen/plan/patch.py): a stage of layers run tile by tile, each tile a
 * band of full-width rows whose halo rows are recomputed by the neighbouring tile. The generated
 * loop calls each layer's own kernel on a copy of its params describing the tile's rows, from a
 * table of steps computed at generation time: the rows read start `in_off` bytes into the input's
 * buffer (the whole tensor, or the tile buffer holding the rows this tile made), the rows made go
 * `out_off` bytes into the output's. */
#ifndef TG_PATCH_H
#define TG_PATCH_H

#include <stdint.h>

typedef struct {
    int32_t in_off, in_h;   /* input: byte offset of the first row read, rows read */
    int32_t out_off, out_h; /* output: byte offset of the first row made, rows made */
    int32_t pad_t;          /* padding rows above the first one read (nonzero only at the top) */
} tg_patch_step;

/* A conv params struct (any with in_h, out_h, pad_t) narrowed to one step's rows. */
#define TG_PATCH_ROWS(p, step)      \
    do {                            \
        (p).in_h = (step)->in_h;    \
        (p).out_h = (step)->out_h;  \
        (p).pad_t = (step)->pad_t;  \
    } while (0)

#endif /* TG_PATCH_H */
