/*
 * berth-helper: the few syscalls berthd (Node) cannot make to start a container's process.
 * The protocol with berthd and the order of steps are documented in docs/helper-protocol.md;
 * the TypeScript side is runtime-agent/src/native/{protocol,spec-encoding,helper}.ts.
 *
 * Files, one concept each:
 *   main.c     mode dispatch: `run` (a container's first process), `exec` (docker exec),
 *              `hold` (a container's filesystem without its process)
 *   channel.c  fd 3: buffered reads of spec records and control lines, message writes
 *   spec.c     the ProcessSpec / ExecSpec / HoldSpec wire format → struct spec
 *   fail.c     error reports: a `error <stage> <errno> <message>` line or, in the child, a
 *              record on the error pipe that the parent turns into that line
 *   shim.c     the parent side of both modes (berth-shim): sync, relay, resize, wait, report
 *   child.c    the child's first steps in both modes: failure pipe, fds, wait for `go`, stdio
 *   run.c      `run`, the parent side up to clone
 *   init.c     `run`, the child side: the container's setup sequence up to exec
 *   exec.c     `exec`, both sides: join a running container's namespaces, fork, set up, exec
 *   hold.c     `hold`: mount a container's filesystem in a mount namespace of its own,
 *              pivot_root into it, wait for berthd to close fd 3
 *   reaper.c   `--init`: PID 1 forks the command, forwards signals to it, reaps zombies
 *   console.c  the pseudo-terminal: allocated inside the container, master passed to the shim
 *   mounts.c   path resolution inside the rootfs, mount option parsing, mount helpers
 *   rootfs.c   the container's filesystem: overlay, /proc /dev /sys ..., masks, pivot_root
 *   devices.c  /dev nodes and symlinks
 *   caps.c     capability sets
 *   seccomp.c  the default seccomp filter (classic BPF, Docker's default profile as a deny list)
 *   process.c  rlimits, oom score, identity, PATH lookup and exec
 *   stdio.c    relaying stdio when berthd hands us sockets (they cannot be reopened
 *              through /dev/stdout; pipes can)
 */
#ifndef BERTH_HELPER_H
#define BERTH_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/types.h>

#define CONTROL_FD 3
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SPEC_VERSION "1"

enum helper_mode { MODE_RUN, MODE_EXEC, MODE_HOLD };

/* ---- spec.c ---------------------------------------------------------------------------- */

struct strlist {
	char **v;
	size_t n, cap;
};

struct mount_entry {
	char *source, *destination, *type, *options;
};

struct rlimit_entry {
	int resource;
	const char *name;
	struct rlimit limit;
};

enum net_mode { NET_NEW, NET_HOST, NET_PATH };

/* iface=<name>\t<IPv4>\t<prefix length>[\t<gateway>]: an interface berthd moved into the new
 * network namespace; init gives it its address, brings it up and, with a gateway, adds the
 * default route (net.c). */
struct iface_entry {
	char *name;
	struct in_addr address;
	unsigned prefix;
	bool gateway_set;
	struct in_addr gateway;
};

struct spec {
	struct strlist lower; /* top-most first */
	char *upper, *work, *target; /* hold: upper and work NULL for a read-only rootfs */
	bool rootfs_readonly;
	char *hostname;
	struct strlist args, env;
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups, groups_cap;
	uint64_t caps; /* bit n = capability n */
	enum net_mode net;
	char *net_path;
	struct iface_entry *ifaces;
	size_t nifaces, ifaces_cap;
	struct mount_entry *mounts;
	size_t nmounts, mounts_cap;
	struct strlist masked, readonly_paths;
	struct rlimit_entry *rlimits;
	size_t nrlimits, rlimits_cap;
	bool no_new_privileges, privileged, open_stdin;
	int oom_score_adj;
	bool tty;
	bool console_size; /* console_rows/cols were given */
	unsigned short console_rows, console_cols;
	bool init; /* --init: PID 1 is reaper.c */
	bool seccomp; /* seccomp=default (the default): seccomp.c's filter; false: unconfined */
	pid_t container_pid; /* exec: the running container's init */
};

/* Reads and parses the spec for `mode` from fd 3; reports `error spec ...` and exits on
 * failure. */
void spec_read(struct spec *spec, enum helper_mode mode);

/* ---- channel.c ------------------------------------------------------------------------- */

/* Reads the spec: every record up to and including `end\0`. Returns a malloc'd copy of the
 * records (NUL-separated) and its length, or NULL at EOF/error/oversize (errno set). */
char *channel_read_spec(size_t *len);
/* One read(2) from fd 3 into the buffer: >0 bytes read, 0 at EOF, -1 on error. */
ssize_t channel_fill(void);
/* The next complete control line already buffered (without '\n'), or NULL. The pointer is
 * valid until the next channel call. */
