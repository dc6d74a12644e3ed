/* The ProcessSpec on the wire: NUL-terminated `key=value` records, `version=1` first, `end`
 * last. See docs/helper-protocol.md for the table of keys. Unknown keys, repeated singular
 * keys, missing required keys and malformed values are refused: berthd and this helper are
 * built together, so any mismatch is a bug worth stopping on. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
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

/* Singular keys, in a fixed order so `seen` can be a bitmask. */
static const char *const singular[] = {
	"version", "upper", "work", "target", "rootfs-readonly", "hostname", "cwd", "uid", "gid",
	"net", "no-new-privileges", "privileged", "open-stdin", "oom-score-adj",
};
enum { K_VERSION, K_UPPER, K_WORK, K_TARGET, K_ROOTFS_RO, K_HOSTNAME, K_CWD, K_UID, K_GID, K_NET,
	K_NNP, K_PRIVILEGED, K_OPEN_STDIN, K_OOM, K_COUNT };
/* Required singular keys; `lower` and `arg` must also appear at least once. */
#define REQUIRED ((1u << K_VERSION) | (1u << K_UPPER) | (1u << K_WORK) | (1u << K_TARGET) | \
		  (1u << K_CWD) | (1u << K_UID) | (1u << K_GID) | (1u << K_NET))

static void apply_singular(struct spec *spec, int k, char *v)
{
	switch (k) {
	case K_VERSION:
		if (strcmp(v, SPEC_VERSION) != 0)
			SPEC_FAIL("version: this helper speaks %s, received \"%s\"", SPEC_VERSION, v);
		break;
	case K_UPPER: spec->upper = v; break;
	case K_WORK: spec->work = v; break;
	case K_TARGET: spec->target = v; break;
	case K_ROOTFS_RO: spec->rootfs_readonly = parse_bool("rootfs-readonly", v); break;
	case K_HOSTNAME: spec->hostname = v; break;
	case K_CWD:
		if (v[0] != '/')
			SPEC_FAIL("cwd: \"%s\" is not absolute", v);
		spec->cwd = v;
		break;
	case K_UID: spec->uid = (uid_t)parse_int("uid", v, 0, 0xfffffffeLL); break;
	case K_GID: spec->gid = (gid_t)parse_int("gid", v, 0, 0xfffffffeLL); break;
	case K_NET: parse_net(spec, v); break;
	case K_NNP: spec->no_new_privileges = parse_bool("no-new-privileges", v); break;
	case K_PRIVILEGED: spec->privileged = parse_bool("privileged", v); break;
	case K_OPEN_STDIN: spec->open_stdin = parse_bool("open-stdin", v); break;
	case K_OOM: spec->oom_score_adj = (int)parse_int("oom-score-adj", v, -1000, 1000); break;
	}
}

static void apply(struct spec *spec, char *key, char *v, unsigned *seen)
{
	for (int k = 0; k < K_COUNT; k++) {
		if (strcmp(key, singular[k]) != 0)
			continue;
		if (*seen & (1u << k))
			SPEC_FAIL("%s: given twice", key);
		if (k != K_VERSION && !(*seen & (1u << K_VERSION)))
			SPEC_FAIL("expected version first, received %s", key);
		*seen |= 1u << k;
		apply_singular(spec, k, v);
		return;
	}
	if (!(*seen & (1u << K_VERSION)))
		SPEC_FAIL("expected version first, received %s", key);
	if (strcmp(key, "lower") == 0)
		push(&spec->lower, v);
	else if (strcmp(key, "arg") == 0)
		push(&spec->args, v);
	else if (strcmp(key, "env") == 0)
		push(&spec->env, v);
	else if (strcmp(key, "mask") == 0)
		push(&spec->masked, v);
	else if (strcmp(key, "readonly") == 0)
		push(&spec->readonly_paths, v);
	else if (strcmp(key, "mount") == 0)
		parse_mount(spec, v);
	else if (strcmp(key, "rlimit") == 0)
		parse_rlimit(spec, v);
	else if (strcmp(key, "cap") == 0)
		spec->caps |= 1ULL << parse_int("cap", v, 0, 63);
	else if (strcmp(key, "additional-gid") == 0) {
		spec->groups = grow(spec->groups, &spec->groups_cap, spec->ngroups, sizeof(gid_t));
		spec->groups[spec->ngroups++] = (gid_t)parse_int("additional-gid", v, 0, 0xfffffffeLL);
	} else
		SPEC_FAIL("unknown key \"%s\"", key);
}

void spec_read(struct spec *spec)
{
	size_t len;
	char *records = channel_read_spec(&len);
	if (!records)
		fail("spec", errno, "reading the spec from fd 3: %s", errstr(errno));
	*spec = (struct spec){ .net = NET_NEW };
	push(&spec->env, NULL), spec->env.n = 0; /* an empty env is still a NULL-terminated array */
	unsigned seen = 0;
	for (char *r = records, *next; r < records + len; r = next) {
		next = r + strlen(r) + 1; /* before the '=' below is cut */
		if (strcmp(r, "end") == 0)
			break;
		char *eq = strchr(r, '=');
		if (!eq)
			SPEC_FAIL("expected key=value, received \"%s\"", r);
		*eq = '\0';
		apply(spec, r, eq + 1, &seen);
	}
	for (int k = 0; k < K_COUNT; k++)
		if ((REQUIRED & (1u << k)) && !(seen & (1u << k)))
			SPEC_FAIL("missing %s", singular[k]);
	if (spec->lower.n == 0)
		SPEC_FAIL("missing lower");
	if (spec->args.n == 0)
		SPEC_FAIL("missing arg");
	if (!spec->hostname)
		spec->hostname = "";
}
