// Child processes for tests: the agent's CLI, and workloads started inside a test cgroup.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestCgroup } from './cgroups.js';

export const projectRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const headroomBin = resolve(projectRoot, 'bin/headroom');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<Finished>;
}

/** Starts a command and collects its output; it is killed after `timeoutMs` at the latest. */
export function start(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Running {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const done = new Promise<Finished>((res) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      res({ code, signal, stdout: out, stderr: err });
    });
  });
  return { child, stdout: () => out, stderr: () => err, done };
}

export function headroom(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Running {
  return start(headroomBin, args, opts);
}

let scratch: string | undefined;

/** The working directory test workloads run in: one per test process, removed when it exits.
 * A workload killed outright leaves its scratch behind (stress-ng's tmp-stress-ng-* folders),
 * which must not land in the checkout the tests run from. */
export function workloadDir(): string {
  if (!scratch) {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-test-work-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  return scratch;
}

/** Starts `cmd` already inside `cg` (the shell joins the cgroup before exec, so every child does),
 * in the test process's scratch folder. */
export function startIn(cg: TestCgroup, cmd: string, args: string[], timeoutMs = 60_000): Running {
  const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const enter = cg.procsFiles().map((f) => `echo $$ > '${f}'`).join(' && ');
  return start('sh', ['-c', `${enter} && exec ${quoted}`], { timeoutMs, cwd: workloadDir() });
}

/** Waits until `pred` holds, polling; throws with `what` after `timeoutMs`. */
export async function waitFor(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await pred()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The JSON documents a running child has printed a line each so far: whole lines only (the newest may still be being written). */
export function jsonLines<T>(stdout: string): T[] {
  return stdout.split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as T);
}

/** A TCP port free on 127.0.0.1 right now (for an endpoint under test). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res, rej) => server.once('error', rej).listen(0, '127.0.0.1', res));
  const { port } = server.address() as { port: number };
  await new Promise<void>((res) => server.close(() => res()));
  return port;
}
