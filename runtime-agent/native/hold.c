/* `hold`: a container's filesystem without its process, for berthd's archive, export and
 * browse APIs. It forks nothing and execs nothing:
 *
 *   read spec ─ unshare(NEWNS) ─ rootfs + mounts (rootfs.c) ─ pivot_root ─ `ready`
 *     ─ wait for EOF on fd 3 ─ exit 0
 *
 * berthd reaches the tree through /proc/<pid>/root. When fd 3 closes (berthd released the
 * hold, or died) the process exits and the kernel drops every mount with its namespace, so
 * nothing can be left mounted on the host. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

/* Rewrites the argv area (the strings /proc/<pid>/cmdline shows) to `berth-hold <target>`, as
 * setproctitle does, so `ps` and leak checks see what the process holds. The strings are laid
 * out back to back by the kernel; the title only fits if it is no longer than they were. */
static void set_title(int argc, char **argv, const char *target)
{
	static const char name[] = "berth-hold";
	char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	for (int i = 1; i < argc; i++)
		if (argv[i] != argv[i - 1] + strlen(argv[i - 1]) + 1)
			return; /* not the kernel's layout: leave it */
	size_t need = sizeof name + strlen(target) + 1;
	if (need > (size_t)(end - start))
		return;
	memset(start, 0, (size_t)(end - start));
	memcpy(start, name, sizeof name);
	memcpy(start + sizeof name, target, strlen(target));
}

int hold_main(int argc, char **argv)
{
	struct spec spec;
	spec_read(&spec, MODE_HOLD);
	/* main() let a TARGET argument through for ps: it must name what the spec mounts */
	if (argc == 3 && strcmp(argv[2], spec.target) != 0)
		fail("spec", EINVAL, "the command line names %s but the spec's target is %s", argv[2], spec.target);
	set_title(argc, argv, spec.target);

	if (unshare(CLONE_NEWNS) != 0)
		fail("unshare", errno, "unshare the mount namespace: %s", errstr(errno));
	rootfs_pivot(rootfs_hold(&spec));
	if (!channel_send("ready"))
		return 1; /* berthd is already gone */

	/* berthd sends nothing more; anything it does send is ignored. */
	char buf[256];
	ssize_t n;
	while ((n = read(CONTROL_FD, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		;
	return 0;
}