char *channel_next_line(void);
/* Writes a message line to berthd; false if berthd is gone. */
bool channel_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- fail.c ---------------------------------------------------------------------------- */

#define FAIL_STAGE_MAX 32
#define FAIL_MESSAGE_MAX 448

/* What the child sends through the error pipe: one write, smaller than PIPE_BUF. */
struct failure {
	int err;
	char stage[FAIL_STAGE_MAX];
	char message[FAIL_MESSAGE_MAX];
};

/* From now on, fail() writes a struct failure to `fd` (the child's error pipe). */
void fail_to_pipe(int fd);
/* Reports a failure (errno `err`, 0 if none) at `stage` and exits. */
_Noreturn void fail(const char *stage, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* strerror() the way Go prints it (`no such file or directory`): berthd and the docker CLI show
 * these messages as runc would. */
const char *errstr(int err);
/* Sends a failure as the `error` line. */
void fail_send(const struct failure *f);

/* ---- shim.c ---------------------------------------------------------------------------- */

struct relay;

/* What the parent made before clone/fork. The shim owns these fds from here on. */
struct shim_start {
	pid_t pid;	   /* the child (host PID) */
	int sync_write;	   /* one byte releases the child once berthd says `go` */
	int error_read;	   /* O_CLOEXEC in the child: a struct failure, or EOF at exec */
	int console;	   /* -1, or the socket the pty master arrives on (tty) */
	struct relay *relay;
};

/* The fds both sides make before clone/fork: sync and error pipes, the console socketpair
 * (tty only) and the stdio relay. */
struct child_fds {
	int sync_read;	 /* parent → child: one byte after berthd's `go`; EOF = abort */
	int error_write; /* child → parent, O_CLOEXEC: a struct failure, or EOF at exec */
	int console;	 /* -1, or the child's end of the console socketpair */
	int netns;	 /* run: -1, or the network namespace to join */
	int stdio[3];	 /* pipes to put on 0/1/2, or -1 to keep the inherited fd */
	int parent_only[8]; /* the parent's ends, closed first thing in the child (-1 = unused) */
};

/* Makes the pipes, the console socketpair and the relay for a child about to be created;
 * `start` gets the parent's ends (pid still 0). */
void shim_prepare(const struct spec *spec, struct child_fds *child, struct shim_start *start);
/* Parent side after clone/fork: closes the child's ends. */
void shim_close_child_ends(struct child_fds *child);
/* Sends `pid`, relays `go`, reports `started` | `error`, relays stdio and resizes, reports
 * `exit`. Returns the helper's exit status. */
int shim_main(struct shim_start *start);

/* ---- run.c / init.c / exec.c / hold.c -------------------------------------------------- */

int run_main(void);
int exec_main(void);
/* `argv` (from main) is rewritten to read `berth-hold <target>` once the spec is read. */
int hold_main(int argc, char **argv);

_Noreturn void init_main(const struct spec *spec, const struct child_fds *fds);

/* The child's first steps, in both modes: take the failure pipe, name itself, close the
 * parent's fds and fd 3, die with the parent. */
void child_begin(const struct child_fds *fds, const char *name);
/* Blocks until the parent relays berthd's `go`; _exit()s if the start was abandoned. */
void child_await_go(int fd);
/* stdio onto 0/1/2 (not with a tty: the console replaces them later). */
void child_stdio(const struct spec *spec, const struct child_fds *fds);

/* ---- reaper.c -------------------------------------------------------------------------- */

/* --init: forks; the child execs the command; the caller stays PID 1, forwards every signal
 * to it, reaps every zombie, and exits with its status once it has ended. `error_write` is
 * closed after the fork so that the pipe reaches EOF when the command is exec'd. */
_Noreturn void reaper_main(const struct spec *spec, int error_write);

/* ---- console.c ------------------------------------------------------------------------- */

/* In the container (its /dev/ptmx): a new pty whose slave becomes the controlling terminal
 * and fds 0/1/2 (setsid, TIOCSCTTY), sized from the spec, owned by the spec's user; the master
 * goes to the shim over `sock` (SCM_RIGHTS). Closes `sock`. */
void console_setup(const struct spec *spec, int sock);
/* Shim side: the master sent over `sock`, or -1 (the child died first). */
int console_receive(int sock);
/* TIOCSWINSZ on the master; the kernel sends SIGWINCH to the foreground process group. */
void console_resize(int master, unsigned short rows, unsigned short cols);

/* ---- mounts.c -------------------------------------------------------------------------- */

enum create_kind { CREATE_NONE, CREATE_DIR, CREATE_FILE };

struct mount_options {
	unsigned long flags;	 /* MS_* applied at mount time */
	unsigned long propagation; /* MS_PRIVATE/MS_SLAVE/... | MS_REC, applied afterwards */
	bool bind, recursive;
	char data[1024];	 /* the options the filesystem parses */
};

/* Parses mount(8)-style options (`ro,nosuid,mode=755`); false on an oversized data string. */
bool mount_options_parse(const char *csv, struct mount_options *out);

/* Opens `path` inside the directory `root_fd` as an O_PATH fd, resolving every component (and
 * symlink) inside it (openat2 RESOLVE_IN_ROOT), creating what is missing when asked. Returns
 * -1 with errno set. */
int root_open(int root_fd, const char *path, enum create_kind create);

/* "/proc/self/fd/N": mount(2) targets given as an fd, so no path is resolved twice. */
struct fd_path {
	char s[32];
};
struct fd_path fd_path(int fd);

/* Bind-remounts the top mount at (root_fd, path) adding MS_* `flags` (MS_RDONLY...) to the
 * per-mount flags it already has (a bind remount replaces them all). */
int remount_bind(int root_fd, const char *path, unsigned long flags);

/* ---- rootfs.c / devices.c -------------------------------------------------------------- */

/* Everything from the overlay up to the read-only remount of the rootfs; returns an O_PATH fd
 * of the mounted rootfs. */
int rootfs_prepare(const struct spec *spec);
/* `hold`: / rslave, the rootfs (a writable overlay with upper and work, else a read-only
 * overlay of the lower dirs, or a read-only bind of a single one), every mount nosuid, nodev,
 * noexec; then the spec's mounts but tmpfs. Returns an O_PATH fd of the mounted rootfs. */
int rootfs_hold(const struct spec *spec);
/* pivot_root into it and detach the old root; leaves the process at "/". */
void rootfs_pivot(int root_fd);
/* /dev nodes and symlinks in the fresh /dev tmpfs (all host devices when privileged). */
void devices_setup(int root_fd, bool privileged);

/* ---- caps.c ---------------------------------------------------------------------------- */

/* Before switching user: drop the bounding set to `caps`, keep capabilities over setuid. */
void caps_prepare(uint64_t caps);
/* After switching user: permitted, effective, inheritable = caps; ambient too for non-root. */
void caps_apply(uint64_t caps, uid_t uid);

/* ---- seccomp.c ----------------------------------------------------------------------- */

/* With spec->seccomp: installs the default filter (what it denies depends on spec->caps).
 * Call while the process still has CAP_SYS_ADMIN, before switching user. */
void seccomp_apply(const struct spec *spec);

/* net.c */
void net_loopback_up(void);
/* After net_loopback_up(), in the new network namespace: spec->ifaces (address, netmask, up,
 * default route), by ioctl. */
void net_interfaces_up(const struct spec *spec);

/* ---- process.c ------------------------------------------------------------------------- */

void process_limits(const struct spec *spec);
/* exec: the rlimits and oom_score_adj of the container's init, into the spec for
 * process_limits (runc gives exec'd processes the container's). `pid` is a host PID: call it
 * from the host's pid namespace. */
void process_read_limits(pid_t pid, struct spec *spec);
void process_identity(const struct spec *spec);
/* Resets the signal mask and dispositions, looks the command up in the spec's PATH, execs. */
/* Limits, capabilities, seccomp, user, no_new_privs, umask: everything between setup and exec. */
void process_drop_privileges(const struct spec *spec);
_Noreturn void process_exec(const struct spec *spec);

/* ---- stdio.c --------------------------------------------------------------------------- */

/* For each of fds 0/1/2 that is a socket, creates a pipe for the child (child_fds[i]; -1 when
 * the fd passes straight) and returns the relay state the parent pumps. */
struct relay *relay_create(int child_fds[3]);
/* With a tty: the child gets nothing (the pty replaces its stdio); 0 → master and
 * master → 1 are relayed once the master is attached; fd 2 carries nothing and is ended by
 * relay_finish, with the output (ending it at once would hand berthd an EOF before `started`,
 * which a stream nobody reads yet loses). */
struct relay *relay_create_tty(void);
/* Starts relaying through the pty master (the relay takes its own duplicates). Input EOF
 * closes only the relay's duplicate: the terminal stays open until the process exits. */
void relay_attach_master(struct relay *r, int master);
/* Parent side after clone: closes the child's pipe ends. */
void relay_close_child_ends(int child_fds[3]);
/* Adds the relay's fds to a poll set (at most RELAY_MAX_POLLFDS); returns how many. */
#define RELAY_MAX_POLLFDS 3
size_t relay_poll_fds(struct relay *r, struct pollfd *pollfds);
/* Moves what is ready after poll(); call with the entries relay_poll_fds filled. */
void relay_pump(struct relay *r, const struct pollfd *pollfds, size_t n);
/* True when every output stream (container stdout/stderr) has reached EOF. */
bool relay_outputs_done(const struct relay *r);
/* After the drain, before `exit`: ends what the relay still holds open for berthd (with a
 * tty, fd 2). */
void relay_finish(struct relay *r);

#endif
