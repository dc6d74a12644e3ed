/* The container's filesystem, in runc's order: propagation, overlay, /proc, /dev (+ nodes,
 * pts, shm, mqueue), /sys, /sys/fs/cgroup, the spec's mounts, masked and read-only paths,
 * the working directory, a read-only rootfs; then (after sethostname) pivot_root. For `hold`,
 * only propagation, the rootfs and the spec's mounts. Every container path is resolved
 * inside the rootfs (mounts.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
struct mount_attr {
	__u64 attr_set, attr_clr, propagation, userns_fd;
};
#endif

#define CONTAINER_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* Mounts a filesystem on `dst` inside the rootfs, creating the directory if needed. */
static void mount_fs(int root, const char *stage, const char *dst, const char *type,
		     unsigned long flags, const char *data)
{
	int fd = root_open(root, dst, CREATE_DIR);
	if (fd < 0)
		fail(stage, errno, "mkdir %s in the rootfs: %s", dst, errstr(errno));
	if (mount(type, fd_path(fd).s, type, flags, data) != 0)
		fail(stage, errno, "mount %s on %s: %s", type, dst, errstr(errno));
	close(fd);
}

/* lowerdir=a:b,upperdir=u,workdir=w, with `names[i]` for the lower dirs when given; without
 * an upper dir (hold), lowerdir alone: a read-only overlay. */
static char *overlay_options(const struct spec *spec, char **names)
{
	size_t cap = 64 + (spec->upper ? strlen(spec->upper) + strlen(spec->work) : 0);
	for (size_t i = 0; i < spec->lower.n; i++)
		cap += strlen(names ? names[i] : spec->lower.v[i]) + 1;
	char *data = malloc(cap);
	if (!data)
		fail("mount-rootfs", ENOMEM, "out of memory");
	size_t n = (size_t)snprintf(data, cap, "lowerdir=");
	for (size_t i = 0; i < spec->lower.n; i++)
		n += (size_t)snprintf(data + n, cap - n, "%s%s", i ? ":" : "", names ? names[i] : spec->lower.v[i]);
	if (spec->upper)
		snprintf(data + n, cap - n, ",upperdir=%s,workdir=%s", spec->upper, spec->work);
	return data;
}

/* The kernel takes one page of mount options. Past that (dozens of layers), each lower dir is
 * named by an fd instead, /proc/self/fd/N, about a fifth of a layer path's length. */
