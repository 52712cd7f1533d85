/* proto.c — framing of the control protocol; see proto.h. */
#include "proto.h"

#include "fdio.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

void proto_put_len(unsigned char hdr[KIP_FRAME_HDR], uint32_t len)
{
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
}

uint32_t proto_get_len(const unsigned char hdr[KIP_FRAME_HDR])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	       (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];
}

int proto_write_frame(int fd, const char *data, size_t len)
{
	unsigned char hdr[KIP_FRAME_HDR];
	int r;

	if (len == 0 || len > UINT32_MAX)
		return -EMSGSIZE;
	proto_put_len(hdr, (uint32_t)len);
	r = fd_write_all(fd, hdr, sizeof(hdr));
	if (r < 0)
		return r;
	return fd_write_all(fd, data, len);
}

/* The peer closed the connection, before or inside a frame. */
static int closed(int r)
{
	return r == -EPIPE || r == -EPROTO ? -ECONNRESET : r;
}

int proto_read_frame(int fd, size_t max, char **ret, size_t *ret_len)
{
	unsigned char hdr[KIP_FRAME_HDR];
	uint32_t len;
	char *p;
	int r;

	r = fd_read_exact(fd, hdr, sizeof(hdr));
	if (r < 0)
		return closed(r);
	len = proto_get_len(hdr);
	if (len == 0 || len > max)
		return -EMSGSIZE;
	p = malloc((size_t)len + 1);
	if (!p)
		return -ENOMEM;
	r = fd_read_exact(fd, p, len);
	if (r < 0) {
		free(p);
		return closed(r);
	}
	p[len] = '\0';
	*ret = p;
	*ret_len = len;
	return 0;
}
