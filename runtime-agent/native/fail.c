/* Failure reports. Every failure names a stage (`spec`, `mount-proc`, `pivot-root`, `exec`...),
 * the errno of the syscall that failed (0 for none) and a message naming the syscall and path. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

static int error_pipe = -1;

void fail_to_pipe(int fd)
{
	error_pipe = fd;
}

const char *errstr(int err)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "%s", strerror(err));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

void fail_send(const struct failure *f)
{
	char message[FAIL_MESSAGE_MAX];
	snprintf(message, sizeof message, "%s", f->message);
	for (char *p = message; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' '; /* one line per message */
	channel_send("error %s %d %s", f->stage[0] ? f->stage : "unknown", f->err, message);
}

_Noreturn void fail(const char *stage, int err, const char *fmt, ...)
{
	struct failure f = { .err = err };
	snprintf(f.stage, sizeof f.stage, "%s", stage);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f.message, sizeof f.message, fmt, ap);
	va_end(ap);
	if (error_pipe >= 0) {
		/* Smaller than PIPE_BUF: one atomic write, read whole by the parent. */
		ssize_t w;
		do
			w = write(error_pipe, &f, sizeof f);
		while (w < 0 && errno == EINTR);
		_exit(127);
	}
	fail_send(&f);
	exit(1);
}
