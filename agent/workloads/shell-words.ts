// The words of a shell's `-c` script that may name a task's inputs. `sh -c '...'` is how cron,
// CI runners and Kubernetes launch a job, and the oldest process of its cgroup is then the
// shell: its one argument is the script, so its inputs went unseen (a 50 MB and a 150 MB
// tarball were one task) and the script itself was listed as a missing file (a walkthrough).
//
// This is a reader of words, not a shell: quotes and backslashes are undone; a word that the
// shell would expand (`$x`, `$(...)`, backquotes, globs, `~`) is kept as not looked up, since
// its value is the shell's; redirections are told apart (`< in` reads, `> out` writes); each
// simple command's name, and the shell's reserved words, are left out. A here-document ends the
// reading (its body is text, not commands).

/** One simple command of a script: its arguments after its name, and the files redirected into it. */
export interface ScriptCommand {
  /** in order; null: a word the shell expands (kept in its place: `-o $out` still reads as an output flag and its value) */
  args: Array<string | null>;
  /** `< file` targets */
  redirectedIn: string[];
}

/** Shells whose `-c` script is read for inputs (the name the process was called by). */
const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'mksh', 'zsh', 'busybox']);
/** Options of a shell that take the next argument as their value. */
const VALUE_OPTIONS: ReadonlySet<string> = new Set(['-o', '+o', '-O', '+O', '--rcfile', '--init-file']);
/** Words that, where a command's name would be, are the shell's own: the command's name follows. */
const RESERVED: ReadonlySet<string> = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', 'case', 'esac', '{', '}', '!', 'time', 'exec', 'command', 'in']);
/** Most words of one script looked at (a generated script can be long). */
const MAX_WORDS = 256;

/**
 * Where a shell's `-c` script is among its arguments (`sh -c`, `bash -euxc`, `sh -e -o pipefail
 * -c`), or -1: the first argument after the options, where an option cluster holds `c`.
 * `busybox sh -c` is busybox called by another name, so its applet's name comes first.
 */
export function shellScriptIndex(exeName: string, args: readonly string[]): number {
  if (!SHELLS.has(exeName)) return -1;
  let i = exeName === 'busybox' ? 1 : 0;
  if (exeName === 'busybox' && !SHELLS.has(args[0] ?? '')) return -1;
  let command = false;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--' || a === '-') {
      i++;
      break;
    }
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('--')) continue;
    if (!/^[-+][A-Za-z]+$/.test(a)) break;
    if (a.startsWith('-') && a.includes('c')) command = true;
  }
  return command && i < args.length ? i : -1;
}

/** The simple commands of a script, as their words (see the module's note). */
export function scriptCommands(script: string): ScriptCommand[] {
  const commands: ScriptCommand[] = [];
  let current: ScriptCommand = { args: [], redirectedIn: [] };
  /** still where a command's name would be (after assignments and reserved words) */
  let atName = true;
  let word = '';
  let inWord = false;
  let expands = false;
  /** what the next word is: a command's word, the target of `<`, or one not looked at (`>`, `<&`) */
  let next: 'word' | 'in' | 'skip' = 'word';
  let words = 0;

  const endCommand = (): void => {
    if (current.args.length > 0 || current.redirectedIn.length > 0) commands.push(current);
    current = { args: [], redirectedIn: [] };
    atName = true;
  };
  const endWord = (): void => {
    if (!inWord) return;
    words++;
    if (next === 'in') {
      if (!expands) current.redirectedIn.push(word);
    } else if (next === 'word') {
      if (atName) {
        // (assignments and reserved words keep the command's name to come)
        if (expands || !(/^[A-Za-z_]\w*=/.test(word) || RESERVED.has(word))) atName = false;
      } else current.args.push(expands ? null : word);
    }
    next = 'word';
    word = '';
    inWord = false;
    expands = false;
  };
  /** the index after a `$(...)`, `${...}` or backquoted part starting at `i` (nesting counted, quotes not) */
  const skipExpansion = (i: number): number => {
    const open = script[i] === '`' ? '`' : script[i + 1]!;
    const close = open === '(' ? ')' : open === '{' ? '}' : '`';
    let depth = 1;
    let j = open === '`' ? i + 1 : i + 2;
    for (; j < script.length && depth > 0; j++) {
      if (script[j] === '\\') j++;
      else if (script[j] === close) depth--;
      else if (script[j] === open && open !== '`') depth++;
    }
    return j;
  };

  for (let i = 0; i < script.length; i++) {
    if (words >= MAX_WORDS) break;
    const c = script[i]!;
    if (c === '\\') {
      if (script[i + 1] === '\n') { i++; continue; }
      inWord = true;
      if (i + 1 < script.length) word += script[++i];
      continue;
    }
    if (c === "'") {
      const end = script.indexOf("'", i + 1);
      inWord = true;
      word += script.slice(i + 1, end < 0 ? script.length : end);
      i = end < 0 ? script.length : end;
      continue;
    }
    if (c === '"') {
      inWord = true;
      let j = i + 1;
      for (; j < script.length && script[j] !== '"'; j++) {
        const d = script[j]!;
        if (d === '\\' && '$`"\\\n'.includes(script[j + 1] ?? '')) word += script[++j];
        else if (d === '$' || d === '`') {
          expands = true;
          if (d === '`' || script[j + 1] === '(' || script[j + 1] === '{') j = skipExpansion(j) - 1;
        } else word += d;
      }
      i = j;
      continue;
    }
    if (c === '$' || c === '`') {
      inWord = true;
      expands = true;
      if (c === '`' || script[i + 1] === '(' || script[i + 1] === '{') i = skipExpansion(i) - 1;
      continue;
    }
    if (c === '#' && !inWord) {
      const end = script.indexOf('\n', i);
      i = (end < 0 ? script.length : end) - 1;
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      continue;
    }
    if (c === '\n' || c === ';' || c === '|' || c === '&' || c === '(' || c === ')') {
      // (`&>` and `&>>`: both streams redirected, to an output)
      if (c === '&' && script[i + 1] === '>') {
        endWord();
        i += script[i + 2] === '>' ? 2 : 1;
        next = 'skip';
        continue;
      }
      endWord();
      endCommand();
      if ((c === '|' || c === '&' || c === ';') && script[i + 1] === c) i++;
      continue;
    }
    if (c === '<' || c === '>') {
      // (a file descriptor's number before it is no word: `2>err.log`)
      if (inWord && !expands && /^\d+$/.test(word)) {
        word = '';
        inWord = false;
      } else endWord();
      const op = script.slice(i, i + 3);
      if (op.startsWith('<<')) break; // a here-document or here-string: its body is no command
      // `<` reads; `>`, `>>`, `>|`, `<>` write; `<&`, `>&` name a descriptor
      const two = script[i + 1];
      if (c === '<' && two !== '&' && two !== '>') next = 'in';
      else next = 'skip';
      if (two === '>' || two === '|' || two === '&') i++;
      continue;
    }
    inWord = true;
    // (globs and `~` are the shell's to expand: the word as typed names nothing)
    if (c === '*' || c === '?' || c === '[' || (c === '~' && word === '')) expands = true;
    word += c;
  }
  endWord();
  endCommand();
  return commands;
}
