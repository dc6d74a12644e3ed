/* The first steps of the child in both modes (the container's init for `run`, the exec'd
 * process for `exec`): report failures through the error pipe, drop the parent's fds, wait
 * for berthd's `go`, take stdio. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "helper.h"

void child_begin(const struct child_fds *fds, const char *name)
{
	fail_to_pipe(fds->error_write);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	for (size_t i = 0; i < sizeof fds->parent_only / sizeof fds->parent_only[0]; i++)
		if (fds->parent_only[i] >= 0)
			close(fds->parent_only[i]);
	close(CONTROL_FD); /* berthd talks to the parent only */
	/* If the shim dies, so do we (re-armed after setuid, which clears it). */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* (A shim that died before this closed the sync pipe: child_await_go then gives up.) */
}

void child_await_go(int fd)
{
	char byte;
	ssize_t n;
	do
		n = read(fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(1); /* the parent aborted the start, or died: nobody to report to */
	close(fd);
}

void child_stdio(const struct spec *spec, const struct child_fds *fds)
{
	int in = fds->stdio[0];
	if (in < 0 && !spec->open_stdin) {
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in < 0)
			fail("stdio", errno, "open /dev/null: %s", errstr(errno));
	}
	int fd[3] = { in, fds->stdio[1], fds->stdio[2] };
	for (int i = 0; i < 3; i++) {
		if (fd[i] < 0)
			continue;
		if (dup2(fd[i], i) != i)
			fail("stdio", errno, "dup2 onto fd %d: %s", i, errstr(errno));
		close(fd[i]);
	}
}
