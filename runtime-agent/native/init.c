/* `run`, the child side: the container's init from clone to exec. It runs in the new pid,
 * mount, uts, ipc (and net) namespaces; every failure goes to the parent through the error
 * pipe as a struct failure (fail.c), and a successful exec closes that pipe (O_CLOEXEC). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

/* Blocks until the parent relays berthd's `go` (berthd has put us in our cgroup meanwhile). */
static void await_go(int fd)
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

static void setup_stdio(const struct spec *spec, const struct init_fds *fds)
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

_Noreturn void init_main(const struct spec *spec, const struct init_fds *fds)
{
	fail_to_pipe(fds->error_write);
	prctl(PR_SET_NAME, "berth-init", 0, 0, 0);
	for (size_t i = 0; i < sizeof fds->parent_only / sizeof fds->parent_only[0]; i++)
		if (fds->parent_only[i] >= 0)
			close(fds->parent_only[i]);
	close(CONTROL_FD); /* berthd talks to the parent only */
	/* If the shim dies, so do we (re-armed after setuid, which clears it). */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

	if (fds->netns >= 0) {
		if (setns(fds->netns, CLONE_NEWNET) != 0)
			fail("netns", errno, "setns %s: %s", spec->net_path, errstr(errno));
		close(fds->netns);
	}
	await_go(fds->sync_read);
	if (spec->net == NET_NEW || spec->net == NET_PATH)
		net_loopback_up();

	/* Our cgroup namespace is rooted at the cgroup berthd just put us in. */
	if (unshare(CLONE_NEWCGROUP) != 0)
		fail("cgroupns", errno, "unshare(CLONE_NEWCGROUP): %s", errstr(errno));
	setup_stdio(spec, fds);
	umask(0);
	int root = rootfs_prepare(spec);
	if (spec->hostname[0] && sethostname(spec->hostname, strlen(spec->hostname)) != 0)
		fail("hostname", errno, "sethostname \"%s\": %s", spec->hostname, errstr(errno));
	rootfs_pivot(root);
	if (chdir(spec->cwd) != 0)
		fail("chdir", errno, "chdir to cwd (\"%s\") set in config failed: %s", spec->cwd,
		     errstr(errno));

	process_limits(spec);
	caps_prepare(spec->caps);
	process_identity(spec);
	caps_apply(spec->caps, spec->uid);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (spec->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fail("no-new-privileges", errno, "prctl(PR_SET_NO_NEW_PRIVS): %s", errstr(errno));
	umask(022);
	process_exec(spec);
}
