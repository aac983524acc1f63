/* Host stand-in for the console: lets tests drive runtime_c/harness/tg_proto.c from Python.
 * Input comes from a buffer; running dry while waiting forever jumps back to the caller. */
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include "tg_platform.h"
#include "tg_proto.h"

static const uint8_t *in_data;
static uint32_t in_len, in_pos;
static uint8_t *out_data;
static uint32_t out_len, out_cap;
static jmp_buf dry;

void tg_console_write(const void *buf, uint32_t n)
{
    if (out_len + n <= out_cap) memcpy(out_data + out_len, buf, n);
    out_len += n;
}

uint32_t tg_console_read(void *buf, uint32_t n, uint32_t timeout_ms)
{
    uint8_t *p = (uint8_t *)buf;
    for (uint32_t i = 0; i < n; ++i) {
        if (in_pos >= in_len) {
            if (timeout_ms == TG_WAIT_FOREVER) longjmp(dry, 1);
            return i; /* a stalled frame: the timeout path */
        }
        p[i] = in_data[in_pos++];
    }
    return n;
}

int host_recv(const uint8_t *data, uint32_t len, uint32_t *consumed, uint32_t *meta, uint8_t *buf, uint32_t cap)
{
    in_data = data;
    in_len = len;
    in_pos = 0;
    if (setjmp(dry)) {
        *consumed = in_pos;
        return -1;
    }
    tg_frame f;
    int rc = tg_proto_recv(&f, buf, cap);
    meta[0] = f.type;
    meta[1] = f.seq;
    meta[2] = f.len;
    *consumed = in_pos;
    return rc;
}

uint32_t host_send(uint8_t type, uint8_t seq, const uint8_t *payload, uint32_t n, uint8_t *dst, uint32_t cap)
{
    out_data = dst;
    out_cap = cap;
    out_len = 0;
    tg_proto_send(type, seq, payload, n);
    return out_len;
}

uint32_t host_error(uint8_t seq, uint16_t code, const char *msg, uint8_t *dst, uint32_t cap)
{
    out_data = dst;
    out_cap = cap;
    out_len = 0;
    tg_proto_error(seq, code, msg);
    return out_len;
}
