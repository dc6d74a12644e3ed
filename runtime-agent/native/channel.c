/* fd 3, berthd's end of the conversation: spec records in, message lines out. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"

#define SPEC_MAX (64u << 20) /* env and mounts of a sane container fit many times over */

static struct {
	char *data;
	size_t len, cap, pos; /* data[pos..len) is unconsumed */
} in;

ssize_t channel_fill(void)
{
	if (in.pos > 0 && in.pos == in.len)
		in.pos = in.len = 0;
	if (in.len == in.cap) {
		if (in.pos > 0) {
			memmove(in.data, in.data + in.pos, in.len - in.pos);
			in.len -= in.pos;
			in.pos = 0;
		} else {
			size_t cap = in.cap ? in.cap * 2 : 65536;
			if (cap > SPEC_MAX) {
				errno = E2BIG;
				return -1;
			}
			char *data = realloc(in.data, cap);
			if (!data)
				return -1;
			in.data = data;
			in.cap = cap;
		}
	}
	ssize_t n;
	do
		n = read(CONTROL_FD, in.data + in.len, in.cap - in.len);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		in.len += (size_t)n;
	return n;
}

char *channel_read_spec(size_t *len)
{
	size_t scan = in.pos; /* start of the next record not yet checked */
	for (;;) {
		char *nul;
		while (scan < in.len && (nul = memchr(in.data + scan, '\0', in.len - scan))) {
			size_t start = scan;
			scan = (size_t)(nul - in.data) + 1;
			if (strcmp(in.data + start, "end") == 0) {
				*len = scan - in.pos;
				char *copy = malloc(*len);
				if (!copy)
					return NULL;
				memcpy(copy, in.data + in.pos, *len);
				in.pos = scan;
				return copy;
			}
		}
		size_t consumed = in.pos;
		ssize_t n = channel_fill();
		scan -= consumed - in.pos; /* channel_fill may have moved the data down */
		if (n == 0)
			errno = EPIPE;
		if (n <= 0)
			return NULL;
	}
}

char *channel_next_line(void)
{
	static char line[256];
	char *nl = in.pos < in.len ? memchr(in.data + in.pos, '\n', in.len - in.pos) : NULL;
	if (!nl)
		return NULL;
	size_t n = (size_t)(nl - (in.data + in.pos));
	if (n >= sizeof line)
		n = sizeof line - 1; /* no control line is this long: truncate, the caller rejects it */
	memcpy(line, in.data + in.pos, n);
	line[n] = '\0';
	in.pos = (size_t)(nl - in.data) + 1;
	return line;
}

bool channel_send(const char *fmt, ...)
{
	char buf[FAIL_MESSAGE_MAX + 128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	if ((size_t)n > sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t w = send(CONTROL_FD, buf + off, (size_t)n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = write(CONTROL_FD, buf + off, (size_t)n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += (size_t)w;
	}
	return true;
}
