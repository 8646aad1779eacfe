// Errors of the actuator. A failed file operation keeps the errno and says what was being
// attempted on which file, so a log line alone tells an operator what went wrong where.

/** A failed read or write of a cgroup or journal file. */
export class ActuateError extends Error {
  /** errno name from the system call ("EINVAL", "ENOENT"), when there was one */
  readonly code: string | undefined;
  readonly errno: number | undefined;
  readonly path: string;

  /** `attempt` reads as a phrase: `writing "50000" to`, `reading`, `fsyncing`. */
  constructor(attempt: string, path: string, cause?: unknown, detail?: string) {
    const sys = cause as NodeJS.ErrnoException | undefined;
    const code = typeof sys?.code === 'string' ? sys.code : undefined;
    // Node's message looks like "EINVAL: invalid argument, write": keep the part before the comma.
    const why = detail ?? (sys?.message ? sys.message.split(',')[0] : String(cause));
    super(`${attempt} ${path}: ${why}`, cause === undefined ? undefined : { cause });
    this.name = 'ActuateError';
    this.code = code;
    this.errno = typeof sys?.errno === 'number' ? sys.errno : undefined;
    this.path = path;
  }
}

/** The actuator will not touch this workload (outside the policy's selection, or no cpu cgroup). */
export class RefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedError';
  }
}
