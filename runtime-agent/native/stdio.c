/* The container's stdio. berthd (Node) hands the helper sockets for fds 0/1/2, and a socket
 * cannot be reopened through /dev/stdout (/proc/self/fd/1 gives ENXIO), which images rely on
 * (nginx logs to /dev/stdout). So for each of 0/1/2 that is a socket the child gets a pipe and
 * the parent relays between the two; anything else (a file, /dev/null, a pipe) passes straight.
 * With a tty the relay runs through the pty master instead: fd 0 → master → fd 1.
 * Writes never block the parent: its loop must always see the container exit and berthd's EOF. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

struct stream {
	bool active;	/* relayed, and not finished */
	bool output;	/* container → berthd (stdout, stderr) */
	bool eof;	/* no more input */
	int in, out;	/* stdin: socket 0 → pipe; outputs: pipe → socket 1/2 */
	size_t len, off;
	char buf[65536];
};

struct relay {
	bool tty;	/* fd 2 carries nothing; it is ended by relay_finish */
	struct stream s[3];
	int slot_stream[RELAY_MAX_POLLFDS];
};

static void finish(struct stream *s)
{
	s->active = false;
	if (s->output) {
		close(s->in);
		shutdown(s->out, SHUT_WR); /* berthd sees the end; fds 1/2 stay allocated */
	} else {
		close(s->out); /* the container sees EOF on its stdin (a tty: only our duplicate) */
	}
}

struct relay *relay_create(int child_fds[3])
{
	struct relay *r = calloc(1, sizeof *r);
	if (!r)
		fail("stdio", ENOMEM, "out of memory");
	for (int i = 0; i < 3; i++) {
		child_fds[i] = -1;
		struct stat st;
		if (fstat(i, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		int p[2];
		if (pipe2(p, O_CLOEXEC) != 0)
			fail("stdio", errno, "pipe: %s", errstr(errno));
		struct stream *s = &r->s[i];
		s->active = true;
		s->output = i > 0;
		s->in = s->output ? p[0] : 0;
		s->out = s->output ? i : p[1];
		child_fds[i] = s->output ? p[1] : p[0];
		fcntl(s->out, F_SETFL, fcntl(s->out, F_GETFL) | O_NONBLOCK);
	}
	return r;
}

struct relay *relay_create_tty(void)
{
	struct relay *r = calloc(1, sizeof *r);
	if (!r)
		fail("stdio", ENOMEM, "out of memory");
	r->tty = true;
	return r;
}

void relay_attach_master(struct relay *r, int master)
{
	int in = fcntl(master, F_DUPFD_CLOEXEC, 3), out = fcntl(master, F_DUPFD_CLOEXEC, 3);
	if (in < 0 || out < 0) {
		/* Out of fds in the shim: no terminal I/O, but the process still runs and exits. */
		if (in >= 0)
			close(in);
		return;
	}
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK); /* shared by the duplicates */
	r->s[0] = (struct stream){ .active = true, .output = false, .in = 0, .out = out };
	r->s[1] = (struct stream){ .active = true, .output = true, .in = in, .out = 1 };
	fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
}

void relay_close_child_ends(int child_fds[3])
{
	for (int i = 0; i < 3; i++)
		if (child_fds[i] >= 0)
			close(child_fds[i]);
}

size_t relay_poll_fds(struct relay *r, struct pollfd *p)
{
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		struct stream *s = &r->s[i];
		if (!s->active)
			continue;
		if (s->len > 0)
			p[n] = (struct pollfd){ .fd = s->out, .events = POLLOUT };
		else
			p[n] = (struct pollfd){ .fd = s->in, .events = POLLIN };
		r->slot_stream[n++] = i;
	}
	return n;
}

static void flush(struct stream *s)
{
	while (s->off < s->len) {
		ssize_t w = write(s->out, s->buf + s->off, s->len - s->off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			/* The reader is gone: outputs keep draining (into nothing) so the container
			 * never blocks on a full pipe; stdin stops. */
			if (!s->output) {
				finish(s);
				return;
			}
			break;
		}
		s->off += (size_t)w;
	}
	s->len = s->off = 0;
	if (s->eof)
		finish(s);
}

void relay_pump(struct relay *r, const struct pollfd *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct stream *s = &r->s[r->slot_stream[k]];
		if (!s->active || !p[k].revents)
			continue;
		if (s->len > 0) {
			flush(s);
			continue;
		}
		ssize_t got = read(s->in, s->buf, sizeof s->buf);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			s->eof = true;
			finish(s);
			continue;
		}
		s->len = (size_t)got;
		flush(s);
	}
}

bool relay_outputs_done(const struct relay *r)
{
	return !r->s[1].active && !r->s[2].active;
}

void relay_finish(struct relay *r)
{
	if (!r->tty)
		return;
	struct stat st;
	if (fstat(2, &st) == 0 && S_ISSOCK(st.st_mode))
		shutdown(2, SHUT_WR);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 2); /* a pipe ends with its last writer */
		close(null);
	}
}
