/*
 * tree: a runtime with a tree of sleeping descendants, for
 * bench/supervise.py's stop-a-tree measurement.
 *
 * usage: tree READY [TOTAL [OUTSIDE]]
 *
 * Forks TOTAL descendants (default 1000): BRANCHES children, each the
 * parent of its share of the leaves; OUTSIDE of the leaves (default 100)
 * call setsid() and so leave the process group (they are still
 * descendants: when their parent dies they are re-parented to the nearest
 * child subreaper). Every process then waits in pause(): SIGTERM's default
 * action ends it. Once all exist, the pids of the descendants are written
 * to READY, one a line, through a temporary file and rename(2), so READY
 * appears whole or not at all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define BRANCHES 10

static void tell(int fd)
{
	/* One pid per write, below PIPE_BUF: writes never interleave. */
	int pid = (int)getpid();
	if (write(fd, &pid, sizeof pid) != (ssize_t)sizeof pid)
		_exit(2);
}

static void leaf(int wfd, int outside)
{
	if (outside && setsid() < 0)
		_exit(2);
	tell(wfd);
	close(wfd);
	for (;;)
		pause();
}

static void branch(int wfd, int leaves, int outside)
{
	for (int i = 0; i < leaves; i++) {
		/* The setsid'ed leaves spread evenly over the branch's leaves. */
		int out = outside > 0 && (long)i * outside / leaves != (long)(i + 1) * outside / leaves;
		pid_t p = fork();
		if (p < 0) {
			perror("tree: fork");
			_exit(2);
		}
		if (p == 0)
			leaf(wfd, out);
	}
	tell(wfd);
	close(wfd);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: tree READY [TOTAL [OUTSIDE]]\n", stderr);
		return 64;
	}
	const char *ready = argv[1];
	int total = argc > 2 ? atoi(argv[2]) : 1000;
	int outside = argc > 3 ? atoi(argv[3]) : 100;
	if (total < BRANCHES || outside < 0 || outside > total - BRANCHES) {
		fputs("tree: TOTAL must be at least 10 and OUTSIDE at most TOTAL-10\n", stderr);
		return 64;
	}
	int fds[2];
	if (pipe(fds) < 0) {
		perror("tree: pipe");
		return 2;
	}
	int leaves = total - BRANCHES;
	for (int b = 0; b < BRANCHES; b++) {
		int n = leaves * (b + 1) / BRANCHES - leaves * b / BRANCHES;
		int o = outside * (b + 1) / BRANCHES - outside * b / BRANCHES;
		pid_t p = fork();
		if (p < 0) {
			perror("tree: fork");
			return 2;
		}
		if (p == 0) {
			close(fds[0]);
			branch(fds[1], n, o);
		}
	}
	close(fds[1]);

	int *pids = calloc((size_t)total, sizeof *pids);
	if (pids == NULL)
		return 2;
	size_t want = (size_t)total * sizeof *pids, got = 0;
	while (got < want) {
		ssize_t n = read(fds[0], (char *)pids + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fputs("tree: a descendant did not report\n", stderr);
			return 2;
		}
		got += (size_t)n;
	}
	close(fds[0]);

	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", ready) >= (int)sizeof tmp)
		return 2;
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		perror(tmp);
		return 2;
	}
	for (int i = 0; i < total; i++)
		fprintf(f, "%d\n", pids[i]);
	if (fclose(f) != 0 || rename(tmp, ready) != 0) {
		perror(ready);
		return 2;
	}
	for (;;)
		pause();
}
