/* `run`, the parent side, which stays as the container's shim (named berth-shim):
 *
 *   read spec ─ clone(new pid/mnt/uts/ipc[/net]) ─ `pid N` ─ wait `go` ─ release the child
 *     ─ error pipe: a failure → `error ...`, exit 1 │ EOF at exec → `started`
 *     ─ relay stdio, wait for the child ─ drain its output ─ `exit CODE SIGNAL`, exit 0
 *
 * berthd closing fd 3 at any point (it died, or gave up on this start) SIGKILLs the child.
 * One poll loop watches fd 3, the error pipe, the child (a pidfd) and the stdio relay. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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
	bool control_open; /* berthd still there */
	bool reaped;
	int status;
	struct relay *relay;
};

static pid_t clone_child(unsigned long flags)
{
	/* fork semantics (no new stack): flags first, the other arguments NULL on every arch. */
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
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

static void on_control_line(struct shim *s, const char *line)
{
	if (s->phase != WAIT_GO)
		return; /* lines after `go` are reserved for later use */
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
		s->control_open = false; /* berthd is gone: nobody will ever wait for this container */
		abandon(s);
	}
	for (char *line; (line = channel_next_line());)
		on_control_line(s, line);
}

static void loop(struct shim *s)
{
	for (;;) {
		struct pollfd p[3 + RELAY_MAX_POLLFDS];
		size_t n = 0;
		int control = -1, error_pipe = -1, child = -1;
		if (s->control_open)
			control = (int)n, p[n++] = (struct pollfd){ .fd = CONTROL_FD, .events = POLLIN };
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
		if (error_pipe >= 0 && p[error_pipe].revents)
			on_error_pipe(s);
		relay_pump(s->relay, p + relay_at, n - relay_at);
		if (!s->reaped && (child < 0 || p[child].revents)) {
			reap(s, false);
			if (s->reaped)
				on_child_exit(s);
		}
		if (s->phase == DRAINING && (relay_outputs_done(s->relay) || r == 0))
			return;
	}
}

int run_main(void)
{
	struct spec spec;
	spec_read(&spec);

	int sync[2], err[2], child_stdio[3];
	if (pipe2(sync, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
		fail("pipe", errno, "pipe: %s", errstr(errno));
	struct relay *relay = relay_create(child_stdio);
	struct init_fds fds = { .sync_read = sync[0], .error_write = err[1], .netns = -1,
				.stdio = { child_stdio[0], child_stdio[1], child_stdio[2] },
				.parent_only = { sync[1], err[0], -1, -1, -1, -1, -1, -1 } };
	if (spec.net == NET_PATH) {
		fds.netns = open(spec.net_path, O_RDONLY | O_CLOEXEC);
		if (fds.netns < 0)
			fail("netns", errno, "open %s: %s", spec.net_path, errstr(errno));
	}

	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
	if (spec.net == NET_NEW)
		flags |= CLONE_NEWNET;
	pid_t pid = clone_child(flags);
	if (pid < 0)
		fail("clone", errno, "clone: %s", errstr(errno));
	if (pid == 0)
		init_main(&spec, &fds);

	close(sync[0]);
	close(err[1]);
	if (fds.netns >= 0)
		close(fds.netns);
	relay_close_child_ends(child_stdio);
	signal(SIGPIPE, SIG_IGN); /* a closed stdio socket is an EPIPE, not our death */

	struct shim s = { .phase = WAIT_GO, .pid = pid, .sync_write = sync[1], .error_read = err[0],
			  .control_open = true, .relay = relay };
	s.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (!channel_send("pid %d", pid))
		abandon(&s);
	for (char *line; (line = channel_next_line());) /* `go` may already be buffered */
		on_control_line(&s, line);
	loop(&s);

	int code = WIFEXITED(s.status) ? WEXITSTATUS(s.status) : 128 + WTERMSIG(s.status);
	int sig = WIFSIGNALED(s.status) ? WTERMSIG(s.status) : 0;
	channel_send("exit %d %d", code, sig);
	return 0;
}
