/* The last steps before exec: rlimits, OOM score, identity, and the exec itself, with runc's
 * (Go's exec.LookPath) error messages, which Docker users and berthd's callers recognise. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* A limit above our own hard limit needs CAP_SYS_RESOURCE; without it (berthd itself inside a
 * restricted sandbox), the limit is clamped to what we have rather than failing the start. */
static void set_rlimit(const struct rlimit_entry *r)
{
	if (setrlimit(r->resource, &r->limit) == 0)
		return;
	int err = errno;
	struct rlimit cur;
	if (err == EPERM && getrlimit(r->resource, &cur) == 0 && r->limit.rlim_max > cur.rlim_max) {
		struct rlimit clamped = { r->limit.rlim_cur, cur.rlim_max };
		if (clamped.rlim_cur > clamped.rlim_max)
			clamped.rlim_cur = clamped.rlim_max;
		if (setrlimit(r->resource, &clamped) == 0)
			return;
		err = errno;
	}
	fail("rlimits", err, "setrlimit %s: %s", r->name, errstr(err));
}

void process_limits(const struct spec *spec)
{
	for (size_t i = 0; i < spec->nrlimits; i++)
		set_rlimit(&spec->rlimits[i]);

	/* Only written when it changes: lowering it needs CAP_SYS_RESOURCE even to its value. */
	int fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail("oom-score-adj", errno, "open /proc/self/oom_score_adj: %s", errstr(errno));
	char buf[16] = { 0 };
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0 || atoi(buf) != spec->oom_score_adj) {
		int len = snprintf(buf, sizeof buf, "%d", spec->oom_score_adj);
		if (pwrite(fd, buf, (size_t)len, 0) != len)
			fail("oom-score-adj", errno, "write %d to /proc/self/oom_score_adj: %s",
			     spec->oom_score_adj, errstr(errno));
	}
	close(fd);
}