static void mount_overlay(const struct spec *spec, unsigned long flags)
{
	char *data = overlay_options(spec, NULL);
	int *fds = NULL;
	char **names = NULL;
	if (strlen(data) >= (size_t)sysconf(_SC_PAGESIZE)) {
		fds = calloc(spec->lower.n, sizeof *fds);
		names = calloc(spec->lower.n, sizeof *names);
		if (!fds || !names)
			fail("mount-rootfs", ENOMEM, "out of memory");
		for (size_t i = 0; i < spec->lower.n; i++) {
			fds[i] = open(spec->lower.v[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fds[i] < 0)
				fail("mount-rootfs", errno, "open %s: %s", spec->lower.v[i], errstr(errno));
			struct fd_path p = fd_path(fds[i]);
			names[i] = strdup(p.s);
			if (!names[i])
				fail("mount-rootfs", ENOMEM, "out of memory");
		}
		free(data);
		data = overlay_options(spec, names);
	}
	if (mount("overlay", spec->target, "overlay", flags, data) != 0)
		fail("mount-rootfs", errno, "mount overlay on %s: %s", spec->target, errstr(errno));
	for (size_t i = 0; fds && i < spec->lower.n; i++) {
		close(fds[i]);
		free(names[i]);
	}
	free(fds);
	free(names);
	free(data);
}

static int set_mount_attr(int root, const char *dst, unsigned long long attr)
{
#ifdef SYS_mount_setattr
	int fd = root_open(root, dst, CREATE_NONE);
	if (fd < 0)
		return -1;
	struct mount_attr a = { .attr_set = attr };
	int r = (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a);
	close(fd);
	return r;
#else
	(void)root, (void)dst, (void)attr;
	errno = ENOSYS;
	return -1;
#endif
}

/* sysfs belongs to a network namespace; without a new one (net=host or a path we do not own)
 * mounting it can be refused: then show the host's /sys, read-only all the way down. */
static void mount_sys(int root, const struct spec *spec)
{
	unsigned long ro = spec->privileged ? 0 : MS_RDONLY;
	int fd = root_open(root, "/sys", CREATE_DIR);
	if (fd < 0)
		fail("mount-sys", errno, "mkdir /sys in the rootfs: %s", errstr(errno));
	if (mount("sysfs", fd_path(fd).s, "sysfs", CONTAINER_FLAGS | ro, NULL) == 0) {
		close(fd);
		return;
	}
	int err = errno;
	if (spec->net == NET_NEW || (err != EPERM && err != EBUSY))
		fail("mount-sys", err, "mount sysfs on /sys: %s", errstr(err));
	if (mount("/sys", fd_path(fd).s, NULL, MS_BIND | MS_REC, NULL) != 0)
		fail("mount-sys", errno, "bind /sys on /sys: %s", errstr(errno));
	close(fd);
	if (!ro)
		return;
	if (set_mount_attr(root, "/sys", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					      MOUNT_ATTR_NOEXEC) != 0 &&
	    remount_bind(root, "/sys", CONTAINER_FLAGS | MS_RDONLY) != 0)
		fail("mount-sys", errno, "remount /sys read-only: %s", errstr(errno));
}

/* cgroup v2: the container's own subtree (we are in a new cgroup namespace rooted at the
 * cgroup berthd put us in). cgroup v1: an empty read-only tmpfs. */
static void mount_cgroup(int root, const struct spec *spec)
{
	unsigned long ro = spec->privileged ? 0 : MS_RDONLY;
	struct statfs st;
	if (statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
		mount_fs(root, "mount-cgroup", "/sys/fs/cgroup", "cgroup2", CONTAINER_FLAGS | ro, NULL);
	else
		mount_fs(root, "mount-cgroup", "/sys/fs/cgroup", "tmpfs", CONTAINER_FLAGS | MS_RDONLY,
			 "mode=755,size=0");
}

static void mount_extra(int root, const struct mount_entry *m)
{
	struct mount_options o;
	if (!mount_options_parse(m->options, &o))
		fail("mount", EINVAL, "mount %s: options too long", m->destination);
	bool bind = o.bind || strcmp(m->type, "bind") == 0;
	enum create_kind kind = CREATE_DIR;
	if (bind) {
		struct stat st;
		if (stat(m->source, &st) != 0)
			fail("mount", errno, "stat %s: %s", m->source, errstr(errno));
		kind = S_ISDIR(st.st_mode) ? CREATE_DIR : CREATE_FILE;
	}
	int fd = root_open(root, m->destination, kind);
	if (fd < 0)
		fail("mount", errno, "mkdir %s in the rootfs: %s", m->destination, errstr(errno));
	int r = bind ? mount(m->source, fd_path(fd).s, NULL, MS_BIND | (o.recursive ? MS_REC : 0), NULL)
		     : mount(m->source, fd_path(fd).s, m->type, o.flags, o.data);
	if (r != 0)
		fail("mount", errno, "mount %s on %s: %s", m->source, m->destination, errstr(errno));
	close(fd);
	/* A bind mount takes its flags from a second, remounting call. */
	if (bind && (o.flags & (MS_RDONLY | CONTAINER_FLAGS | MS_NOATIME | MS_NODIRATIME | MS_RELATIME)) &&
	    remount_bind(root, m->destination, o.flags) != 0)
		fail("mount", errno, "remount %s with its options: %s", m->destination, errstr(errno));
	if (o.propagation) {
		fd = root_open(root, m->destination, CREATE_NONE);
		if (fd < 0 || mount(NULL, fd_path(fd).s, NULL, o.propagation, NULL) != 0)
			fail("mount", errno, "set the propagation of %s: %s", m->destination, errstr(errno));
		close(fd);
	}
}

/* Masked: an empty read-only tmpfs over a directory, /dev/null over anything else. */
static void mask_path(int root, const char *path)
{
	int fd = root_open(root, path, CREATE_NONE);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return;
		fail("mask", errno, "open %s: %s", path, errstr(errno));
	}
	struct stat st;
	int r = fstat(fd, &st);
	if (r == 0 && S_ISDIR(st.st_mode))
		r = mount("tmpfs", fd_path(fd).s, "tmpfs", MS_RDONLY | CONTAINER_FLAGS, "size=0");
	else if (r == 0)
		r = mount("/dev/null", fd_path(fd).s, NULL, MS_BIND, NULL);
	if (r != 0)
		fail("mask", errno, "mask %s: %s", path, errstr(errno));
	close(fd);
}

static void readonly_path(int root, const char *path)
{
	int fd = root_open(root, path, CREATE_NONE);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return;
		fail("readonly", errno, "open %s: %s", path, errstr(errno));
	}
	if (mount(fd_path(fd).s, fd_path(fd).s, NULL, MS_BIND | MS_REC, NULL) != 0)
		fail("readonly", errno, "bind %s on itself: %s", path, errstr(errno));
	close(fd);
	if (remount_bind(root, path, MS_RDONLY) != 0)
		fail("readonly", errno, "remount %s read-only: %s", path, errstr(errno));
}

/* Nothing mounted from here on may propagate back to the host. */
static void make_root_rslave(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
		fail("mount-propagation", errno, "make / rslave: %s", errstr(errno));
}

