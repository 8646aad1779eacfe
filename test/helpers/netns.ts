// A test network namespace joined to the host by a veth pair, with a random /30 out of
// 198.18.0.0/15 (the benchmarking range, RFC 2544): the host end holds .1, the namespace end .2.
// Names and addresses are random so two tests running at once cannot collide; remove() kills
// what runs inside and deletes the namespace, which deletes both veth ends and their qdiscs.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { start, startIn, waitFor, type Running } from './proc.js';
import type { TestCgroup } from './cgroups.js';

const IP_TIMEOUT_MS = 10_000;

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: IP_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
}

const dotted = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** Addresses already on the host (root namespace), as 32-bit numbers. */
function hostIPv4(): number[] {
  return [...ip(['-o', '-4', 'addr', 'show']).matchAll(/inet (\d+)\.(\d+)\.(\d+)\.(\d+)/g)]
    .map((m) => ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0);
}

export class TestNetns {
  /** namespace name, "headroom-test-<hex>" */
  readonly name: string;
  /** veth end left on the host */
  readonly hostIf: string;
  /** veth end inside the namespace */
  readonly nsIf: string;
  readonly hostAddr: string;
  readonly nsAddr: string;
  private removed = false;

  private constructor(tag: string, block: number) {
    this.name = `headroom-test-${tag}`;
    this.hostIf = `hrt${tag}h`; // interface names: 15 characters at most
    this.nsIf = `hrt${tag}n`;
    this.hostAddr = dotted(block + 1);
    this.nsAddr = dotted(block + 2);
  }

  /** Creates the namespace and the veth pair, both ends up, addresses set. */
  static create(): TestNetns {
    const base = ((198 << 24) | (18 << 16)) >>> 0; // 198.18.0.0/15: 32768 blocks of 4
    const used = hostIPv4();
    let block = 0;
    for (let tries = 0; ; tries++) {
      block = base + randomInt(0, 32768) * 4;
      if (!used.some((a) => a >= block && a < block + 4)) break;
      if (tries > 20) throw new Error('no free /30 in 198.18.0.0/15 on this host');
    }
    const ns = new TestNetns(randomBytes(4).toString('hex'), block);
    try {
      ip(['netns', 'add', ns.name]);
      ip(['link', 'add', ns.hostIf, 'type', 'veth', 'peer', 'name', ns.nsIf]);
      ip(['link', 'set', ns.nsIf, 'netns', ns.name]);
      ip(['addr', 'add', `${ns.hostAddr}/30`, 'dev', ns.hostIf]);
      ip(['link', 'set', ns.hostIf, 'up']);
      ip(['-n', ns.name, 'addr', 'add', `${ns.nsAddr}/30`, 'dev', ns.nsIf]);
      ip(['-n', ns.name, 'link', 'set', ns.nsIf, 'up']);
      ip(['-n', ns.name, 'link', 'set', 'lo', 'up']);
    } catch (err) {
      ns.removeNow();
      throw err;
    }
    return ns;
  }

  /** Runs a command inside the namespace, bounded in time. */
  exec(cmd: string, args: string[], timeoutMs: number): Running {
    return start('ip', ['netns', 'exec', this.name, cmd, ...args], { timeoutMs });
  }

  /** Runs a command inside the namespace and inside a test cgroup, bounded in time. */
  execIn(cg: TestCgroup, cmd: string, args: string[], timeoutMs: number): Running {
    return startIn(cg, 'ip', ['netns', 'exec', this.name, cmd, ...args], timeoutMs);
  }

  /** Waits until something listens on this TCP port inside the namespace. */
  async waitListening(port: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => {
      const out = execFileSync('ip', ['netns', 'exec', this.name, 'ss', '-Htln', `sport = :${port}`], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
      return out.trim().length > 0;
    }, `a listener on port ${port} in ${this.name}`, timeoutMs);
  }

  /** Puts a root qdisc on the host end of the veth (removed with the namespace). */
  hostQdisc(args: string[]): void {
    execFileSync('tc', ['qdisc', 'replace', 'dev', this.hostIf, 'root', ...args], { timeout: IP_TIMEOUT_MS });
  }

  /** A TcpExt or Tcp counter of the namespace's network stack (/proc/net/netstat, /proc/net/snmp). */
  counter(group: 'Tcp' | 'TcpExt', name: string): number {
    const file = group === 'Tcp' ? '/proc/net/snmp' : '/proc/net/netstat';
    const text = execFileSync('ip', ['netns', 'exec', this.name, 'cat', file], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
    const rows = text.split('\n').filter((l) => l.startsWith(`${group}:`));
    const names = rows[0]?.split(/\s+/) ?? [], values = rows[1]?.split(/\s+/) ?? [];
    const i = names.indexOf(name);
    if (i < 1) throw new Error(`${group} has no counter ${name}`);
    return Number(values[i]);
  }

  /** Kills what still runs inside, then deletes the namespace (and with it the veth pair). */
  async remove(): Promise<void> {
    this.removeNow();
  }

  /** remove(), synchronously (for an exit path). */
  removeNow(): void {
    if (this.removed) return;
    this.removed = true;
    try {
      for (const pid of ip(['netns', 'pids', this.name]).split('\n').filter(Boolean).map(Number)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    } catch { /* the namespace was never made */ }
    try { ip(['netns', 'del', this.name]); } catch { /* never made */ }
    // the host end goes with its peer; should the namespace not have taken it, delete it here
    try { ip(['link', 'del', this.hostIf]); } catch { /* gone already, as expected */ }
  }
}