/* One value of /proc/<pid>/limits: "unlimited" or a decimal number. */
static bool parse_limit_value(const char *text, rlim_t *out)
{
	if (strcmp(text, "unlimited") == 0) {
		*out = RLIM_INFINITY;
		return true;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	*out = (rlim_t)v;
	return errno == 0 && end != text && *end == '\0';
}

/* The container init's limits, from /proc/<pid>/limits rather than prlimit(2): reading another
 * user's limits with prlimit needs CAP_SYS_RESOURCE, which a sandboxed root may lack, while the
 * file is readable by anyone. The kernel prints one line per resource, in RLIMIT_* order, with
 * the soft and hard values at fixed columns ("%-25s %-20s %-20s"). */
void process_read_limits(pid_t pid, struct spec *spec)
{
	static const char *const names[RLIM_NLIMITS] = {
		"cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile",
		"memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
	};
	char limits_path[64];
	snprintf(limits_path, sizeof limits_path, "/proc/%d/limits", (int)pid);
	FILE *f = fopen(limits_path, "re");
	if (!f)
		fail("rlimits", errno, "read %s: %s", limits_path, errstr(errno));
	spec->rlimits = calloc(RLIM_NLIMITS, sizeof *spec->rlimits);
	if (!spec->rlimits)
		fail("rlimits", ENOMEM, "out of memory");
	char line[256];
	size_t n = 0;
	bool header = true;
	while (n < RLIM_NLIMITS && fgets(line, sizeof line, f)) {
		if (header) { /* "Limit   Soft Limit   Hard Limit   Units" */
			header = false;
			continue;
		}
		char soft[32], hard[32];
		struct rlimit_entry *e = &spec->rlimits[n];
		*e = (struct rlimit_entry){ .resource = (int)n, .name = names[n] };
		if (strlen(line) <= 26 || sscanf(line + 26, "%31s %31s", soft, hard) != 2 ||
		    !parse_limit_value(soft, &e->limit.rlim_cur) ||
		    !parse_limit_value(hard, &e->limit.rlim_max))
			fail("rlimits", EINVAL, "%s: cannot parse the %s limit", limits_path, names[n]);
		n++;
	}
	fclose(f);
	if (n != RLIM_NLIMITS)
		fail("rlimits", EINVAL, "%s: %zu limits, expected %d", limits_path, n, RLIM_NLIMITS);
	spec->nrlimits = spec->rlimits_cap = n;

	char path[64], buf[16] = { 0 };
	snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (got <= 0)
		fail("oom-score-adj", errno, "read %s: %s", path, errstr(errno));
	close(fd);
	spec->oom_score_adj = atoi(buf);
}

void process_identity(const struct spec *spec)
{
	if (setgroups(spec->ngroups, spec->groups) != 0)
		fail("user", errno, "setgroups: %s", errstr(errno));
	if (setresgid(spec->gid, spec->gid, spec->gid) != 0)
		fail("user", errno, "setgid %u: %s", spec->gid, errstr(errno));
	if (setresuid(spec->uid, spec->uid, spec->uid) != 0)
		fail("user", errno, "setuid %u: %s", spec->uid, errstr(errno));
}

/* Go's findExecutable: 0, or the errno explaining why `file` cannot be run. */
static int check_executable(const char *file, bool *stat_failed)
{
	struct stat st;
	*stat_failed = false;
	if (stat(file, &st) != 0) {
		*stat_failed = true;
		return errno;
	}
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	if (faccessat(AT_FDCWD, file, X_OK, AT_EACCESS) == 0)
		return 0;
	if (errno != ENOSYS && errno != EPERM)
		return errno;
	return (st.st_mode & 0111) ? 0 : EACCES;
}

static const char *env_path(const struct spec *spec)
{
	const char *path = NULL;
	for (size_t i = 0; i < spec->env.n; i++)
		if (strncmp(spec->env.v[i], "PATH=", 5) == 0)
			path = spec->env.v[i] + 5; /* the last one wins, as in getenv after putenv */
	return path ? path : DEFAULT_PATH;
}

/* Resolves argv[0] like exec.LookPath in the container's PATH; fails with runc's messages. */
static const char *look_path(const struct spec *spec, char *buf, size_t size)
{
	const char *file = spec->args.v[0];
	bool stat_failed;
	if (strchr(file, '/')) {
		int err = check_executable(file, &stat_failed);
		if (err && stat_failed)
			fail("exec", err, "exec: \"%s\": stat %s: %s", file, file, errstr(err));
		if (err)
			fail("exec", err, "exec: \"%s\": %s", file, errstr(err));
		return file;
	}
	const char *path = env_path(spec);
	while (*file) {
		const char *end = strchrnul(path, ':');
		int dir_len = (int)(end - path);
		int n = dir_len ? snprintf(buf, size, "%.*s/%s", dir_len, path, file)
				: snprintf(buf, size, "./%s", file);
		if (n > 0 && (size_t)n < size && check_executable(buf, &stat_failed) == 0)
			return buf;
		if (!*end)
			break;
		path = end + 1;
	}
	fail("exec", ENOENT, "exec: \"%s\": executable file not found in $PATH", file);
}

static void close_inherited_fds(void)
{
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* The command starts as under Docker: nothing blocked, nothing ignored. */
static void reset_signals(void)
{
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL); /* EINVAL for the few libc keeps for itself */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The last steps before exec, shared by `run` and `exec`, in the one order that works:
 * rlimits and oom score; drop the bounding set (keeping caps across setuid); seccomp while still
 * root with every capability (so no no_new_privs is needed); groups, gid, uid; the kept
 * capabilities; PDEATHSIG again (setuid cleared it); no_new_privs if asked; umask. */
void process_drop_privileges(const struct spec *spec)
{
	process_limits(spec);
	caps_prepare(spec->caps);
	seccomp_apply(spec);
	process_identity(spec);
	caps_apply(spec->caps, spec->uid);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (spec->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fail("no-new-privileges", errno, "prctl(PR_SET_NO_NEW_PRIVS): %s", errstr(errno));
	umask(022);
}

_Noreturn void process_exec(const struct spec *spec)
{
	char buf[PATH_MAX];
	const char *file = look_path(spec, buf, sizeof buf);
	close_inherited_fds();
	reset_signals();
	execve(file, spec->args.v, spec->env.v);
	fail("exec", errno, "exec %s: %s", file, errstr(errno));
}
