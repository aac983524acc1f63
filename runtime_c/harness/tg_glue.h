/* What the harness needs to know about the model: implemented by the small generated glue file
 * (templates/firmware/tg_glue.c.j2), so the harness itself stays model-agnostic.
 *
 * Tensor payloads on the wire are the tensors in order, each padded with zeros to a multiple of
 * 4 bytes, so every tensor in the receive buffer starts word-aligned. */
#ifndef TG_GLUE_H
#define TG_GLUE_H

#include <stdint.h>

#include "tg_types.h"

/* dtype codes on the wire (tinygen/device/protocol.py DTYPES) */
#define TG_DTYPE_INT8 1u
#define TG_DTYPE_UINT8 2u
#define TG_DTYPE_INT16 3u
#define TG_DTYPE_INT32 4u
#define TG_DTYPE_UINT32 5u
#define TG_DTYPE_FLOAT32 6u

#define TG_MAX_DIMS 6

typedef struct {
    const char *name;
    uint32_t dtype;
    uint32_t ndim;
    int32_t shape[TG_MAX_DIMS];
    uint32_t bytes; /* without padding */
    float scale;
    int32_t zero_point;
} tg_tensor_spec;

extern const char tg_glue_version[];   /* tinygen version that generated the firmware */
extern const char tg_glue_prefix[];    /* model prefix */
extern const char tg_glue_target[];    /* board or stand-in the image was built for */
extern const uint8_t tg_glue_model_hash[8]; /* sha256(<prefix>.c)[:8], computed at build time */
extern const uint32_t tg_glue_arena_bytes, tg_glue_num_layers;
extern const uint32_t tg_glue_num_inputs, tg_glue_num_outputs;
extern const tg_tensor_spec tg_glue_inputs[], tg_glue_outputs[];

/* Receive buffer: RUN/PROFILE/DUMP payloads land here and the model reads its inputs in place.
 * A function, because with the model input planned in the arena it is the model's own input
 * buffer (<prefix>_input0_buffer), which exists only at run time; between inferences nothing
 * else in the arena is live. */
uint8_t *tg_glue_rx_buffer(void);
#define tg_glue_rx (tg_glue_rx_buffer())
extern const uint32_t tg_glue_rx_capacity; /* >= tg_glue_in_bytes, >= 256 for PING */
extern const uint32_t tg_glue_in_bytes;    /* padded */
extern uint8_t tg_glue_out[];
extern const uint32_t tg_glue_out_bytes;   /* padded */
extern uint32_t tg_glue_layer_ticks[];     /* num_layers entries, for PROFILE */

/* One inference from tg_glue_rx into tg_glue_out; hook may be 0. Returns the model's status. */
int tg_glue_invoke(tg_layer_hook hook, void *ctx);

#endif /* TG_GLUE_H */
