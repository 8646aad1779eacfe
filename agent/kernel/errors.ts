// libbpf failures as JS errors that carry errno and say what was being attempted.
import { constants } from 'node:os';

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, num]) => [num, name]),
);

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

const explanations: Record<string, string> = {
  EPERM: 'operation not permitted (root or CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN needed)',
  EACCES: 'permission denied (the verifier rejected the program or access was refused)',
  ENOENT: 'not found',
  EINVAL: 'invalid argument',
  ENOMEM: 'out of memory (or locked-memory limit reached)',
  E2BIG: 'too big',
  ENOTSUP: 'not supported by this kernel',
  EOPNOTSUPP: 'not supported by this kernel',
  ESRCH: 'no such process or kernel object',
  // (the same number: the name os.constants lists last is the one shown)
  EAGAIN: 'interrupted or busy, try again',
  EWOULDBLOCK: 'interrupted or busy, try again',
};

export class BpfError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly op: string;

  constructor(op: string, errno: number, detail?: string) {
    const code = errnoName(errno);
    const why = explanations[code] ?? code;
    super(`${op}: ${why} [${code}]${detail ? `; ${detail}` : ''}`);
    this.name = 'BpfError';
    this.errno = errno;
    this.code = code;
    this.op = op;
  }
}

/** libbpf 1.x returns -errno from int functions. */
export function check(op: string, ret: number): number {
  if (ret < 0) throw new BpfError(op, -ret);
  return ret;
}
