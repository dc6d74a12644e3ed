/* The pseudo-terminal of `-t`, as runc makes it: allocated by the process itself inside the
 * container (its /dev/ptmx → pts/ptmx, the container's own devpts instance), so the slave is
 * /dev/pts/N there. The slave becomes the controlling terminal and fds 0/1/2; the master goes
 * to the shim over a socketpair (SCM_RIGHTS), which relays it and applies resizes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "helper.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* The slave of `master`: TIOCGPTPEER (no path lookup), else /dev/pts/N. */
static int open_slave(int master)
{
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave >= 0)
		return slave;
	unsigned n;
	if (ioctl(master, TIOCGPTN, &n) != 0)
		fail("console", errno, "ioctl(TIOCGPTN): %s", errstr(errno));
	char path[32];
	snprintf(path, sizeof path, "/dev/pts/%u", n);
	slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		fail("console", errno, "open %s: %s", path, errstr(errno));
	return slave;
}

static void send_master(int sock, int master)
{
	char byte = 'm';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	memset(&control, 0, sizeof control);
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof control.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof master);
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		fail("console", errno, "send the pty master to the shim: %s", errstr(errno));
}

void console_setup(const struct spec *spec, int sock)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		fail("console", errno, "open /dev/ptmx: %s", errstr(errno));
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) != 0)
		fail("console", errno, "unlock the pty (TIOCSPTLCK): %s", errstr(errno));
	int slave = open_slave(master);
	if (spec->console_size) {
		struct winsize ws = { .ws_row = spec->console_rows, .ws_col = spec->console_cols };
		if (ioctl(slave, TIOCSWINSZ, &ws) != 0)
			fail("console", errno, "set the terminal size: %s", errstr(errno));
	}
	/* The user owns its terminal (group tty, mode 0620 from devpts), as under runc. */
	if (spec->uid != 0 && fchown(slave, spec->uid, (gid_t)-1) != 0)
		fail("console", errno, "chown the terminal to %u: %s", spec->uid, errstr(errno));
	if (setsid() < 0)
		fail("console", errno, "setsid: %s", errstr(errno));
	if (ioctl(slave, TIOCSCTTY, 0) != 0)
		fail("console", errno, "make the terminal controlling (TIOCSCTTY): %s", errstr(errno));
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) != i)
			fail("console", errno, "dup2 the terminal onto fd %d: %s", i, errstr(errno));
	close(slave);
	send_master(sock, master);
	close(master);
	close(sock);
}

int console_receive(int sock)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof control.buf };
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int master;
	memcpy(&master, CMSG_DATA(c), sizeof master);
	return master;
}

void console_resize(int master, unsigned short rows, unsigned short cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	ioctl(master, TIOCSWINSZ, &ws); /* the terminal may be gone already: nothing to resize */
}
