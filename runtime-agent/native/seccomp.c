/* The default seccomp filter (`seccomp=default`), classic BPF written by hand (no libseccomp).
 * Modelled on Docker's default profile, but as a deny list: everything is allowed except
 *   - syscalls for another architecture (i386 on x86_64, arm32 on arm64, x32 on x86_64): the
 *     process is killed (SECCOMP_RET_KILL_PROCESS). The deny list below is by syscall number
 *     of the native ABI, so a foreign ABI cannot be filtered; stricter than Docker, which also
 *     filters i386/x32 by name;
 *   - the syscalls in `denied`: EPERM, unless the container holds the capability after which
 *     Docker's profile allows them too (`unless`, -1 for never);
 *   - clone with a namespace flag: EPERM, and clone3: ENOSYS (libc falls back to clone, whose
 *     flags a filter can see), both unless CAP_SYS_ADMIN, as Docker;
 *   - personality other than 0, PER_LINUX32 (8), UNAME26 (0x20000), 0x20008 and 0xffffffff
 *     (a query): EPERM, as Docker.
 * Installed while the process still has every capability (before it switches user), so it
 * works without no_new_privs; the few setup syscalls left after it are never denied. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "helper.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "berth-helper's seccomp filter knows x86_64 and little-endian arm64 only"
#endif

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define NEVER (-1)
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
		  CLONE_NEWNET | CLONE_NEWCGROUP)
#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i)) /* little-endian */
#define ARG_HI(i) (ARG_LO(i) + 4)

#define D(name, cap, cap2) { __NR_##name, cap, cap2 }
static const struct {
	int nr, unless, unless2; /* allowed when the container holds either capability */
} denied[] = {
	D(add_key, NEVER, NEVER), D(keyctl, NEVER, NEVER), D(request_key, NEVER, NEVER),
	D(userfaultfd, NEVER, NEVER), D(kexec_load, NEVER, NEVER),
	D(kexec_file_load, NEVER, NEVER), D(name_to_handle_at, NEVER, NEVER),
	D(swapon, NEVER, NEVER), D(swapoff, NEVER, NEVER), D(pivot_root, NEVER, NEVER),
	D(move_pages, NEVER, NEVER), D(io_uring_setup, NEVER, NEVER),
	D(io_uring_enter, NEVER, NEVER), D(io_uring_register, NEVER, NEVER),
	D(bpf, CAP_SYS_ADMIN, CAP_BPF), D(perf_event_open, CAP_SYS_ADMIN, CAP_PERFMON),
	D(fanotify_init, CAP_SYS_ADMIN, NEVER), D(quotactl, CAP_SYS_ADMIN, NEVER),
	D(mount, CAP_SYS_ADMIN, NEVER), D(umount2, CAP_SYS_ADMIN, NEVER),
	D(unshare, CAP_SYS_ADMIN, NEVER), D(setns, CAP_SYS_ADMIN, NEVER),
#ifdef __NR_lookup_dcookie
	D(lookup_dcookie, CAP_SYS_ADMIN, NEVER),
#endif
	D(open_by_handle_at, CAP_DAC_READ_SEARCH, NEVER),
	D(init_module, CAP_SYS_MODULE, NEVER), D(finit_module, CAP_SYS_MODULE, NEVER),
	D(delete_module, CAP_SYS_MODULE, NEVER),
#ifdef __NR_iopl
	D(iopl, CAP_SYS_RAWIO, NEVER), D(ioperm, CAP_SYS_RAWIO, NEVER),
#endif
	D(reboot, CAP_SYS_BOOT, NEVER), D(acct, CAP_SYS_PACCT, NEVER),
	D(settimeofday, CAP_SYS_TIME, NEVER), D(clock_settime, CAP_SYS_TIME, NEVER),
	D(clock_adjtime, CAP_SYS_TIME, NEVER), D(adjtimex, CAP_SYS_TIME, NEVER),
	D(process_vm_readv, CAP_SYS_PTRACE, NEVER), D(process_vm_writev, CAP_SYS_PTRACE, NEVER),
	D(kcmp, CAP_SYS_PTRACE, NEVER),
	D(mbind, CAP_SYS_NICE, NEVER), D(set_mempolicy, CAP_SYS_NICE, NEVER),
};

static const uint32_t personalities[] = { 0, 8, 0x20000, 0x20008, 0xffffffff };

#define MAX_INSNS 256
struct prog {
	struct sock_filter insn[MAX_INSNS];
	unsigned short n;
};

static void emit(struct prog *p, struct sock_filter f)
{
	if (p->n >= MAX_INSNS) /* a bug in this file: the program is a fixed size */
		fail("seccomp", E2BIG, "seccomp filter: more than %d instructions", MAX_INSNS);
	p->insn[p->n++] = f;
}
#define STMT(code, k) emit(p, (struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) emit(p, (struct sock_filter)BPF_JUMP(code, k, jt, jf))
#define LOAD(off) STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(off))
#define RET(v) STMT(BPF_RET | BPF_K, (uint32_t)(v))
/* if (A == k) fall through, else skip `skip` instructions */
#define IF_EQ(k, skip) JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(k), 0, skip)

static bool has(uint64_t caps, int cap)
{
	return cap >= 0 && (caps & (1ULL << cap));
}

static void build(struct prog *p, uint64_t caps)
{
	LOAD(offsetof(struct seccomp_data, arch));
	JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0);
	RET(SECCOMP_RET_KILL_PROCESS);
	LOAD(offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	JUMP(BPF_JMP | BPF_JSET | BPF_K, __X32_SYSCALL_BIT, 0, 1);
	RET(SECCOMP_RET_KILL_PROCESS);
#endif
	for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
		if (has(caps, denied[i].unless) || has(caps, denied[i].unless2))
			continue;
		IF_EQ(denied[i].nr, 1);
		RET(RET_ERRNO(EPERM));
	}
	if (!has(caps, CAP_SYS_ADMIN)) {
		IF_EQ(__NR_clone3, 1);
		RET(RET_ERRNO(ENOSYS));
		IF_EQ(__NR_clone, 4); /* flags are args[0] on x86_64 and arm64 */
		LOAD(ARG_LO(0));
		JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1);
		RET(RET_ERRNO(EPERM));
		RET(SECCOMP_RET_ALLOW);
	}
	const unsigned np = sizeof personalities / sizeof personalities[0];
	IF_EQ(__NR_personality, (uint8_t)(np + 5));
	LOAD(ARG_HI(0));
	IF_EQ(0, (uint8_t)(np + 1)); /* high half set: EPERM */
	LOAD(ARG_LO(0));
	for (unsigned i = 0; i < np; i++) /* a match jumps to the ALLOW after the EPERM */
		JUMP(BPF_JMP | BPF_JEQ | BPF_K, personalities[i], (uint8_t)(np - i), 0);
	RET(RET_ERRNO(EPERM));
	RET(SECCOMP_RET_ALLOW);
	RET(SECCOMP_RET_ALLOW);
}

void seccomp_apply(const struct spec *spec)
{
	if (!spec->seccomp)
		return;
	static struct prog p;
	p.n = 0;
	build(&p, spec->caps);
	struct sock_fprog fprog = { .len = p.n, .filter = p.insn };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0)
		fail("seccomp", errno, "install the seccomp filter: %s", errstr(errno));
}
