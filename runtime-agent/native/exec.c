/* `exec` (docker exec), both sides. The parent joins the running container's ipc, uts, net,
 * cgroup and pid namespaces (the pid one applies to its children), forks, and stays as the
 * exec'd process's shim (shim.c). The child, in the container's pid namespace, waits for
 * `go` (berthd puts it in the container's cgroup meanwhile), then joins the mount namespace —
 * its root and cwd become the container's — and goes through run's last steps: chdir, the
 * terminal, the container's rlimits and OOM score (read by the parent), capabilities, user,
 * no_new_privs, exec.
 *
 * The namespaces are joined through a pidfd of the container's init, so a PID reused since
 * berthd read it cannot send us elsewhere: pidfd_open fails (ESRCH) for a process that is
 * gone, and setns through a pidfd joins that very process's namespaces. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

#define JOINED_BY_SHIM (CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWPID)

static int open_container(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 && errno == ESRCH)
		fail("namespaces", errno, "the container's process %d is not running", (int)pid);
	if (fd < 0)
		fail("namespaces", errno, "pidfd_open %d: %s", (int)pid, errstr(errno));
	return fd;
}

static _Noreturn void exec_child(const struct spec *spec, const struct child_fds *fds, int container)
{
	child_begin(fds, "berth-exec");
	child_await_go(fds->sync_read);
	if (!spec->tty)
		child_stdio(spec, fds); /* /dev/null, from the host, before the mount namespace */
	if (setns(container, CLONE_NEWNS) != 0)
		fail("namespaces", errno, "join the container's mount namespace: %s", errstr(errno));
	close(container);
	if (chdir(spec->cwd) != 0)
		fail("chdir", errno, "chdir to cwd (\"%s\") set in config failed: %s", spec->cwd,
		     errstr(errno));
	if (spec->tty)
		console_setup(spec, fds->console); /* the container's /dev/ptmx */

	process_drop_privileges(spec); /* limits: the container init's, read by the parent */
	process_exec(spec);
}

int exec_main(void)
{
	struct spec spec;
	spec_read(&spec, MODE_EXEC);

	int container = open_container(spec.container_pid);
	if (setns(container, JOINED_BY_SHIM) != 0) {
		if (errno == ESRCH)
			fail("namespaces", errno, "the container's process %d is not running",
			     (int)spec.container_pid);
		fail("namespaces", errno, "join the namespaces of process %d: %s",
		     (int)spec.container_pid, errstr(errno));
	}

	process_read_limits(spec.container_pid, &spec);

	struct child_fds fds;
	struct shim_start start;
	shim_prepare(&spec, &fds, &start);
	pid_t pid = fork(); /* into the container's pid namespace */
	if (pid < 0 && errno == ENOMEM) /* the namespace's init has just exited */
		fail("namespaces", errno, "the container's process %d is not running",
		     (int)spec.container_pid);
	if (pid < 0)
		fail("fork", errno, "fork: %s", errstr(errno));
	if (pid == 0)
		exec_child(&spec, &fds, container);

	close(container);
	shim_close_child_ends(&fds);
	start.pid = pid;
	return shim_main(&start);
}
