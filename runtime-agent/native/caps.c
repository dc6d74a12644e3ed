/* Capabilities with plain syscalls (no libcap): the bounding set is cut before switching user,
 * PR_SET_KEEPCAPS carries the permitted set over setuid, and capset(v3) sets the rest after.
 * Capabilities the helper itself does not hold (or the kernel does not know) are left out, as
 * Docker leaves out what its host lacks for --privileged. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

static int last_cap(void)
{
	int last = -1;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = -1;
		fclose(f);
	}
	if (last < 0) /* no /proc: probe the bounding set */
		for (last = 0; last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0; last++)
			;
	return last;
}

static uint64_t known(uint64_t caps)
{
	int last = last_cap();
	return last >= 63 ? caps : caps & ((1ULL << (last + 1)) - 1);
}

void caps_prepare(uint64_t caps)
{
	int last = last_cap();
	for (int c = 0; c <= last; c++)
		if (!(caps & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
			fail("capabilities", errno, "drop capability %d from the bounding set: %s", c,
			     errstr(errno));
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		fail("capabilities", errno, "prctl(PR_SET_KEEPCAPS): %s", errstr(errno));
}

void caps_apply(uint64_t caps, uid_t uid)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { 0 };
	if (syscall(SYS_capget, &header, data) != 0)
		fail("capabilities", errno, "capget: %s", errstr(errno));
	uint64_t permitted = data[0].permitted | (uint64_t)data[1].permitted << 32;
	caps = known(caps) & permitted;

	/* Docker's sets: bounding = permitted = effective = the list; inheritable and ambient
	 * empty. A non-root user therefore execs with no effective capabilities (the kernel
	 * computes them from file capabilities), as under Docker 23+. */
	for (int i = 0; i < 2; i++) {
		uint32_t half = (uint32_t)(caps >> (32 * i));
		data[i].permitted = data[i].effective = half;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &header, data) != 0)
		fail("capabilities", errno, "capset: %s", errstr(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		fail("capabilities", errno, "clear the ambient set: %s", errstr(errno));
	(void)uid;
}
