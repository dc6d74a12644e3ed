/* `--init`: the container's PID 1 stays ours (still named berth-init), as tini does for
 * Docker. After the whole setup (user, capabilities, no_new_privs, the terminal) it forks:
 * the child execs the command in a process group of its own (the terminal's foreground group
 * with a tty, so ^C and SIGWINCH reach it directly); PID 1 forwards every signal it gets to
 * the child, reaps every process that ends up its child, and exits with the child's status
 * (128+N when a signal N killed it) once the child has ended — the kernel then kills what is
 * left of the pid namespace.
 *
 * Signals are blocked and taken with sigwaitinfo rather than caught by handlers: a blocked
 * signal is queued even for a pid namespace's init (which otherwise drops what it has no
 * handler for), and nothing can arrive between fork and the loop unseen. The signals a fault
 * raises synchronously (SIGSEGV...) stay unblocked. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

static const int synchronous[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS };

/* Reaps every exited child; true once `child` is among them (its status in *status). */
static bool reap_all(pid_t child, int *status)
{
	bool done = false;
	for (;;) {
		int st;
		pid_t r = waitpid(-1, &st, WNOHANG);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return done;
		if (r == child) {
			*status = st;
			done = true;
		}
	}
}

_Noreturn void reaper_main(const struct spec *spec, int error_write)
{
	sigset_t forwarded;
	sigfillset(&forwarded);
	for (size_t i = 0; i < sizeof synchronous / sizeof synchronous[0]; i++)
		sigdelset(&forwarded, synchronous[i]);
	if (sigprocmask(SIG_BLOCK, &forwarded, NULL) != 0)
		fail("init", errno, "block signals: %s", errstr(errno));

	pid_t child = fork();
	if (child < 0)
		fail("init", errno, "fork: %s", errstr(errno));
	if (child == 0) {
		/* Still failing through the error pipe; signals stay blocked until exec, so the
		 * terminal's SIGTTOU cannot stop tcsetpgrp from this background group. */
		if (setpgid(0, 0) != 0)
			fail("init", errno, "setpgid: %s", errstr(errno));
		if (spec->tty && tcsetpgrp(0, getpid()) != 0)
			fail("init", errno, "make the command the terminal's foreground (tcsetpgrp): %s",
			     errstr(errno));
		process_exec(spec);
	}
	close(error_write); /* EOF once the child has exec'd: the shim says `started` */

	int status = 0;
	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(&forwarded, &info);
		if (sig < 0)
			continue; /* EINTR */
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		if (reap_all(child, &status))
			break;
	}
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}
