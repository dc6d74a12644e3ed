/* The parent side of both modes, which stays as the process's shim (named berth-shim):
 *
 *   `pid N` ─ wait `go` ─ release the child
 *     ─ error pipe: a failure → `error ...`, exit 1 │ EOF at exec → `started`
 *     ─ relay stdio (or the pty master), apply `resize`, wait for the child
 *     ─ drain its output ─ `exit CODE SIGNAL`, exit 0
 *
 * berthd closing fd 3 at any point (it died, or gave up on this start) SIGKILLs the child.
 * One poll loop watches fd 3, the error pipe, the console socket, the child (a pidfd) and the
 * stdio relay. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

#define DRAIN_IDLE_MS 2000 /* after the exit, give up on output that stops moving this long */

enum phase { WAIT_GO, WAIT_EXEC, RUNNING, DRAINING };

struct shim {
	enum phase phase;
	pid_t pid;
	int pidfd;	   /* -1 when pidfd_open is unavailable: then poll with a timeout */
	int sync_write;	   /* -1 once `go` is relayed */
	int error_read;	   /* -1 once closed */
	int console;	   /* -1 once the master has arrived (or without a tty) */
	int master;	   /* the pty master, for resizes; -1 without one */
	bool resize_pending;
	unsigned short rows, cols; /* a resize that came before the master */
	bool control_open; /* berthd still there */
	bool reaped;
	int status;
	struct relay *relay;
};

