/* The ProcessSpec / ExecSpec / HoldSpec on the wire: NUL-terminated `key=value` records,
 * `version=1` first, `end` last; `run`, `exec` and `hold` take different sets of keys (the
 * tables are in docs/helper-protocol.md). Unknown keys, repeated singular keys, missing
 * required keys and malformed values are refused: berthd and this helper are built together,
 * so any mismatch is a bug worth stopping on. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

#define SPEC_FAIL(...) fail("spec", EINVAL, __VA_ARGS__)

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 8;
	v = reallocarray(v, *cap, size);
	if (!v)
		fail("spec", ENOMEM, "out of memory");
	return v;
}

static void push(struct strlist *l, char *s)
{
	l->v = grow(l->v, &l->cap, l->n + 1, sizeof *l->v); /* keep room for the NULL */
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

static long long parse_int(const char *key, const char *s, long long min, long long max)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		SPEC_FAIL("%s: invalid number \"%s\"", key, s);
	return v;
}

static bool parse_bool(const char *key, const char *s)
{
	if (strcmp(s, "1") == 0)
		return true;
	if (strcmp(s, "0") == 0)
		return false;
	SPEC_FAIL("%s: expected 0 or 1, received \"%s\"", key, s);
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "cpu", RLIMIT_CPU },		{ "fsize", RLIMIT_FSIZE },
	{ "data", RLIMIT_DATA },	{ "stack", RLIMIT_STACK },
	{ "core", RLIMIT_CORE },	{ "rss", RLIMIT_RSS },
	{ "nproc", RLIMIT_NPROC },	{ "nofile", RLIMIT_NOFILE },
	{ "memlock", RLIMIT_MEMLOCK },	{ "as", RLIMIT_AS },
	{ "locks", RLIMIT_LOCKS },	{ "sigpending", RLIMIT_SIGPENDING },
	{ "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "rtprio", RLIMIT_RTPRIO },	{ "rttime", RLIMIT_RTTIME },
};

static rlim_t parse_rlim(const char *s)
{
	if (strcmp(s, "unlimited") == 0)
		return RLIM_INFINITY;
	return (rlim_t)parse_int("rlimit", s, 0, LLONG_MAX);
}

/* rlimit=<name>:<soft>:<hard> */
static void parse_rlimit(struct spec *spec, char *value)
{
	char *soft = strchr(value, ':');
	char *hard = soft ? strchr(soft + 1, ':') : NULL;
	if (!hard)
		SPEC_FAIL("rlimit: expected name:soft:hard, received \"%s\"", value);
	*soft++ = '\0';
	*hard++ = '\0';
	struct rlimit_entry e = { .resource = -1, .name = value };
	for (size_t i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++)
		if (strcmp(rlimit_names[i].name, value) == 0)
			e.resource = rlimit_names[i].resource;
	if (e.resource < 0)
		SPEC_FAIL("rlimit: unknown resource \"%s\"", value);
	e.limit.rlim_cur = parse_rlim(soft);
	e.limit.rlim_max = parse_rlim(hard);
	if (e.limit.rlim_cur > e.limit.rlim_max)
		SPEC_FAIL("rlimit %s: soft limit above hard limit", value);
	spec->rlimits = grow(spec->rlimits, &spec->rlimits_cap, spec->nrlimits, sizeof e);
	spec->rlimits[spec->nrlimits++] = e;
}

/* mount=<source>\t<destination>\t<type>\t<options, comma-separated> */
static void parse_mount(struct spec *spec, char *value)
{
	char *f[4] = { value };
	for (int i = 1; i < 4; i++) {
		char *tab = strchr(f[i - 1], '\t');
		if (!tab)
			SPEC_FAIL("mount: expected 4 tab-separated fields");
		*tab = '\0';
		f[i] = tab + 1;
	}
	if (strchr(f[3], '\t'))
		SPEC_FAIL("mount: expected 4 tab-separated fields");
	if (f[1][0] != '/')
		SPEC_FAIL("mount: destination \"%s\" is not absolute", f[1]);
	spec->mounts = grow(spec->mounts, &spec->mounts_cap, spec->nmounts, sizeof *spec->mounts);
	spec->mounts[spec->nmounts++] = (struct mount_entry){ f[0], f[1], f[2], f[3] };
}

static void parse_net(struct spec *spec, char *value)
{
	if (strcmp(value, "new") == 0)
		spec->net = NET_NEW;
	else if (strcmp(value, "host") == 0)
		spec->net = NET_HOST;
	else if (value[0] == '/')
		spec->net = NET_PATH, spec->net_path = value;
	else
		SPEC_FAIL("net: expected new, host or an absolute path, received \"%s\"", value);
}

