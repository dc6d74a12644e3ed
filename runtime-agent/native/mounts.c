/* Mount plumbing shared by the rootfs steps: mount(8)-style option parsing, and resolving
 * container paths inside the rootfs so that a symlink in an image (`/proc -> /`) or in a shared
 * volume can never send a mount outside it. Paths are opened with openat2(RESOLVE_IN_ROOT)
 * and mounts target the resulting fd through /proc/self/fd/N, so nothing is resolved twice. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} flag_options[] = {
	{ "defaults", false, 0 },
	{ "ro", false, MS_RDONLY },	   { "rw", true, MS_RDONLY },
	{ "nosuid", false, MS_NOSUID },	   { "suid", true, MS_NOSUID },
	{ "nodev", false, MS_NODEV },	   { "dev", true, MS_NODEV },
	{ "noexec", false, MS_NOEXEC },	   { "exec", true, MS_NOEXEC },
	{ "sync", false, MS_SYNCHRONOUS }, { "async", true, MS_SYNCHRONOUS },
	{ "dirsync", false, MS_DIRSYNC },
	{ "noatime", false, MS_NOATIME },  { "atime", true, MS_NOATIME },
	{ "nodiratime", false, MS_NODIRATIME }, { "diratime", true, MS_NODIRATIME },
	{ "relatime", false, MS_RELATIME }, { "norelatime", true, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME },
};

static const struct {
	const char *name;
	unsigned long flags;
} propagation_options[] = {
	{ "private", MS_PRIVATE },	     { "rprivate", MS_PRIVATE | MS_REC },
	{ "slave", MS_SLAVE },		     { "rslave", MS_SLAVE | MS_REC },
	{ "shared", MS_SHARED },	     { "rshared", MS_SHARED | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

static bool parse_one(const char *opt, struct mount_options *out)
{
	if (strcmp(opt, "bind") == 0 || strcmp(opt, "rbind") == 0) {
		out->bind = true;
		out->recursive = opt[0] == 'r';
		return true;
	}
	for (size_t i = 0; i < sizeof flag_options / sizeof flag_options[0]; i++) {
		if (strcmp(opt, flag_options[i].name) != 0)
			continue;
		if (flag_options[i].clear)
			out->flags &= ~flag_options[i].flag;
		else
			out->flags |= flag_options[i].flag;
		return true;
	}
	for (size_t i = 0; i < sizeof propagation_options / sizeof propagation_options[0]; i++) {
		if (strcmp(opt, propagation_options[i].name) == 0) {
			out->propagation = propagation_options[i].flags;
			return true;
		}
	}
	size_t used = strlen(out->data);
	int n = snprintf(out->data + used, sizeof out->data - used, "%s%s", used ? "," : "", opt);
	return n >= 0 && (size_t)n < sizeof out->data - used;
}

bool mount_options_parse(const char *csv, struct mount_options *out)
{
	*out = (struct mount_options){ 0 };
	char buf[sizeof out->data];
	if (snprintf(buf, sizeof buf, "%s", csv) >= (int)sizeof buf)
		return false;
	for (char *save, *opt = strtok_r(buf, ",", &save); opt; opt = strtok_r(NULL, ",", &save))
		if (!parse_one(opt, out))
			return false;
	return true;
}

static int open_in_root(int root_fd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN); /* a rename raced the lookup: retry */
	return fd;
}

int root_open(int root_fd, const char *path, enum create_kind create)
{
	int fd = open_in_root(root_fd, path);
	if (fd >= 0 || errno != ENOENT || create == CREATE_NONE)
		return fd;

	char parent[PATH_MAX];
	if (snprintf(parent, sizeof parent, "%s", path) >= (int)sizeof parent) {
		errno = ENAMETOOLONG;
		return -1;
	}
	size_t len = strlen(parent);
	while (len > 1 && parent[len - 1] == '/')
		parent[--len] = '\0';
	char *slash = strrchr(parent, '/');
	const char *base = slash ? slash + 1 : parent;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		errno = ENOENT;
		return -1;
	}
	char base_copy[NAME_MAX + 1];
	if (snprintf(base_copy, sizeof base_copy, "%s", base) >= (int)sizeof base_copy) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (slash)
		slash == parent ? (void)(parent[1] = '\0') : (void)(*slash = '\0');
	else
		strcpy(parent, ".");

	int dir = root_open(root_fd, parent, CREATE_DIR);
	if (dir < 0)
		return -1;
	int r;
	if (create == CREATE_DIR) {
		r = mkdirat(dir, base_copy, 0755);
	} else {
		r = openat(dir, base_copy, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (r >= 0)
			close(r);
	}
	int saved = errno;
	close(dir);
	if (r < 0 && saved != EEXIST) {
		errno = saved;
		return -1;
	}
	return open_in_root(root_fd, path);
}

struct fd_path fd_path(int fd)
{
	struct fd_path p;
	snprintf(p.s, sizeof p.s, "/proc/self/fd/%d", fd);
	return p;
}

int remount_bind(int root_fd, const char *path, unsigned long flags)
{
	/* Opened now, so the fd is the root of the top-most mount on `path`. */
	int fd = root_open(root_fd, path, CREATE_NONE);
	if (fd < 0)
		return -1;
	struct statvfs st;
	unsigned long keep = 0;
	if (fstatvfs(fd, &st) == 0) {
		/* A bind remount sets every per-mount flag: carry over the ones already set. */
		keep |= (st.f_flag & ST_NOSUID) ? MS_NOSUID : 0;
		keep |= (st.f_flag & ST_NODEV) ? MS_NODEV : 0;
		keep |= (st.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0;
		keep |= (st.f_flag & ST_NOATIME) ? MS_NOATIME : 0;
		keep |= (st.f_flag & ST_NODIRATIME) ? MS_NODIRATIME : 0;
		keep |= (st.f_flag & ST_RELATIME) ? MS_RELATIME : 0;
	}
	int r = mount(NULL, fd_path(fd).s, NULL, MS_BIND | MS_REMOUNT | keep | flags, NULL);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}
