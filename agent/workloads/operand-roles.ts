// How a program takes the words of its command line (task signatures, signature.ts): which name
// an input to size, which its output (sized as inputs, outputs gave each run a signature of its
// own), which no file at all, and which the folder its later names are found from. A table of
// common programs, not a shell: what it does not name is read as an input.
import { basename } from 'node:path';

/** An argument `key=value` (not an option): its value may name an input. */
export const KEY_VALUE = /^[A-Za-z_][\w.-]*=/;

/** Options that take the next word as their value, by program (an operand it is not). */
const VALUE_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  rsync: ['--exclude', '--include', '--exclude-from', '--include-from', '--files-from', '-e', '--rsh', '--link-dest', '--compare-dest', '--copy-dest',
    '--partial-dir', '-T', '--temp-dir', '--backup-dir', '--log-file', '--chmod', '--chown', '--suffix', '-f', '--filter', '--max-size', '--min-size',
    '--bwlimit', '--timeout', '--port', '--password-file', '--rsync-path', '-B', '--block-size'],
  cp: ['-S', '--suffix', '-t', '--target-directory'],
  mv: ['-S', '--suffix', '-t', '--target-directory'],
  ln: ['-S', '--suffix', '-t', '--target-directory'],
  install: ['-S', '--suffix', '-m', '--mode', '-o', '--owner', '-g', '--group', '-t', '--target-directory'],
  scp: ['-P', '-i', '-o', '-F', '-c', '-l', '-S', '-J'],
};

/** Commands that run another (the word after their own options and leading words): its words are that command's. */
const WRAPPERS: Readonly<Record<string, { values: readonly string[]; leading: number; assignments?: boolean }>> = {
  timeout: { values: ['-s', '--signal', '-k', '--kill-after'], leading: 1 },
  nice: { values: ['-n', '--adjustment'], leading: 0 },
  ionice: { values: ['-c', '--class', '-n', '--classdata', '-p', '--pid'], leading: 0 },
  nohup: { values: [], leading: 0 },
  time: { values: ['-f', '--format', '-o', '--output'], leading: 0 },
  stdbuf: { values: ['-i', '-o', '-e'], leading: 0 },
  env: { values: ['-u', '--unset', '-C', '--chdir', '-S', '--split-string'], leading: 0, assignments: true },
  sudo: { values: ['-u', '--user', '-g', '--group', '-C', '--close-from', '-D', '--chdir', '-h', '--host', '-p', '--prompt', '-r', '--role', '-t', '--type', '-U', '--other-user'], leading: 0 },
  taskset: { values: [], leading: 1 },
  chrt: { values: [], leading: 1 },
  xargs: { values: ['-I', '-n', '--max-args', '-P', '--max-procs', '-L', '--max-lines', '-s', '--max-chars', '-d', '--delimiter', '-E', '-a', '--arg-file'], leading: 0 },
};

/** Programs that remove or move the files they are given (a glob's matches go as they run). */
const CONSUMERS: ReadonlySet<string> = new Set(['rm', 'mv', 'unlink', 'shred']);
/** Compressors that replace the files they are given, unless kept (`-k`) or written to stdout (`-c`); in a pipe, given none, they replace nothing. */
const COMPRESSORS: ReadonlySet<string> = new Set(['gzip', 'gunzip', 'bzip2', 'bunzip2', 'xz', 'unxz', 'lzma', 'pigz', 'lz4']);

/** Whether a command removes, moves or replaces the files it names (`gzip *.log`, `tar --remove-files`, `find -delete` too). */
export function consumes(name: string, args: ReadonlyArray<string | null>): boolean {
  if (CONSUMERS.has(name)) return true;
  if (COMPRESSORS.has(name)) {
    const kept = args.some((a) => a !== null && (a === '--keep' || a === '--stdout' || a === '--to-stdout' || /^-[A-Za-z0-9]*[kc]/.test(a)));
    return !kept && args.some((a) => a === null || !a.startsWith('-'));
  }
  if (name === 'zstd' || name === 'unzstd') return args.includes('--rm');
  if (name === 'tar' || name === 'bsdtar') return args.includes('--remove-files');
  if (name === 'find') return args.includes('-delete');
  return false;
}

/**
 * How a program takes a word of its command line: an input (undefined), an output, no file at
 * all, the folder its later relative names are found from (`-C dir`), or an input found from
 * where it started whatever `-C` said (tar's archive). What one program writes, its operands
 * tell: sized as inputs, `tee -a job.log` (gone by the read, its log older than the slack) or
 * `cp`'s, `rsync`'s or `tar -x`'s destination (files made with old mtimes) gave each run a
 * signature of its own (a review).
 */
