/* The network setup the container's init does itself, after `go`: a new network namespace
 * starts with `lo` down, and Docker's containers always have it up; and the interfaces berthd
 * created straight into this namespace (`iface=` records: eth0 already named and with its MAC)
 * get their address, come up and, for the first on a non-internal network, carry the default
 * route. Plain ioctls: no netlink, no spawn. */
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"

void net_loopback_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("loopback", errno, "socket: %s", errstr(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		fail("loopback", errno, "read the flags of lo: %s", errstr(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
		fail("loopback", errno, "bring lo up: %s", errstr(errno));
	close(fd);
}

static void set_inet(struct sockaddr *sa, struct in_addr a)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	memset(in, 0, sizeof *in);
	in->sin_family = AF_INET;
	in->sin_addr = a;
}

void net_interfaces_up(const struct spec *spec)
{
	if (spec->nifaces == 0)
		return;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("network", errno, "socket: %s", errstr(errno));
	for (size_t i = 0; i < spec->nifaces; i++) {
		const struct iface_entry *e = &spec->ifaces[i];
		char addr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &e->address, addr, sizeof addr);
		struct ifreq ifr;
		memset(&ifr, 0, sizeof ifr);
		strncpy(ifr.ifr_name, e->name, IFNAMSIZ - 1);
		set_inet(&ifr.ifr_addr, e->address);
		if (ioctl(fd, SIOCSIFADDR, &ifr) != 0)
			fail("network", errno, "set address %s on %s: %s", addr, e->name, errstr(errno));
		/* The address came with its class's mask: now the real one (the kernel moves the
		 * prefix route and the broadcast address along). */
		struct in_addr mask = { htonl(e->prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> e->prefix)) };
		set_inet(&ifr.ifr_netmask, mask);
		if (ioctl(fd, SIOCSIFNETMASK, &ifr) != 0)
			fail("network", errno, "set netmask /%u on %s: %s", e->prefix, e->name, errstr(errno));
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
			fail("network", errno, "read the flags of %s: %s", e->name, errstr(errno));
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
			fail("network", errno, "bring %s up: %s", e->name, errstr(errno));
		if (!e->gateway_set)
			continue;
		struct rtentry rt;
		memset(&rt, 0, sizeof rt);
		struct in_addr any = { 0 };
		set_inet(&rt.rt_dst, any);
		set_inet(&rt.rt_genmask, any);
		set_inet(&rt.rt_gateway, e->gateway);
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = (char *)e->name;
		if (ioctl(fd, SIOCADDRT, &rt) != 0) {
			char gw[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &e->gateway, gw, sizeof gw);
			fail("network", errno, "default route via %s dev %s: %s", gw, e->name, errstr(errno));
		}
	}
	close(fd);
}
