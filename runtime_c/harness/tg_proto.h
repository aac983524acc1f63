/* Serial protocol framing, mirrored in tinygen/device/protocol.py (keep the two in step).
 *
 * Frame: A5 5A | type u8 | seq u8 | len u32 LE | hcrc u8 | payload[len] | crc u32 LE
 *   hcrc = CRC-8 of (type, seq, len); crc = CRC-32 of (type, seq, len, payload).
 * The header CRC lets the receiver reject a false sync at once and resynchronise by sliding one
 * byte, so garbage on the line costs nothing but the garbage. All integers little-endian.
 * Responses echo the request's seq, so the host can drop stale replies after a retry.
 */
#ifndef TG_PROTO_H
#define TG_PROTO_H

#include <stdint.h>

#define TG_PROTO_VERSION 1u
#define TG_SYNC0 0xA5u
#define TG_SYNC1 0x5Au
#define TG_HEADER_BYTES 9u

/* Host -> firmware */
#define TG_MSG_HELLO 0x01u   /* empty -> INFO */
#define TG_MSG_RUN 0x02u     /* inputs -> RESULT */
#define TG_MSG_PROFILE 0x03u /* inputs -> PROFILE_DATA, RESULT */
#define TG_MSG_DUMP 0x04u    /* inputs -> LAYER x num_layers, RESULT */
#define TG_MSG_PING 0x05u    /* any bytes -> PONG (same bytes) */
#define TG_MSG_EXIT 0x06u    /* u32 code -> BYE, then exit(code) */
#define TG_MSG_PEEK 0x0Eu    /* test builds only (TG_HARNESS_TEST_HOOKS): u32 address -> PONG u32 */
#define TG_MSG_CRASH 0x0Fu   /* test builds only: u8 0 = UsageFault, 1 = stack overflow */
/* Firmware -> host */
#define TG_MSG_BOOT 0x80u    /* unsolicited after reset: u16 proto version, u16 0, "tinygen" */
#define TG_MSG_INFO 0x81u
#define TG_MSG_RESULT 0x82u
#define TG_MSG_PROFILE_DATA 0x83u
#define TG_MSG_LAYER 0x84u
#define TG_MSG_PONG 0x85u
#define TG_MSG_BYE 0x86u
#define TG_MSG_ERROR 0xFFu   /* u16 code, u16 0, message bytes */

#define TG_ERR_BAD_CRC 1u
#define TG_ERR_TOO_LONG 2u
#define TG_ERR_BAD_LENGTH 3u
#define TG_ERR_UNKNOWN_TYPE 4u
#define TG_ERR_TIMEOUT 5u

/* tg_proto_recv results */
#define TG_RX_OK 0
#define TG_RX_BAD_CRC 1
#define TG_RX_TOO_LONG 2
#define TG_RX_TIMEOUT 3

/* Give up on a frame whose bytes stop arriving for this long (real boards only). */
#define TG_PROTO_BYTE_TIMEOUT_MS 500u

typedef struct {
    uint8_t type, seq;
    uint32_t len;
} tg_frame;

/* Wait for the next frame with a valid header; its payload goes to buf (capacity cap). */
int tg_proto_recv(tg_frame *f, uint8_t *buf, uint32_t cap);

/* Streaming send: begin (writes the header), put the payload in any number of pieces that add
 * up to len, end (writes the CRC). No transmit buffer needed. */
void tg_proto_begin(uint8_t type, uint8_t seq, uint32_t len);
void tg_proto_put(const void *data, uint32_t n);
void tg_proto_put_u32(uint32_t v);
void tg_proto_end(void);

void tg_proto_send(uint8_t type, uint8_t seq, const void *payload, uint32_t len);
void tg_proto_error(uint8_t seq, uint16_t code, const char *msg);

#endif /* TG_PROTO_H */
