/* Validation firmware main loop: bring the board up, announce BOOT, then serve frames forever.
 * Protocol: tg_proto.h. The model is reached only through tg_glue.h. */
#include <stdint.h>

#include "tg_glue.h"
#include "tg_harness.h"
#include "tg_platform.h"
#include "tg_proto.h"

uint32_t tg_harness_counter_overhead;

static uint32_t measure_overhead(void)
{
    uint32_t best = 0xFFFFFFFFu;
    for (int i = 0; i < 8; ++i) {
        uint32_t a = tg_counter_now();
        uint32_t b = tg_counter_now();
        if (b - a < best) best = b - a;
    }
    return best;
}

#if defined(TG_HARNESS_TEST_HOOKS)
/* Recurses until the stack overflows (the depth comes from the host, so GCC cannot prove the
 * recursion infinite or turn it into a loop). */
static __attribute__((noinline)) uint32_t crash_recurse(uint32_t depth)
{
    volatile uint8_t pad[64];
    pad[0] = (uint8_t)depth;
    if (depth == 0) return pad[0];
    return crash_recurse(depth - 1) + pad[0];
}
#endif

static void send_boot(void)
{
    static const uint8_t boot[] = {(uint8_t)TG_PROTO_VERSION, 0, 0, 0, 't', 'i', 'n', 'y', 'g', 'e', 'n'};
    tg_proto_send(TG_MSG_BOOT, 0, boot, sizeof boot);
}

static void dispatch(const tg_frame *f)
{
    switch (f->type) {
    case TG_MSG_HELLO:
        tg_cmd_hello(f);
        break;
    case TG_MSG_RUN:
    case TG_MSG_PROFILE:
    case TG_MSG_DUMP:
        tg_cmd_infer(f);
        break;
    case TG_MSG_PING:
        tg_proto_send(TG_MSG_PONG, f->seq, tg_glue_rx, f->len);
        break;
    case TG_MSG_EXIT: {
        uint32_t code = f->len >= 4 ? (uint32_t)tg_glue_rx[0] | ((uint32_t)tg_glue_rx[1] << 8) : 0;
        tg_proto_send(TG_MSG_BYE, f->seq, 0, 0);
        tg_platform_exit((int)code);
    }
#if defined(TG_HARNESS_TEST_HOOKS)
    case TG_MSG_PEEK: {
        uint32_t addr = 0;
        for (int i = 3; i >= 0; --i) addr = (addr << 8) | tg_glue_rx[i];
        uint32_t value = *(volatile const uint32_t *)(uintptr_t)addr;
        tg_proto_send(TG_MSG_PONG, f->seq, &value, 4); /* little-endian core: bytes in wire order */
        break;
    }
    case TG_MSG_CRASH:
        if (f->len >= 1 && tg_glue_rx[0] == 1) {
            crash_recurse(0xFFFFFFFFu); /* stack overflow */
        }
        __asm__ volatile("udf #0"); /* UsageFault UNDEFINSTR: exercises tg_fault.c */
        break;
#endif
    default:
        tg_proto_error(f->seq, TG_ERR_UNKNOWN_TYPE, "unknown message type");
        break;
    }
}

int main(void)
{
    tg_platform_init();
    tg_harness_counter_overhead = measure_overhead();
    send_boot();
    for (;;) {
        tg_frame f;
        switch (tg_proto_recv(&f, tg_glue_rx, tg_glue_rx_capacity)) {
        case TG_RX_OK:
            dispatch(&f);
            break;
        case TG_RX_BAD_CRC:
            tg_proto_error(f.seq, TG_ERR_BAD_CRC, "payload CRC mismatch");
            break;
        case TG_RX_TOO_LONG:
            tg_proto_error(f.seq, TG_ERR_TOO_LONG, "payload longer than the receive buffer");
            break;
        default:
            tg_proto_error(f.seq, TG_ERR_TIMEOUT, "frame stalled mid-way");
            break;
        }
    }
}
