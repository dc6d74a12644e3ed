/* `run`, the parent side up to the clone; it then stays as the container's shim (shim.c):
 *
 *   read spec ─ pipes, relay ─ clone(new pid/mnt/uts/ipc[/net]) ─ shim_main */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

static pid_t clone_child(unsigned long flags)
{
	/* fork semantics (no new stack): flags first, the other arguments NULL on every arch. */
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

int run_main(void)
{
	struct spec spec;
	spec_read(&spec, MODE_RUN);

	struct child_fds fds;
	struct shim_start start;
	shim_prepare(&spec, &fds, &start);
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

	shim_close_child_ends(&fds);
	start.pid = pid;
	return shim_main(&start);
}
