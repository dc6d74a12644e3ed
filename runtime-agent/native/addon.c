/* berth_native.node: the syscalls Node has no binding for, one function each, exactly the
 * NativeAddon interface of runtime-agent/src/native/addon-api.ts. Failures throw an Error
 * shaped like Node's own system errors: code (`ENOENT`), errno (negative), syscall, path, and
 * the message "ENOENT: no such file or directory, mount 'src' -> 'dst'". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define CHECK(call)                                  \
	do {                                         \
		if ((call) != napi_ok)               \
			return NULL;                 \
	} while (0)

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path,
			      const char *dest)
{
	const char *code = uv_err_name(-err);
	char message[8192];
	if (dest)
		snprintf(message, sizeof message, "%s: %s, %s '%s' -> '%s'", code, uv_strerror(-err),
			 syscall, path, dest);
	else
		snprintf(message, sizeof message, "%s: %s, %s '%s'", code, uv_strerror(-err), syscall, path);
	napi_value js_code, js_message, error, value;
	CHECK(napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &js_code));
	CHECK(napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &js_message));
	CHECK(napi_create_error(env, js_code, js_message, &error));
	CHECK(napi_create_int32(env, -err, &value));
	CHECK(napi_set_named_property(env, error, "errno", value));
	CHECK(napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value));
	CHECK(napi_set_named_property(env, error, "syscall", value));
	CHECK(napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &value));
	CHECK(napi_set_named_property(env, error, "path", value));
	if (dest) {
		CHECK(napi_create_string_utf8(env, dest, NAPI_AUTO_LENGTH, &value));
		CHECK(napi_set_named_property(env, error, "dest", value));
	}
	napi_throw(env, error);
	return NULL;
}

/* Fetches exactly `n` arguments. */
static bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv)
{
	size_t argc = n;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return false;
	if (argc < n) {
		napi_throw_type_error(env, "ERR_INVALID_ARG_COUNT", "missing arguments");
		return false;
	}
	return true;
}

/* A malloc'd copy of a string argument; NULL (with a TypeError thrown) if it is not a string
 * or holds a NUL byte, which C would silently cut the path at. */
static char *get_string(napi_env env, napi_value v, const char *what)
{
	size_t len;
	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
		char message[128];
		snprintf(message, sizeof message, "%s must be a string", what);
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
		return NULL;
	}
	char *s = malloc(len + 1);
	if (!s) {
		napi_throw_error(env, "ENOMEM", "out of memory");
		return NULL;
	}
	napi_get_value_string_utf8(env, v, s, len + 1, &len);
	if (strlen(s) != len) {
		char message[128];
		snprintf(message, sizeof message, "%s must not contain NUL bytes", what);
		napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", message);
		free(s);
		return NULL;
	}
	return s;
}

static bool get_uint(napi_env env, napi_value v, const char *what, uint32_t *out)
{
	double d;
	if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d) {
		char message[128];
		snprintf(message, sizeof message, "%s must be an unsigned 32-bit integer", what);
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
		return false;
	}
	*out = (uint32_t)d;
	return true;
}

/* mount(source, target, fstype, flags, data): empty strings are passed as NULL. */
static napi_value js_mount(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	if (!get_args(env, info, 5, argv))
		return NULL;
	char *s[4] = { 0 };
	const char *names[4] = { "source", "target", "fstype", "data" };
	const int at[4] = { 0, 1, 2, 4 };
	uint32_t flags;
	napi_value result = NULL;
	for (int i = 0; i < 4; i++)
		if (!(s[i] = get_string(env, argv[at[i]], names[i])))
			goto out;
	if (!get_uint(env, argv[3], "flags", &flags))
		goto out;
	if (mount(*s[0] ? s[0] : NULL, s[1], *s[2] ? s[2] : NULL, flags, *s[3] ? s[3] : NULL) != 0)
		throw_errno(env, errno, "mount", s[0], s[1]);
	else
		napi_get_undefined(env, &result);
out:
	for (int i = 0; i < 4; i++)
		free(s[i]);
	return result;
}

static napi_value js_umount2(napi_env env, napi_callback_info info)
{
	napi_value argv[2], result = NULL;
	uint32_t flags;
	if (!get_args(env, info, 2, argv))
		return NULL;
	char *target = get_string(env, argv[0], "target");
	if (target && get_uint(env, argv[1], "flags", &flags)) {
		if (umount2(target, (int)flags) != 0)
			throw_errno(env, errno, "umount2", target, NULL);
		else
			napi_get_undefined(env, &result);
	}
	free(target);
	return result;
}

static napi_value js_mknod(napi_env env, napi_callback_info info)
{
	napi_value argv[4], result = NULL;
	uint32_t mode, major, minor;
	if (!get_args(env, info, 4, argv))
		return NULL;
	char *path = get_string(env, argv[0], "path");
	if (path && get_uint(env, argv[1], "mode", &mode) && get_uint(env, argv[2], "major", &major) &&
	    get_uint(env, argv[3], "minor", &minor)) {
		if (mknod(path, (mode_t)mode, makedev(major, minor)) != 0)
			throw_errno(env, errno, "mknod", path, NULL);
		else
			napi_get_undefined(env, &result);
	}
	free(path);
	return result;
}

