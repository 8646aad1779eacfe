// Checks the host before anything is loaded; each failure is one sentence and its own exit code.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  POLICY_INVALID: 3,
  NO_PRIVILEGE: 4,
  NO_BTF: 5,
  NO_FILESYSTEM: 6,
  VERIFIER_REJECTED: 7,
  ATTACH_FAILED: 8,
} as const;

export class PreflightError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = 'PreflightError';
    this.exitCode = exitCode;
  }
}

const CAPS = { CAP_SYS_ADMIN: 21, CAP_PERFMON: 38, CAP_BPF: 39 } as const;

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCaps(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function missingCaps(eff: bigint): string[] {
  return Object.entries(CAPS).filter(([, bit]) => !(eff & (1n << BigInt(bit)))).map(([name]) => name);
}

function mounted(fsType: string, mounts: string): boolean {
  return mounts.split('\n').some((l) => l.split(' ')[2] === fsType);
}

export interface PreflightResult {
  /** filesystems this run mounted (and may unmount when it stops) */
  mounted: string[];
}

/** Everything the kernel side needs; mounts tracefs and bpffs when absent (and says so). */
export function preflight(log: (msg: string) => void = () => {}): PreflightResult {
  const missing = missingCaps(effectiveCaps());
  if (missing.length) {
    const who = process.getuid?.() === 0 ? 'root without' : 'not root and without';
    throw new PreflightError(
      `headroom needs root or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN; this process is ${who} ${missing.join(', ')}`,
      ExitCode.NO_PRIVILEGE,
    );
  }
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    throw new PreflightError(
      'this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing; CONFIG_DEBUG_INFO_BTF=y is needed for CO-RE programs)',
      ExitCode.NO_BTF,
    );
  }
  const result: PreflightResult = { mounted: [] };
  const mounts = readFileSync('/proc/mounts', 'utf8');
  for (const [fsType, dir] of [['tracefs', '/sys/kernel/tracing'], ['bpf', '/sys/fs/bpf']] as const) {
    if (mounted(fsType, mounts)) continue;
    try {
      execFileSync('mount', ['-t', fsType, fsType, dir], { stdio: 'pipe' });
      log(`mounted ${fsType} at ${dir}`);
      result.mounted.push(dir);
    } catch (err) {
      const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || String(err);
      throw new PreflightError(`${fsType} is not mounted at ${dir} and mounting it failed: ${why}`, ExitCode.NO_FILESYSTEM);
    }
  }
  return result;
}