/* iface=<name>\t<IPv4>\t<prefix length>[\t<gateway>] */
static void parse_iface(struct spec *spec, char *value)
{
	char *f[4] = { value };
	int n = 1;
	for (char *tab; n < 4 && (tab = strchr(f[n - 1], '\t')); n++) {
		*tab = '\0';
		f[n] = tab + 1;
	}
	if (n < 3 || strchr(f[n - 1], '\t'))
		SPEC_FAIL("iface: expected name, address, prefix length and an optional gateway, tab-separated");
	struct iface_entry e = { .name = f[0] };
	if (!f[0][0] || strlen(f[0]) >= IFNAMSIZ || strchr(f[0], '/'))
		SPEC_FAIL("iface: invalid interface name \"%s\"", f[0]);
	if (inet_pton(AF_INET, f[1], &e.address) != 1)
		SPEC_FAIL("iface %s: invalid IPv4 address \"%s\"", f[0], f[1]);
	e.prefix = (unsigned)parse_int("iface prefix length", f[2], 1, 32);
	if (n == 4) {
		if (inet_pton(AF_INET, f[3], &e.gateway) != 1)
			SPEC_FAIL("iface %s: invalid gateway \"%s\"", f[0], f[3]);
		e.gateway_set = true;
	}
	spec->ifaces = grow(spec->ifaces, &spec->ifaces_cap, spec->nifaces, sizeof e);
	spec->ifaces[spec->nifaces++] = e;
}

/* Every key: which modes take it, which need it, and whether it may repeat. */
enum key_id {
	K_VERSION, K_CONTAINER_PID, K_LOWER, K_UPPER, K_WORK, K_TARGET, K_ROOTFS_RO, K_HOSTNAME,
	K_ARG, K_ENV, K_CWD, K_UID, K_GID, K_ADDITIONAL_GID, K_CAP, K_NET, K_MOUNT, K_MASK,
	K_READONLY, K_RLIMIT, K_NNP, K_PRIVILEGED, K_OPEN_STDIN, K_OOM, K_TTY, K_CONSOLE_ROWS,
	K_CONSOLE_COLS, K_INIT, K_SECCOMP, K_IFACE, K_COUNT
};

#define RUN (1u << MODE_RUN)
#define EXEC (1u << MODE_EXEC)
#define HOLD (1u << MODE_HOLD)
#define BOTH (RUN | EXEC)

static const struct key {
	const char *name;
	unsigned modes, required; /* bit (1 << mode) */
	bool repeated;
} keys[K_COUNT] = {
	[K_VERSION] = { "version", BOTH | HOLD, BOTH | HOLD, false },
	[K_CONTAINER_PID] = { "container-pid", EXEC, EXEC, false },
	[K_LOWER] = { "lower", RUN | HOLD, RUN | HOLD, true },
	[K_UPPER] = { "upper", RUN | HOLD, RUN, false },
	[K_WORK] = { "work", RUN | HOLD, RUN, false },
	[K_TARGET] = { "target", RUN | HOLD, RUN | HOLD, false },
	[K_ROOTFS_RO] = { "rootfs-readonly", RUN, 0, false },
	[K_HOSTNAME] = { "hostname", RUN, 0, false },
	[K_ARG] = { "arg", BOTH, BOTH, true },
	[K_ENV] = { "env", BOTH, 0, true },
	[K_CWD] = { "cwd", BOTH, BOTH, false },
	[K_UID] = { "uid", BOTH, BOTH, false },
	[K_GID] = { "gid", BOTH, BOTH, false },
	[K_ADDITIONAL_GID] = { "additional-gid", BOTH, 0, true },
	[K_CAP] = { "cap", BOTH, 0, true },
	[K_NET] = { "net", RUN, RUN, false },
	[K_MOUNT] = { "mount", RUN | HOLD, 0, true },
	[K_MASK] = { "mask", RUN, 0, true },
	[K_READONLY] = { "readonly", RUN, 0, true },
	[K_RLIMIT] = { "rlimit", RUN, 0, true },
	[K_NNP] = { "no-new-privileges", BOTH, 0, false },
	[K_PRIVILEGED] = { "privileged", RUN, 0, false },
	[K_OPEN_STDIN] = { "open-stdin", BOTH, 0, false },
	[K_OOM] = { "oom-score-adj", RUN, 0, false },
	[K_TTY] = { "tty", BOTH, 0, false },
	[K_CONSOLE_ROWS] = { "console-rows", BOTH, 0, false },
	[K_CONSOLE_COLS] = { "console-cols", BOTH, 0, false },
	[K_INIT] = { "init", RUN, 0, false },
	[K_SECCOMP] = { "seccomp", BOTH, 0, false },
	[K_IFACE] = { "iface", RUN, 0, true },
};