void shim_prepare(const struct spec *spec, struct child_fds *child, struct shim_start *start)
{
	int sync[2], err[2], console[2] = { -1, -1 };
	if (pipe2(sync, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
		fail("pipe", errno, "pipe: %s", errstr(errno));
	if (spec->tty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, console) != 0)
		fail("pipe", errno, "socketpair: %s", errstr(errno));
	*child = (struct child_fds){ .sync_read = sync[0], .error_write = err[1], .console = console[1],
				     .netns = -1, .stdio = { -1, -1, -1 },
				     .parent_only = { sync[1], err[0], console[0], -1, -1, -1, -1, -1 } };
	*start = (struct shim_start){ .sync_write = sync[1], .error_read = err[0], .console = console[0] };
	start->relay = spec->tty ? relay_create_tty() : relay_create(child->stdio);
}

void shim_close_child_ends(struct child_fds *child)
{
	close(child->sync_read);
	close(child->error_write);
	if (child->console >= 0)
		close(child->console);
	if (child->netns >= 0)
		close(child->netns);
	relay_close_child_ends(child->stdio);
}

static void reap(struct shim *s, bool block)
{
	if (s->reaped)
		return;
	pid_t r;
	do
		r = waitpid(s->pid, &s->status, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == s->pid || (r < 0 && errno == ECHILD))
		s->reaped = true;
}

/* Ends the helper without an `exit` line: the child is killed and reaped first. */
static _Noreturn void abandon(struct shim *s)
{
	if (!s->reaped)
		kill(s->pid, SIGKILL);
	reap(s, true);
	_exit(1);
}

/* The console socket is readable: the pty master, or EOF (the child died before sending it). */
static void on_console(struct shim *s)
{
	s->master = console_receive(s->console);
	close(s->console);
	s->console = -1;
	if (s->master < 0)
		return;
	relay_attach_master(s->relay, s->master);
	if (s->resize_pending)
		console_resize(s->master, s->rows, s->cols);
}

/* The error pipe is readable: a failure record, or EOF (exec happened, or the child died). */
static void on_error_pipe(struct shim *s)
{
	struct failure f;
	ssize_t n;
	do
		n = read(s->error_read, &f, sizeof f);
	while (n < 0 && errno == EINTR);
	close(s->error_read);
	s->error_read = -1;
	if (n == (ssize_t)sizeof f) {
		f.stage[sizeof f.stage - 1] = f.message[sizeof f.message - 1] = '\0';
		reap(s, true); /* it _exit()s right after writing */
		fail_send(&f);
		_exit(1);
	}
	if (s->phase == WAIT_EXEC) {
		/* The master was sent before the exec that closed this pipe: it is there now (and
		 * the console socket reads EOF otherwise, so this never blocks). */
		if (s->console >= 0)
			on_console(s);
		s->phase = RUNNING;
		if (!channel_send("started"))
			abandon(s);
	}
	/* EOF before `go`: the child died early; on_child_exit reports it. */
}

static void on_child_exit(struct shim *s)
{
	if (s->phase == WAIT_GO || s->phase == WAIT_EXEC) {
		if (s->error_read >= 0)
			on_error_pipe(s); /* reports and exits if the child left a failure */
		if (s->phase != RUNNING) {
			channel_send("error init 0 the container's init died before exec (status %d)", s->status);
			_exit(1);
		}
	}
	s->phase = DRAINING;
}

/* "<1..65535>": false on anything else. */
static bool parse_size(const char *s, const char **end, unsigned short *out)
{
	unsigned long v = 0;
	const char *p = s;
	while (*p >= '0' && *p <= '9' && p - s < 6)
		v = v * 10 + (unsigned long)(*p++ - '0');
	*end = p;
	if (p == s || v < 1 || v > 65535)
		return false;
	*out = (unsigned short)v;
	return true;
}

/* `resize <rows> <cols>`: applied now, or once the master arrives; ignored without a tty. */
static void on_resize(struct shim *s, const char *args)
{
	unsigned short rows, cols;
	const char *p;
	if (!parse_size(args, &p, &rows) || *p != ' ' || !parse_size(p + 1, &p, &cols) || *p)
		return; /* malformed: berthd validates sizes, so this is a bug there; not fatal */
	if (s->master >= 0) {
		console_resize(s->master, rows, cols);
	} else if (s->console >= 0) {
		s->resize_pending = true;
		s->rows = rows;
		s->cols = cols;
	}
}

static void on_control_line(struct shim *s, const char *line)
{
	if (s->phase != WAIT_GO) {
		if (strncmp(line, "resize ", 7) == 0)
			on_resize(s, line + 7);
		return; /* other lines after `go` are reserved for later use */
	}
	if (strcmp(line, "go") != 0) {
		channel_send("error protocol %d expected go, received \"%s\"", EPROTO, line);
		abandon(s);
	}
	if (write(s->sync_write, "g", 1) != 1)
		abandon(s);
	close(s->sync_write);
	s->sync_write = -1;
	s->phase = WAIT_EXEC;
}

static void on_control(struct shim *s)
{
	if (channel_fill() <= 0) {
		s->control_open = false; /* berthd is gone: nobody will ever wait for this process */
		abandon(s);
	}
	for (char *line; (line = channel_next_line());)
		on_control_line(s, line);
}

static void loop(struct shim *s)
{
	for (;;) {
		struct pollfd p[4 + RELAY_MAX_POLLFDS];
		size_t n = 0;
		int control = -1, console = -1, error_pipe = -1, child = -1;
		if (s->control_open)
			control = (int)n, p[n++] = (struct pollfd){ .fd = CONTROL_FD, .events = POLLIN };
		if (s->console >= 0)
			console = (int)n, p[n++] = (struct pollfd){ .fd = s->console, .events = POLLIN };
		if (s->error_read >= 0)
			error_pipe = (int)n, p[n++] = (struct pollfd){ .fd = s->error_read, .events = POLLIN };
		if (!s->reaped && s->pidfd >= 0)
			child = (int)n, p[n++] = (struct pollfd){ .fd = s->pidfd, .events = POLLIN };
		size_t relay_at = n;
		n += relay_poll_fds(s->relay, p + n);

		int timeout = -1;
		if (!s->reaped && s->pidfd < 0)
			timeout = 100;
		if (s->phase == DRAINING)
			timeout = DRAIN_IDLE_MS;
		int r = poll(p, n, timeout);
		if (r < 0 && errno != EINTR)
			abandon(s);
		if (r < 0)
			continue;

		if (control >= 0 && p[control].revents)
			on_control(s);
		if (console >= 0 && p[console].revents && s->console >= 0)
			on_console(s); /* before the error pipe: its EOF means `started` */
		if (error_pipe >= 0 && p[error_pipe].revents && s->error_read >= 0)
			on_error_pipe(s);
		relay_pump(s->relay, p + relay_at, n - relay_at);
		bool exited_now = false;
		if (!s->reaped && (child < 0 || p[child].revents)) {
			reap(s, false);
			if (s->reaped) {
				on_child_exit(s);
				exited_now = true;
			}
		}
		/* r == 0: the output has been idle for DRAIN_IDLE_MS since the exit (not the poll
		 * that saw the exit, which may have timed out waiting for it without a pidfd). */
		if (s->phase == DRAINING && (relay_outputs_done(s->relay) || (r == 0 && !exited_now)))
			return;
	}
}

int shim_main(struct shim_start *start)
{
	signal(SIGPIPE, SIG_IGN); /* a closed stdio socket is an EPIPE, not our death */
	struct shim s = { .phase = WAIT_GO, .pid = start->pid, .sync_write = start->sync_write,
			  .error_read = start->error_read, .console = start->console, .master = -1,
			  .control_open = true, .relay = start->relay };
	s.pidfd = (int)syscall(SYS_pidfd_open, s.pid, 0);
	if (!channel_send("pid %d", s.pid))
		abandon(&s);
	for (char *line; (line = channel_next_line());) /* `go` may already be buffered */
		on_control_line(&s, line);
	loop(&s);
	relay_finish(s.relay);

	int code = WIFEXITED(s.status) ? WEXITSTATUS(s.status) : 128 + WTERMSIG(s.status);
	int sig = WIFSIGNALED(s.status) ? WTERMSIG(s.status) : 0;
	channel_send("exit %d %d", code, sig);
	return 0;
}
