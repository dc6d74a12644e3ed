/* /dev in the fresh tmpfs: Docker's default nodes and symlinks, or every host device node for
 * a privileged container. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "helper.h"

static const struct {
	const char *name;
	unsigned major, minor;
} default_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct {
	const char *name, *target;
} default_links[] = {
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" },
};

/* mknod, or, where the devices cgroup refuses it, a bind mount of the host's node. */
static void make_node(int dev, const char *name, mode_t mode, dev_t rdev, uid_t uid, gid_t gid)
{
	if (mknodat(dev, name, mode, rdev) == 0) {
		if (fchownat(dev, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
			fail("mount-dev", errno, "chown /dev/%s: %s", name, errstr(errno));
		return;
	}
	if (errno == EEXIST)
		return;
	if (errno != EPERM)
		fail("mount-dev", errno, "mknod /dev/%s: %s", name, errstr(errno));
	int f = openat(dev, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (f < 0)
		fail("mount-dev", errno, "create /dev/%s: %s", name, errstr(errno));
	char host[PATH_MAX];
	snprintf(host, sizeof host, "/dev/%s", name);
	if (mount(host, fd_path(f).s, NULL, MS_BIND, NULL) != 0)
		fail("mount-dev", errno, "bind %s: %s", host, errstr(errno));
	close(f);
}

static bool skipped_host_entry(const char *name)
{
	static const char *const skip[] = { ".", "..", "pts", "shm", "mqueue", "fd", "console", "ptmx", ".udev" };
	for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
		if (strcmp(name, skip[i]) == 0)
			return true;
	return false;
}

/* Copies the device nodes under host /dev/<rel> into the container's /dev/<rel>. */
static void copy_host_devices(int dev, const char *rel, int depth)
{
	char host[PATH_MAX];
	snprintf(host, sizeof host, "/dev/%s", rel);
	DIR *d = opendir(host);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (skipped_host_entry(e->d_name))
			continue;
		char name[PATH_MAX];
		snprintf(name, sizeof name, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 4) {
			if (mkdirat(dev, name, st.st_mode & 07777) != 0 && errno != EEXIST)
				fail("mount-dev", errno, "mkdir /dev/%s: %s", name, errstr(errno));
			copy_host_devices(dev, name, depth + 1);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			make_node(dev, name, st.st_mode & (S_IFMT | 07777), st.st_rdev, st.st_uid, st.st_gid);
		}
	}
	closedir(d);
}

void devices_setup(int root, bool privileged)
{
	int dev = root_open(root, "/dev", CREATE_NONE);
	if (dev < 0)
		fail("mount-dev", errno, "open /dev in the rootfs: %s", errstr(errno));
	for (size_t i = 0; i < sizeof default_nodes / sizeof default_nodes[0]; i++)
		make_node(dev, default_nodes[i].name, S_IFCHR | 0666,
			  makedev(default_nodes[i].major, default_nodes[i].minor), 0, 0);
	if (privileged)
		copy_host_devices(dev, "", 0);
	for (size_t i = 0; i < sizeof default_links / sizeof default_links[0]; i++)
		if (symlinkat(default_links[i].target, dev, default_links[i].name) != 0 && errno != EEXIST)
			fail("mount-dev", errno, "symlink /dev/%s: %s", default_links[i].name, errstr(errno));
	close(dev);
}
