/* `run`, the child side: the container's init from clone to exec. It runs in the new pid,
 * mount, uts, ipc (and net) namespaces; every failure goes to the parent through the error
 * pipe as a struct failure (fail.c), and a successful exec closes that pipe (O_CLOEXEC). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

_Noreturn void init_main(const struct spec *spec, const struct child_fds *fds)
{
	child_begin(fds, "berth-init");
	if (fds->netns >= 0) {
		if (setns(fds->netns, CLONE_NEWNET) != 0)
			fail("netns", errno, "setns %s: %s", spec->net_path, errstr(errno));
		close(fds->netns);
	}
	child_await_go(fds->sync_read);
	if (spec->net == NET_NEW || spec->net == NET_PATH)
		net_loopback_up();
	net_interfaces_up(spec); /* net=new only (spec.c) */

	/* Our cgroup namespace is rooted at the cgroup berthd just put us in. */
	if (unshare(CLONE_NEWCGROUP) != 0)
		fail("cgroupns", errno, "unshare(CLONE_NEWCGROUP): %s", errstr(errno));
	if (!spec->tty)
		child_stdio(spec, fds);
	umask(0);
	int root = rootfs_prepare(spec);
	if (spec->hostname[0] && sethostname(spec->hostname, strlen(spec->hostname)) != 0)
		fail("hostname", errno, "sethostname \"%s\": %s", spec->hostname, errstr(errno));
	rootfs_pivot(root);
	if (spec->tty)
		console_setup(spec, fds->console); /* the container's own /dev/ptmx */
	if (chdir(spec->cwd) != 0)
		fail("chdir", errno, "chdir to cwd (\"%s\") set in config failed: %s", spec->cwd,
		     errstr(errno));

	process_drop_privileges(spec);
	if (spec->init)
		reaper_main(spec, fds->error_write);
	process_exec(spec);
}
