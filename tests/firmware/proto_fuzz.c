/* Sanitizer driver for runtime_c/harness/tg_proto.c (with proto_stub.c as the console).
 * stdin: records of u32 length, u32 capacity, bytes. For each record, frames are received until
 * the input runs dry; stdout gets one line per tg_proto_recv result:
 *   record rc type seq len crc32(payload) consumed-offset
 * Built with -fsanitize=address,undefined -fno-sanitize-recover: any finding aborts the run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tg_crc.h"

int host_recv(const uint8_t *data, uint32_t len, uint32_t *consumed, uint32_t *meta, uint8_t *buf, uint32_t cap);

static int read_u32(uint32_t *v)
{
    uint8_t b[4];
    if (fread(b, 1, 4, stdin) != 4) return 0;
    *v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    return 1;
}

int main(void)
{
    uint32_t len, cap;
    unsigned long record = 0;
    while (read_u32(&len) && read_u32(&cap)) {
        /* Exact-size heap buffers, so ASan sees any read or write past either end. */
        uint8_t *data = malloc(len ? len : 1);
        uint8_t *buf = malloc(cap ? cap : 1);
        if (!data || !buf || fread(data, 1, len, stdin) != len) return 2;
        uint32_t pos = 0;
        while (pos < len) {
            uint32_t consumed = 0, meta[3] = {0, 0, 0};
            int rc = host_recv(data + pos, len - pos, &consumed, meta, buf, cap);
            if (rc < 0) break;
            uint32_t crc = rc == 0 ? tg_crc32_update(0, buf, meta[2]) : 0;
            pos += consumed;
            printf("%lu %d %u %u %u %u %u\n", record, rc, (unsigned)meta[0], (unsigned)meta[1], (unsigned)meta[2],
                   (unsigned)crc, (unsigned)pos);
            if (consumed == 0) break;
        }
        free(data);
        free(buf);
        ++record;
    }
    return 0;
}
