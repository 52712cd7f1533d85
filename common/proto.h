/* proto.h — the control protocol between kipctl and kipd.
 *
 * Framing: a 4-byte big-endian length N (1 <= N <= the server's limit),
 * then N bytes of one UTF-8 JSON object. Requests and replies alternate on
 * one connection. See docs/PROTOCOL.md for the messages.
 */
#ifndef KIP_PROTO_H
#define KIP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define KIP_PROTO_VERSION 1
#define KIP_FRAME_HDR 4
/* The client accepts replies up to this size (a rendered plan fits). */
#define KIP_REPLY_MAX (64u * 1024 * 1024)

void proto_put_len(unsigned char hdr[KIP_FRAME_HDR], uint32_t len);
uint32_t proto_get_len(const unsigned char hdr[KIP_FRAME_HDR]);

/* Blocking helpers for the client. Both return 0 or a negative errno;
 * -EMSGSIZE when a frame exceeds max, -ECONNRESET on end of stream. */
int proto_write_frame(int fd, const char *data, size_t len);
int proto_read_frame(int fd, size_t max, char **ret, size_t *ret_len);

#endif