static int open_rootfs(const struct spec *spec)
{
	int root = open(spec->target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		fail("mount-rootfs", errno, "open %s: %s", spec->target, errstr(errno));
	return root;
}

int rootfs_prepare(const struct spec *spec)
{
	make_root_rslave();
	mount_overlay(spec, 0);
	int root = open_rootfs(spec);

	mount_fs(root, "mount-proc", "/proc", "proc", CONTAINER_FLAGS, NULL);
	mount_fs(root, "mount-dev", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	devices_setup(root, spec->privileged);
	mount_fs(root, "mount-devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		 "newinstance,ptmxmode=0666,mode=0620,gid=5");
	mount_fs(root, "mount-shm", "/dev/shm", "tmpfs", CONTAINER_FLAGS, "mode=1777,size=65536k");
	mount_fs(root, "mount-mqueue", "/dev/mqueue", "mqueue", CONTAINER_FLAGS, NULL);
	mount_sys(root, spec);
	mount_cgroup(root, spec);
	for (size_t i = 0; i < spec->nmounts; i++)
		mount_extra(root, &spec->mounts[i]);
	for (size_t i = 0; i < spec->masked.n; i++)
		mask_path(root, spec->masked.v[i]);
	for (size_t i = 0; i < spec->readonly_paths.n; i++)
		readonly_path(root, spec->readonly_paths.v[i]);

	/* Like Docker, a missing working directory is created (root-owned), before the rootfs
	 * may turn read-only. */
	int cwd = root_open(root, spec->cwd, CREATE_DIR);
	if (cwd >= 0)
		close(cwd);
	if (spec->rootfs_readonly && remount_bind(root, "/", MS_RDONLY) != 0)
		fail("mount-rootfs", errno, "remount the rootfs read-only: %s", errstr(errno));
	return root;
}

/* A hold's tree is data for berthd, never code or devices to it: berthd runs as root outside
 * any devices cgroup, so a device node in an image or a volume must not open through a hold. */
#define HOLD_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* A bind source that is missing gets a stage of its own, so berthd can say `not found`. */
static void check_bind_source(const struct mount_entry *m, const struct mount_options *o)
{
	struct stat st;
	if (!(o->bind || strcmp(m->type, "bind") == 0) || stat(m->source, &st) == 0)
		return;
	if (errno == ENOENT)
		fail("mount-source", errno, "bind source path does not exist: %s", m->source);
	fail("mount-source", errno, "bind source path %s: %s", m->source, errstr(errno));
}

int rootfs_hold(const struct spec *spec)
{
	make_root_rslave();
	if (spec->upper || spec->lower.n > 1) {
		mount_overlay(spec, HOLD_FLAGS | (spec->upper ? 0 : MS_RDONLY));
	} else {
		/* overlay wants two lower dirs without an upper one */
		if (mount(spec->lower.v[0], spec->target, NULL, MS_BIND, NULL) != 0)
			fail("mount-rootfs", errno, "bind %s on %s: %s", spec->lower.v[0], spec->target, errstr(errno));
		/* read-only before anything is mounted under it: no mount point is created in the layer */
		if (mount(NULL, spec->target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | HOLD_FLAGS, NULL) != 0)
			fail("mount-rootfs", errno, "remount %s read-only: %s", spec->target, errstr(errno));
	}
	int root = open_rootfs(spec);
	for (size_t i = 0; i < spec->nmounts; i++) {
		const struct mount_entry *m = &spec->mounts[i];
		if (strcmp(m->type, "tmpfs") == 0)
			continue; /* a tmpfs holds data only inside the running container: a new one is empty */
		struct mount_options o;
		if (!mount_options_parse(m->options, &o))
			fail("mount", EINVAL, "mount %s: options too long", m->destination);
		check_bind_source(m, &o);
		/* The hold's flags last, so they win over the spec's `dev`, `suid` or `exec`. */
		size_t len = strlen(m->options) + sizeof ",nosuid,nodev,noexec";
		char *options = malloc(len);
		if (!options)
			fail("mount", ENOMEM, "out of memory");
		snprintf(options, len, "%s%snosuid,nodev,noexec", m->options, m->options[0] ? "," : "");
		struct mount_entry held = { m->source, m->destination, m->type, options };
		mount_extra(root, &held);
		free(options);
		/* ... and on the mounts an rbind brought along (-v /:/host has /host/dev) */
		if (set_mount_attr(root, m->destination, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) != 0 &&
		    errno != ENOSYS)
			fail("mount", errno, "make %s nosuid,nodev,noexec: %s", m->destination, errstr(errno));
	}
	return root;
}

void rootfs_pivot(int root)
{
	if (fchdir(root) != 0)
		fail("pivot-root", errno, "chdir to the rootfs: %s", errstr(errno));
	if (syscall(SYS_pivot_root, ".", ".") != 0)
		fail("pivot-root", errno, "pivot_root: %s", errstr(errno));
	/* The old root is now stacked on "."; detach it without telling anyone. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) != 0)
		fail("pivot-root", errno, "make the old root rslave: %s", errstr(errno));
	if (umount2(".", MNT_DETACH) != 0)
		fail("pivot-root", errno, "detach the old root: %s", errstr(errno));
	if (chdir("/") != 0)
		fail("pivot-root", errno, "chdir /: %s", errstr(errno));
	close(root);
}
