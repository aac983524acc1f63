/* HELLO -> INFO: everything the host checks before trusting results (model hash, tensor specs,
 * arena, layer count) and needs to interpret them (counter unit and rate, clock, overhead).
 * Layout (little-endian), decoded by tinygen/device/protocol.py decode_info():
 *   u32 'TGFW', u16 proto version, u16 0, u8[8] model hash,
 *   u32 clock_hz, counter_hz, counter_overhead, platform_status, arena_bytes, num_layers,
 *       rx_capacity, stack_size, u8 n_inputs, u8 n_outputs, u16 0,
 *   str version, str target, str counter unit, str prefix   (str = u8 length + bytes),
 *   per tensor (inputs then outputs): u8 dtype, u8 ndim, u16 0, u32 bytes, i32 shape[ndim],
 *       f32 scale, i32 zero_point, str name
 * Emitted twice: once to count the length (the header carries it), once to send. */
#include <stdint.h>

#include "tg_glue.h"
#include "tg_harness.h"
#include "tg_platform.h"
#include "tg_proto.h"

typedef struct {
    uint32_t len;
    int send;
} writer;

static void w_bytes(writer *w, const void *p, uint32_t n)
{
    if (w->send) tg_proto_put(p, n);
    w->len += n;
}

static void w_u32(writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    w_bytes(w, b, 4);
}

static void w_str(writer *w, const char *s)
{
    uint32_t n = 0;
    while (s[n] && n < 255) ++n;
    uint8_t len = (uint8_t)n;
    w_bytes(w, &len, 1);
    w_bytes(w, s, n);
}

static void w_spec(writer *w, const tg_tensor_spec *t)
{
    uint8_t head[4] = {(uint8_t)t->dtype, (uint8_t)t->ndim, 0, 0};
    w_bytes(w, head, 4);
    w_u32(w, t->bytes);
    for (uint32_t d = 0; d < t->ndim; ++d) w_u32(w, (uint32_t)t->shape[d]);
    union {
        float f;
        uint32_t u;
    } scale = {t->scale};
    w_u32(w, scale.u);
    w_u32(w, (uint32_t)t->zero_point);
    w_str(w, t->name);
}

static void emit(writer *w)
{
    w_u32(w, 0x57464754u); /* "TGFW" */
    w_u32(w, TG_PROTO_VERSION);
    w_bytes(w, tg_glue_model_hash, 8);
    w_u32(w, tg_platform_clock_hz());
    w_u32(w, tg_counter_hz());
    w_u32(w, tg_harness_counter_overhead);
    w_u32(w, tg_platform_status());
    w_u32(w, tg_glue_arena_bytes);
    w_u32(w, tg_glue_num_layers);
    w_u32(w, tg_glue_rx_capacity);
    w_u32(w, tg_platform_stack_size());
    uint8_t counts[4] = {(uint8_t)tg_glue_num_inputs, (uint8_t)tg_glue_num_outputs, 0, 0};
    w_bytes(w, counts, 4);
    w_str(w, tg_glue_version);
    w_str(w, tg_glue_target);
    w_str(w, tg_counter_unit());
    w_str(w, tg_glue_prefix);
    for (uint32_t i = 0; i < tg_glue_num_inputs; ++i) w_spec(w, &tg_glue_inputs[i]);
    for (uint32_t i = 0; i < tg_glue_num_outputs; ++i) w_spec(w, &tg_glue_outputs[i]);
}

void tg_cmd_hello(const tg_frame *f)
{
    writer count = {0, 0};
    emit(&count);
    writer send = {0, 1};
    tg_proto_begin(TG_MSG_INFO, f->seq, count.len);
    emit(&send);
    tg_proto_end();
}