static napi_value js_lsetxattr(napi_env env, napi_callback_info info)
{
	napi_value argv[3], result = NULL;
	if (!get_args(env, info, 3, argv))
		return NULL;
	char *path = get_string(env, argv[0], "path");
	char *name = path ? get_string(env, argv[1], "name") : NULL;
	bool is_buffer = false;
	void *data = NULL;
	size_t len = 0;
	if (name && (napi_is_buffer(env, argv[2], &is_buffer) != napi_ok || !is_buffer ||
		     napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok))
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "value must be a Buffer");
	else if (name && lsetxattr(path, name, data, len, 0) != 0)
		throw_errno(env, errno, "lsetxattr", path, NULL);
	else if (name)
		napi_get_undefined(env, &result);
	free(path);
	free(name);
	return result;
}

/* Calls get(path, name, buf, size) with a growing buffer; returns its length or -1. */
static ssize_t read_sized(const char *path, const char *name, char **buf,
			  ssize_t (*get)(const char *, const char *, char *, size_t))
{
	for (;;) {
		ssize_t size = get(path, name, NULL, 0);
		if (size < 0)
			return -1;
		char *b = malloc(size ? (size_t)size : 1);
		if (!b) {
			errno = ENOMEM;
			return -1;
		}
		ssize_t n = get(path, name, b, (size_t)size);
		if (n >= 0) {
			*buf = b;
			return n;
		}
		free(b);
		if (errno != ERANGE) /* ERANGE: it grew between the two calls */
			return -1;
	}
}

static ssize_t get_xattr(const char *path, const char *name, char *buf, size_t size)
{
	return lgetxattr(path, name, buf, size);
}

static ssize_t list_xattr(const char *path, const char *name, char *buf, size_t size)
{
	(void)name;
	return llistxattr(path, buf, size);
}

static napi_value js_lgetxattr(napi_env env, napi_callback_info info)
{
	napi_value argv[2], result = NULL;
	if (!get_args(env, info, 2, argv))
		return NULL;
	char *path = get_string(env, argv[0], "path");
	char *name = path ? get_string(env, argv[1], "name") : NULL;
	char *buf = NULL;
	if (name) {
		ssize_t n = read_sized(path, name, &buf, get_xattr);
		if (n >= 0)
			napi_create_buffer_copy(env, (size_t)n, buf, NULL, &result);
		else if (errno == ENODATA)
			napi_get_undefined(env, &result);
		else
			throw_errno(env, errno, "lgetxattr", path, NULL);
	}
	free(buf);
	free(path);
	free(name);
	return result;
}

static napi_value js_llistxattr(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result = NULL;
	if (!get_args(env, info, 1, argv))
		return NULL;
	char *path = get_string(env, argv[0], "path");
	char *buf = NULL;
	if (path) {
		ssize_t n = read_sized(path, NULL, &buf, list_xattr);
		if (n < 0) {
			throw_errno(env, errno, "llistxattr", path, NULL);
		} else if (napi_create_array(env, &result) == napi_ok) {
			uint32_t i = 0;
			for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
				napi_value name;
				napi_create_string_utf8(env, p, NAPI_AUTO_LENGTH, &name);
				napi_set_element(env, result, i++, name);
			}
		}
	}
	free(buf);
	free(path);
	return result;
}

#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every architecture */
#endif

/* EAGAIN means a rename or mount raced a RESOLVE_IN_ROOT/BENEATH lookup of "..": the kernel
 * asks the caller to retry. Bounded, so a tree renamed in a tight loop cannot spin us forever. */
#define OPENAT2_RETRIES 64

/* openat2(dirfd, path, flags, mode, resolve): the new fd, always close-on-exec. */
static napi_value js_openat2(napi_env env, napi_callback_info info)
{
	napi_value argv[5], result = NULL;
	int32_t dirfd;
	uint32_t flags, mode, resolve;
	if (!get_args(env, info, 5, argv))
		return NULL;
	if (napi_get_value_int32(env, argv[0], &dirfd) != napi_ok) {
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "dirfd must be an integer");
		return NULL;
	}
	char *path = get_string(env, argv[1], "path");
	if (path && get_uint(env, argv[2], "flags", &flags) && get_uint(env, argv[3], "mode", &mode) &&
	    get_uint(env, argv[4], "resolve", &resolve)) {
		struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC, .resolve = resolve };
		/* The kernel refuses a mode without O_CREAT/O_TMPFILE (EINVAL). */
		if (flags & (O_CREAT | __O_TMPFILE))
			how.mode = mode;
		long fd = -1;
		for (int attempt = 0; attempt < OPENAT2_RETRIES; attempt++) {
			fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
			if (fd >= 0 || errno != EAGAIN)
				break;
		}
		if (fd < 0)
			throw_errno(env, errno, "openat2", path, NULL);
		else
			napi_create_int32(env, (int32_t)fd, &result);
	}
	free(path);
	return result;
}

NAPI_MODULE_INIT()
{
	const napi_property_descriptor functions[] = {
		{ "mount", NULL, js_mount, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "umount2", NULL, js_umount2, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "mknod", NULL, js_mknod, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "openat2", NULL, js_openat2, NULL, NULL, NULL, napi_enumerable, NULL },
	};
	if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok)
		return NULL;
	return exports;
}
