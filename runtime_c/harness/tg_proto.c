/* Frame receive (with resynchronisation) and streaming send; see tg_proto.h for the format. */
#include <stdint.h>

#include "tg_crc.h"
#include "tg_platform.h"
#include "tg_proto.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Drop leading bytes until what is left could still be the start of a header. */
static uint32_t trim(uint8_t *h, uint32_t have)
{
    uint32_t skip = 0;
    while (skip < have && !(h[skip] == TG_SYNC0 && (have - skip < 2 || h[skip + 1] == TG_SYNC1))) ++skip;
    for (uint32_t i = skip; i < have; ++i) h[i - skip] = h[i];
    return have - skip;
}

int tg_proto_recv(tg_frame *f, uint8_t *buf, uint32_t cap)
{
    uint8_t h[TG_HEADER_BYTES];
    uint32_t have = 0;
    for (;;) {
        while (have < TG_HEADER_BYTES) {
            /* Idle between frames: wait forever. Inside a header: a stall drops it. */
            uint32_t timeout = have == 0 ? TG_WAIT_FOREVER : TG_PROTO_BYTE_TIMEOUT_MS;
            if (tg_console_read(&h[have], 1, timeout) != 1) {
                have = 0;
                continue;
            }
            have = trim(h, have + 1);
        }
        if (tg_crc8(&h[2], 6) == h[8]) break;
        /* False sync (or a corrupted header): slide one byte and look again. */
        h[0] = 0;
        have = trim(h, have);
    }
    f->type = h[2];
    f->seq = h[3];
    f->len = le32(&h[4]);
    if (f->len > cap) return TG_RX_TOO_LONG; /* its payload is left to the resync scanner */
    if (tg_console_read(buf, f->len, TG_PROTO_BYTE_TIMEOUT_MS) != f->len) return TG_RX_TIMEOUT;
    uint8_t tail[4];
    if (tg_console_read(tail, 4, TG_PROTO_BYTE_TIMEOUT_MS) != 4) return TG_RX_TIMEOUT;
    uint32_t crc = tg_crc32_update(tg_crc32_update(0, &h[2], 6), buf, f->len);
    return crc == le32(tail) ? TG_RX_OK : TG_RX_BAD_CRC;
}

static uint32_t tx_crc;

void tg_proto_begin(uint8_t type, uint8_t seq, uint32_t len)
{
    uint8_t h[TG_HEADER_BYTES] = {TG_SYNC0, TG_SYNC1, type, seq, (uint8_t)len, (uint8_t)(len >> 8),
                                  (uint8_t)(len >> 16), (uint8_t)(len >> 24), 0};
    h[8] = tg_crc8(&h[2], 6);
    tx_crc = tg_crc32_update(0, &h[2], 6);
    tg_console_write(h, sizeof h);
}

void tg_proto_put(const void *data, uint32_t n)
{
    tx_crc = tg_crc32_update(tx_crc, data, n);
    tg_console_write(data, n);
}

void tg_proto_put_u32(uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    tg_proto_put(b, 4);
}

void tg_proto_end(void)
{
    uint8_t b[4] = {(uint8_t)tx_crc, (uint8_t)(tx_crc >> 8), (uint8_t)(tx_crc >> 16), (uint8_t)(tx_crc >> 24)};
    tg_console_write(b, 4);
}

void tg_proto_send(uint8_t type, uint8_t seq, const void *payload, uint32_t len)
{
    tg_proto_begin(type, seq, len);
    tg_proto_put(payload, len);
    tg_proto_end();
}

void tg_proto_error(uint8_t seq, uint16_t code, const char *msg)
{
    uint32_t n = 0;
    while (msg[n]) ++n;
    uint8_t head[4] = {(uint8_t)code, (uint8_t)(code >> 8), 0, 0};
    tg_proto_begin(TG_MSG_ERROR, seq, 4 + n);
    tg_proto_put(head, 4);
    tg_proto_put(msg, n);
    tg_proto_end();
}
