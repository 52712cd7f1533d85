/* control.h — the local socket kipctl talks to.
 *
 * A Unix stream socket (mode 0660, group from control.group). Each
 * connection is identified by SO_PEERCRED; requests are framed as in
 * proto.h, handled by cmd_dispatch(), and answered in order. A frame over
 * control.max_request_bytes gets a request_too_large reply and the
 * connection is closed; a request not complete within
 * control.request_timeout_ms drops the connection; past
 * control.max_clients new connections are closed at once. None of this
 * stops the daemon serving everybody else.
 */
#ifndef KIP_CONTROL_H
#define KIP_CONTROL_H

#include <stddef.h>

struct kipd;

/* Creates, binds and listens; registers with k->loop. 0 or -errno with a
 * message in err. */
int control_open(struct kipd *k, char *err, size_t errlen);
/* Closes every connection and the socket, and removes the socket file. */
void control_close(struct kipd *k);

#endif