export function operandRoles(command: string | null, words: ReadonlyArray<string | null>): Array<'out' | 'none' | 'within' | 'from-start' | undefined> {
  const roles = new Array<'out' | 'none' | 'within' | 'from-start' | undefined>(words.length).fill(undefined);
  const name = command === null ? '' : basename(command);
  const isOption = (w: string | null): boolean => w !== null && w.startsWith('-') && w !== '-';
  // a wrapper (`timeout 5m cp ...`, `xargs cp -t dst`): the command it runs takes the words after its own
  const wrapper = WRAPPERS[name];
  if (wrapper) {
    let k = 0;
    for (let left = wrapper.leading; k < words.length; k++) {
      const w = words[k];
      if (w === null) break;
      if (isOption(w)) {
        if (wrapper.values.includes(w)) k++;
        continue;
      }
      if (wrapper.assignments && KEY_VALUE.test(w)) continue;
      if (left-- > 0) continue;
      break;
    }
    for (let i = 0; i < Math.min(k + 1, words.length); i++) roles[i] = 'none';
    if (k < words.length) roles.splice(k + 1, words.length - k - 1, ...operandRoles(words[k] ?? null, words.slice(k + 1)));
    return roles;
  }
  // (an option's value is no operand: `rsync -a src/ dst/ --exclude .git`)
  const valued = new Set(VALUE_OPTIONS[name] ?? []);
  const operands: number[] = [];
  for (let i = 0; i < words.length; i++) {
    if (isOption(words[i]!)) {
      if (valued.has(words[i]!)) i++;
      continue;
    }
    operands.push(i);
  }
  /** the word after option `flag` (or its `--flag=value` form) has `role` */
  const valueOf = (flags: readonly string[], role: 'out' | 'within' | 'from-start'): void => {
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (w === null) continue;
      if (flags.includes(w) && i + 1 < words.length) {
        roles[i + 1] = role;
        const at = operands.indexOf(i + 1);
        if (at >= 0) operands.splice(at, 1);
      } else if (flags.some((f) => f.startsWith('--') && w.startsWith(`${f}=`))) roles[i] = role;
    }
  };
  switch (name) {
    case 'tee':
      for (const i of operands) roles[i] = 'out';
      break;
    case 'cp': case 'mv': case 'install': case 'ln': case 'rsync': case 'scp': {
      // (-t, or a cluster ending in it, `-vt dst`: the folder they go to)
      const target = words.findIndex((w) => w !== null && (/^-[A-Za-z]*t$/.test(w) || w === '--target-directory' || w.startsWith('--target-directory=')));
      if (target >= 0 && name !== 'rsync' && name !== 'scp') {
        const at = words[target]!.includes('=') ? target : target + 1;
        if (at < words.length) roles[at] = 'out';
      } else if (operands.length >= 2) roles[operands[operands.length - 1]!] = 'out';
      break;
    }
    // (what these name they make, remove or print: not read; a cd's folder is where the next commands run, sized where they name it)
    case 'touch': case 'rm': case 'rmdir': case 'mkdir': case 'truncate': case 'chmod': case 'chown': case 'chgrp': case 'mktemp': case 'shred':
    case 'cd': case 'pushd': case 'popd': case 'echo': case 'printf':
      for (let i = 0; i < words.length; i++) roles[i] = 'none';
      break;
    case 'tar': case 'bsdtar': {
      // its mode from its option clusters (`-czf`, `--create`) or an old-style first word (`czf`)
      const first = words[0];
      const clusters = words.filter((w, i): w is string => w !== null && (/^-[A-Za-z]+$/.test(w) || (i === 0 && /^[A-Za-z]+$/.test(w))));
      const letters = clusters.join('');
      const writes = /[cru]/.test(letters) || words.some((w) => w === '--create' || w === '--append' || w === '--update');
      const extracts = /x/.test(letters) || words.some((w) => w === '--extract' || w === '--get');
      // the archive: the word after the cluster that ends in f (or -f, --file)
      for (let i = 0; i < words.length; i++) {
        const w = words[i];
        if (w === null || i + 1 >= words.length) continue;
        const cluster = /^-[A-Za-z]*f$/.test(w) || (i === 0 && w === first && /^[A-Za-z]*f[A-Za-z]*$/.test(w) && !w.startsWith('-'));
        if (cluster || w === '--file') roles[i + 1] = writes ? 'out' : 'from-start';
      }
      for (let i = 0; i < words.length; i++) if (words[i]?.startsWith('--file=')) roles[i] = writes ? 'out' : 'from-start';
      valueOf(['-C', '--directory'], extracts ? 'out' : 'within');
      // (what it extracts names members, not files here)
      if (extracts) for (let i = 0; i < words.length; i++) if (roles[i] === undefined && !isOption(words[i]!)) roles[i] = 'none';
      break;
    }
    case 'make': case 'gmake': case 'git': case 'ninja': case 'patch':
      valueOf(['-C', '--directory'], 'within');
      break;
    case 'unzip':
      valueOf(['-d'], 'out');
      break;
    case 'wget':
      valueOf(['-O', '--output-document', '-P', '--directory-prefix', '-o', '--output-file'], 'out');
      break;
    case 'curl':
      valueOf(['--output-dir'], 'out');
      break;
    default:
      break;
  }
  return roles;
}
