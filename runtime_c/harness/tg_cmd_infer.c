/* RUN, PROFILE and DUMP: one inference on the input payload already in tg_glue_rx.
 *
 *   RUN     -> RESULT
 *   PROFILE -> PROFILE_DATA (u32 n, u32 ticks[n]: per layer, via the layer hook), RESULT
 *   DUMP    -> LAYER (u32 layer, u32 bytes, tensor bytes) after every layer, RESULT
 *   RESULT  =  u32 status, u32 ticks (whole invoke), u32 stack peak bytes, u32 0, outputs
 *
 * Ticks are raw counter deltas; the host subtracts tg_harness_counter_overhead (sent in INFO)
 * and converts to cycles or emulated instructions. In PROFILE the hook re-reads the counter on
 * the way out, so the hook's own body is not charged to the next layer; each layer still
 * carries the hook call itself (a few instructions). */
#include <stdint.h>

#include "tg_glue.h"
#include "tg_harness.h"
#include "tg_platform.h"
#include "tg_proto.h"

typedef struct {
    uint32_t last;
} profile_ctx;

static void profile_hook(void *ctx, int32_t layer, const void *output, int32_t bytes)
{
    (void)output;
    (void)bytes;
    profile_ctx *p = (profile_ctx *)ctx;
    const uint32_t now = tg_counter_now();
    if ((uint32_t)layer < tg_glue_num_layers) tg_glue_layer_ticks[layer] = now - p->last;
    p->last = tg_counter_now();
}

static void dump_hook(void *ctx, int32_t layer, const void *output, int32_t bytes)
{
    const uint8_t seq = *(const uint8_t *)ctx;
    tg_proto_begin(TG_MSG_LAYER, seq, 8u + (uint32_t)bytes);
    tg_proto_put_u32((uint32_t)layer);
    tg_proto_put_u32((uint32_t)bytes);
    tg_proto_put(output, (uint32_t)bytes);
    tg_proto_end();
}

void tg_cmd_infer(const tg_frame *f)
{
    if (f->len != tg_glue_in_bytes) {
        tg_proto_error(f->seq, TG_ERR_BAD_LENGTH, "input payload size does not match the model");
        return;
    }
    int status;
    uint32_t ticks;
    if (f->type == TG_MSG_PROFILE) {
        profile_ctx ctx;
        for (uint32_t i = 0; i < tg_glue_num_layers; ++i) tg_glue_layer_ticks[i] = 0;
        const uint32_t t0 = tg_counter_now();
        ctx.last = t0;
        status = tg_glue_invoke(profile_hook, &ctx);
        ticks = tg_counter_now() - t0;
        tg_proto_begin(TG_MSG_PROFILE_DATA, f->seq, 4u + 4u * tg_glue_num_layers);
        tg_proto_put_u32(tg_glue_num_layers);
        for (uint32_t i = 0; i < tg_glue_num_layers; ++i) tg_proto_put_u32(tg_glue_layer_ticks[i]);
        tg_proto_end();
    } else if (f->type == TG_MSG_DUMP) {
        uint8_t seq = f->seq;
        const uint32_t t0 = tg_counter_now();
        status = tg_glue_invoke(dump_hook, &seq);
        ticks = tg_counter_now() - t0; /* includes the UART traffic: not a latency */
    } else {
        const uint32_t t0 = tg_counter_now();
        status = tg_glue_invoke(0, 0);
        ticks = tg_counter_now() - t0;
    }
    tg_proto_begin(TG_MSG_RESULT, f->seq, 16u + tg_glue_out_bytes);
    tg_proto_put_u32((uint32_t)status);
    tg_proto_put_u32(ticks);
    tg_proto_put_u32(tg_platform_stack_peak());
    tg_proto_put_u32(0);
    tg_proto_put(tg_glue_out, tg_glue_out_bytes);
    tg_proto_end();
}
