/*
 * crashloop: a runtime that fails at once, for bench/supervise.py's
 * crash-to-restart latency measurement.
 *
 * usage: crashloop [LOG [CODE]]
 *
 * Appends "start <ns>\n" to LOG (default: $CRASHLOOP_LOG) when it starts,
 * then "exit <ns>\n", and exits with CODE (default 1). <ns> is
 * CLOCK_REALTIME in nanoseconds. Each line is one write(2) to a descriptor
 * opened with O_APPEND, so lines of consecutive runs never interleave.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void stamp(int fd, const char *what)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%s %lld\n", what, now_ns());
	if (write(fd, line, (size_t)n) != n)
		_exit(2);
}

int main(int argc, char **argv)
{
	long long start = now_ns();
	const char *path = argc > 1 ? argv[1] : getenv("CRASHLOOP_LOG");
	int code = argc > 2 ? atoi(argv[2]) : 1;
	if (path == NULL || *path == '\0') {
		fputs("crashloop: no log file (argv[1] or CRASHLOOP_LOG)\n", stderr);
		return 2;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		return 2;
	}
	char line[64];
	int n = snprintf(line, sizeof line, "start %lld\n", start);
	if (write(fd, line, (size_t)n) != n)
		return 2;
	stamp(fd, "exit");
	close(fd);
	return code;
}
