/* berth-helper MODE: `run` starts a container's first process, `exec` another process in a
 * running container (docker exec), `hold` holds a container's filesystem mounted without a
 * process; see docs/helper-protocol.md. */
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
	/* `hold TARGET`: the target (the spec's) only makes the process's title, for ps. */
	bool hold = (argc == 2 || argc == 3) && strcmp(argv[1], "hold") == 0;
	if (!run && !exec && !hold) {
		fprintf(stderr, "usage: berth-helper run|exec|hold [TARGET]\n"
				"  Spoken to by berthd over fd 3; see docs/helper-protocol.md.\n");
		return 2;
	}
	if (fcntl(CONTROL_FD, F_GETFD) < 0) {
		fprintf(stderr, "berth-helper: fd 3 is not open: berthd passes the spec on it\n");
		return 2;
	}
	prctl(PR_SET_NAME, hold ? "berth-hold" : "berth-shim", 0, 0, 0);
	/* A session of our own: a Ctrl-C in berthd's terminal must not reach the shim or the
	 * container (it would kill one and signal the other); berthd stops containers itself. */
	setsid();
	if (hold)
		return hold_main(argc, argv);
	return run ? run_main() : exec_main();
}