static void apply(struct spec *spec, enum key_id k, char *v)
{
	switch (k) {
	case K_VERSION:
		if (strcmp(v, SPEC_VERSION) != 0)
			SPEC_FAIL("version: this helper speaks %s, received \"%s\"", SPEC_VERSION, v);
		break;
	case K_CONTAINER_PID: spec->container_pid = (pid_t)parse_int("container-pid", v, 1, INT_MAX); break;
	case K_LOWER: push(&spec->lower, v); break;
	case K_UPPER: spec->upper = v; break;
	case K_WORK: spec->work = v; break;
	case K_TARGET: spec->target = v; break;
	case K_ROOTFS_RO: spec->rootfs_readonly = parse_bool("rootfs-readonly", v); break;
	case K_HOSTNAME: spec->hostname = v; break;
	case K_ARG: push(&spec->args, v); break;
	case K_ENV: push(&spec->env, v); break;
	case K_CWD:
		if (v[0] != '/')
			SPEC_FAIL("cwd: \"%s\" is not absolute", v);
		spec->cwd = v;
		break;
	case K_UID: spec->uid = (uid_t)parse_int("uid", v, 0, 0xfffffffeLL); break;
	case K_GID: spec->gid = (gid_t)parse_int("gid", v, 0, 0xfffffffeLL); break;
	case K_ADDITIONAL_GID:
		spec->groups = grow(spec->groups, &spec->groups_cap, spec->ngroups, sizeof(gid_t));
		spec->groups[spec->ngroups++] = (gid_t)parse_int("additional-gid", v, 0, 0xfffffffeLL);
		break;
	case K_CAP: spec->caps |= 1ULL << parse_int("cap", v, 0, 63); break;
	case K_NET: parse_net(spec, v); break;
	case K_MOUNT: parse_mount(spec, v); break;
	case K_MASK: push(&spec->masked, v); break;
	case K_READONLY: push(&spec->readonly_paths, v); break;
	case K_RLIMIT: parse_rlimit(spec, v); break;
	case K_NNP: spec->no_new_privileges = parse_bool("no-new-privileges", v); break;
	case K_PRIVILEGED: spec->privileged = parse_bool("privileged", v); break;
	case K_OPEN_STDIN: spec->open_stdin = parse_bool("open-stdin", v); break;
	case K_OOM: spec->oom_score_adj = (int)parse_int("oom-score-adj", v, -1000, 1000); break;
	case K_TTY: spec->tty = parse_bool("tty", v); break;
	case K_CONSOLE_ROWS: spec->console_rows = (unsigned short)parse_int("console-rows", v, 0, 65535); break;
	case K_CONSOLE_COLS: spec->console_cols = (unsigned short)parse_int("console-cols", v, 0, 65535); break;
	case K_INIT: spec->init = parse_bool("init", v); break;
	case K_SECCOMP:
		if (strcmp(v, "default") != 0 && strcmp(v, "unconfined") != 0)
			SPEC_FAIL("seccomp: expected default or unconfined, received \"%s\"", v);
		spec->seccomp = strcmp(v, "default") == 0;
		break;
	case K_IFACE: parse_iface(spec, v); break;
	case K_COUNT: break;
	}
}

static enum key_id lookup(const char *key, enum helper_mode mode)
{
	for (int k = 0; k < K_COUNT; k++)
		if ((keys[k].modes & (1u << mode)) && strcmp(key, keys[k].name) == 0)
			return (enum key_id)k;
	SPEC_FAIL("unknown key \"%s\"", key);
}

void spec_read(struct spec *spec, enum helper_mode mode)
{
	size_t len;
	char *records = channel_read_spec(&len);
	if (!records)
		fail("spec", errno, "reading the spec from fd 3: %s", errstr(errno));
	*spec = (struct spec){ .net = NET_NEW, .seccomp = true };
	push(&spec->env, NULL), spec->env.n = 0; /* an empty env is still a NULL-terminated array */
	uint64_t seen = 0;
	for (char *r = records, *next; r < records + len; r = next) {
		next = r + strlen(r) + 1; /* before the '=' below is cut */
		if (strcmp(r, "end") == 0)
			break;
		char *eq = strchr(r, '=');
		if (!eq)
			SPEC_FAIL("expected key=value, received \"%s\"", r);
		*eq = '\0';
		enum key_id k = lookup(r, mode);
		if (k != K_VERSION && !(seen & (1ull << K_VERSION)))
			SPEC_FAIL("expected version first, received %s", r);
		if (!keys[k].repeated && (seen & (1ull << k)))
			SPEC_FAIL("%s: given twice", r);
		seen |= 1ull << k;
		apply(spec, k, eq + 1);
	}
	for (int k = 0; k < K_COUNT; k++)
		if ((keys[k].required & (1u << mode)) && !(seen & (1ull << k)))
			SPEC_FAIL("missing %s", keys[k].name);
	bool rows = seen & (1ull << K_CONSOLE_ROWS), cols = seen & (1ull << K_CONSOLE_COLS);
	if (rows != cols)
		SPEC_FAIL("console-rows and console-cols go together");
	if (rows && !spec->tty)
		SPEC_FAIL("console-rows/console-cols without tty=1");
	spec->console_size = rows;
	if (spec->nifaces > 0 && spec->net != NET_NEW)
		SPEC_FAIL("iface needs net=new");
	if (mode == MODE_HOLD && !spec->upper != !spec->work)
		SPEC_FAIL("upper and work go together");
	if (!spec->hostname)
		spec->hostname = "";
}
