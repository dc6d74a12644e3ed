/* berth-helper MODE: `run` starts a container's first process, `exec` another process in a
 * running container (docker exec); see docs/helper-protocol.md. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "helper.h"

int main(int argc, char **argv)
{
	bool run = argc == 2 && strcmp(argv[1], "run") == 0;
	bool exec = argc == 2 && strcmp(argv[1], "exec") == 0;
	if (!run && !exec) {
		fprintf(stderr, "usage: berth-helper run|exec\n"
				"  Spoken to by berthd over fd 3; see docs/helper-protocol.md.\n");
		return 2;
	}
	if (fcntl(CONTROL_FD, F_GETFD) < 0) {
		fprintf(stderr, "berth-helper: fd 3 is not open: berthd passes the spec on it\n");
		return 2;
	}
	prctl(PR_SET_NAME, "berth-shim", 0, 0, 0);
	/* A session of our own: a Ctrl-C in berthd's terminal must not reach the shim or the
	 * container (it would kill one and signal the other); berthd stops containers itself. */
	setsid();
	return run ? run_main() : exec_main();
}
