// thread-exec SECONDS PROG [ARGS...]: for SECONDS, again and again, fork a child in which a
// second thread execs PROG (the thread takes the leader's pid as it execs) while the main
// thread waits; wait for the child. The sched kernel test's workload for a task whose pid
// changes on its CPU.
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char **prog;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *exec_prog(void *unused)
{
	(void)unused;
	execv(prog[0], prog);
	_exit(127);
}

int main(int argc, char **argv)
{
	double until;

	if (argc < 3)
		return 2;
	until = now() + atof(argv[1]);
	prog = argv + 2;
	while (now() < until) {
		pid_t child = fork();

		int status;

		if (child == 0) {
			pthread_t t;

			if (pthread_create(&t, NULL, exec_prog, NULL) != 0)
				_exit(126);
			pthread_join(t, NULL); /* (never returns: the exec ends this thread) */
			_exit(127);
		}
		/* (a child that did not run PROG to a clean exit fails the loop: no exec, no test) */
		if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 1;
	}
	return 0;
}
