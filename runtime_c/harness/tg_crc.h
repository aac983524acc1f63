/* Checksums of the serial protocol; mirrored in tinygen/device/protocol.py.
 *   CRC-32: IEEE 802.3 (reflected 0xEDB88320, init and final xor 0xFFFFFFFF) = zlib.crc32.
 *   CRC-8:  polynomial 0x07, init 0, no reflection (CRC-8/SMBUS), guards the frame header. */
#ifndef TG_CRC_H
#define TG_CRC_H

#include <stdint.h>

/* Start with crc = 0; feed any number of chunks; the value is final after every call. */
uint32_t tg_crc32_update(uint32_t crc, const void *data, uint32_t n);
uint8_t tg_crc8(const void *data, uint32_t n);

#endif /* TG_CRC_H */
