// The words of a shell's `-c` script that may name a task's inputs. `sh -c '...'` is how cron,
// CI runners and Kubernetes launch a job, and the oldest process of its cgroup is then the
// shell: its one argument is the script, so its inputs went unseen (a 50 MB and a 150 MB
// tarball were one task) and the script itself was listed as a missing file (a walkthrough).
//
// This is a reader of words, not a shell: quotes and backslashes are undone; a word that the
// shell would expand (`$x`, `$(...)`, backquotes, `<(...)`, globs, braces, `~`) is kept as not
// looked up, since its value is the shell's; redirections are told apart (`< in` reads, `> out`
// writes); here-documents are skipped; `cd` moves where the next commands' relative words are
// (to a folder not known where it is expanded); `case` patterns are no words.

/**
 * Marks a word that is a glob the shell expands in its folder (`*.log`, `data/part-?`), and no
 * other expansion: its matches are sized together (signature.ts), since `cd /data && tar -cf -
 * *` is how a cron job names its inputs (a walkthrough).
 */
export const GLOB = '\u0001';

/** One simple command of a script. */
export interface ScriptCommand {
  /** its name (null: one the shell expands) */
  name: string | null;
  /** its words after its name, in order; null: one the shell expands (kept in its place: `-o $out` still reads as an output flag and its value); GLOB-marked: a glob */
  args: Array<string | null>;
  /** `< file` targets */
  redirectedIn: string[];
  /**
   * where it runs, as the script's `cd`s left it: undefined, where the shell started; a path
   * (relative to that, or absolute); null: not known (`cd "$dir"`, `cd -`), so relative words
   * name nothing known
   */
  dir: string | null | undefined;
}

/** Shells whose `-c` script is read for inputs (the name the process was called by). */
const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'dash', 'ash', 'hush', 'ksh', 'mksh', 'zsh', 'busybox']);
/** Long options of a shell that take the next argument as their value. */
const VALUE_OPTIONS: ReadonlySet<string> = new Set(['--rcfile', '--init-file']);
/** Words that, where a command's name would be, are the shell's own: the command's name follows. */
const RESERVED: ReadonlySet<string> = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', 'in', 'esac', '{', '}', '!', 'time', 'exec', 'command', 'builtin', 'nohup']);
/** Most words of one script looked at (a generated script can be long). */
const MAX_WORDS = 256;

/**
 * Where a shell's `-c` script is among its arguments (`sh -c`, `bash -euxc`, `bash -eo pipefail
 * -c`), or -1: the first argument after the options, where an option cluster holds `c` (an `o`
 * or `O` in a cluster takes the next argument). `busybox sh -c` is busybox called by another
 * name, so its applet's name comes first.
 */
export function shellScriptIndex(exeName: string, args: readonly string[]): number {
  if (!SHELLS.has(exeName)) return -1;
  let i = 0;
  if (exeName === 'busybox') {
    if (!SHELLS.has(args[0] ?? '') || args[0] === 'busybox') return -1;
    i = 1;
  }
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
    // (each o or O of a cluster takes an argument: -o pipefail, -eo pipefail, -O extglob)
    for (const ch of a.slice(1)) if (ch === 'o' || ch === 'O') i++;
  }
  return command && i < args.length ? i : -1;
}

/** The simple commands of a script, as their words (see the module's note). */
export function scriptCommands(script: string): ScriptCommand[] {
  const commands: ScriptCommand[] = [];
  /** where commands run now (ScriptCommand.dir), and where they ran before each open `(` */
  let dir: string | null | undefined;
  const subshells: Array<string | null | undefined> = [];
  let current: ScriptCommand = { name: null, args: [], redirectedIn: [], dir };
  /** still where a command's name would be (after assignments and reserved words) */
  let atName = true;
  /** its name was `case`: its words are a pattern's, not arguments */
  let isCase = false;
  let word = '';
  let inWord = false;
  let expands = false;
  /** an unquoted glob character in it (`*`, `?`, `[`) */
  let globbed = false;
  /** what the next word is: a command's word, the target of `<`, one not looked at (`>`, `<&`), or a here-document's delimiter */
  let next: 'word' | 'in' | 'skip' | 'heredoc' = 'word';
  /** here-documents whose bodies start at the next line: their delimiters */
  const heredocs: string[] = [];
  let words = 0;

  const endCommand = (): void => {
    if (!isCase && (!atName || current.redirectedIn.length > 0)) {
      commands.push(current);
      if (current.name === 'cd' || current.name === 'pushd') dir = cdTo(dir, current.args);
      else if (current.name === 'popd') dir = null;
    }
    current = { name: null, args: [], redirectedIn: [], dir };
    atName = true;
    isCase = false;
    next = 'word';
  };
  const endWord = (): void => {
    if (!inWord) return;
    words++;
    if (next === 'in') {
      if (!expands) current.redirectedIn.push(word);
    } else if (next === 'heredoc') {
      heredocs.push(word);
    } else if (next === 'word') {
      if (atName) {
        // (assignments, `X=$(date)` too, and reserved words keep the command's name to come)
        if (word === 'case' && !expands) isCase = true;
        else if (!/^[A-Za-z_]\w*=/.test(word) && (expands || !RESERVED.has(word))) {
          atName = false;
          current.name = expands ? null : word;
        }
      } else current.args.push(expands ? null : globbed ? `${GLOB}${word}` : word);
    }
    next = 'word';
    word = '';
    inWord = false;
    expands = false;
    globbed = false;
  };
  /** the index after the `(...)`, `{...}` or backquoted part whose opening is at `at` (nesting counted, quotes not) */
  const skipGroup = (at: number): number => {
    const open = script[at]!;
    const close = open === '(' ? ')' : open === '{' ? '}' : '`';
    let depth = 1;
    let j = at + 1;
    for (; j < script.length && depth > 0; j++) {
      if (script[j] === '\\') j++;
      else if (script[j] === close) depth--;
      else if (script[j] === open && open !== '`') depth++;
    }
    return j;
  };
  /** past the bodies of the here-documents named on the line that ends at `at` (a newline): the index of the last newline skipped */
  const skipHeredocs = (at: number): number => {
    let i = at;
    while (heredocs.length > 0 && i < script.length) {
      const delimiter = heredocs.shift()!;
      for (;;) {
        const end = script.indexOf('\n', i + 1);
        const line = script.slice(i + 1, end < 0 ? script.length : end);
        i = end < 0 ? script.length : end;
        if (line.replace(/^\t+/, '') === delimiter || end < 0) break;
      }
    }
    return i;
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
        if (d === '\\' && script[j + 1] === '\n') j++;
        else if (d === '\\' && '$`"\\'.includes(script[j + 1] ?? '')) word += script[++j];
        else if (d === '$' || d === '`') {
          expands = true;
          if (d === '`') j = skipGroup(j) - 1;
          else if (script[j + 1] === '(' || script[j + 1] === '{') j = skipGroup(j + 1) - 1;
        } else word += d;
      }
      i = j;
      continue;
    }
    if (c === '$' || c === '`') {
      inWord = true;
      expands = true;
      if (c === '`') i = skipGroup(i) - 1;
      else if (script[i + 1] === '(' || script[i + 1] === '{') i = skipGroup(i + 1) - 1;
      continue;
    }
    // (process substitution: a word the shell makes, its commands not read)
    if ((c === '<' || c === '>') && script[i + 1] === '(') {
      endWord();
      inWord = true;
      expands = true;
      i = skipGroup(i + 1) - 1;
      continue;
    }
    if (c === '#' && !inWord) {
      const end = script.indexOf('\n', i);
      i = (end < 0 ? script.length : end) - 1;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
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
      // (arithmetic, `(( x <<= 1 ))`: no command, no here-document)
      if (c === '(' && script[i + 1] === '(') {
        i = skipGroup(i) - 1;
        continue;
      }
      if (c === '(') subshells.push(dir);
      // (what a subshell's `cd` did ends with it)
      if (c === ')' && subshells.length > 0) dir = subshells.pop();
      current.dir = dir;
      if (c === '\n') i = skipHeredocs(i);
      if ((c === '|' || c === '&' || c === ';') && script[i + 1] === c) i++;
      continue;
    }
    if (c === '<' || c === '>') {
      // (a file descriptor's number before it is no word: `2>err.log`)
      if (inWord && !expands && /^\d+$/.test(word)) {
        word = '';
        inWord = false;
      } else endWord();
      const two = script[i + 1];
      if (c === '<' && two === '<') {
        // a here-string (`<<<`): its word is text; a here-document (`<<`, `<<-`): its delimiter
        const here = script[i + 2] === '<';
        i += here ? 2 : script[i + 2] === '-' ? 2 : 1;
        next = here ? 'skip' : 'heredoc';
        continue;
      }
      // `<` reads; `>`, `>>`, `>|`, `<>` write; `<&`, `>&` name a descriptor
      next = c === '<' && two !== '&' && two !== '>' ? 'in' : 'skip';
      if (two === '>' || two === '|' || two === '&') i++;
      continue;
    }
    inWord = true;
    // (braces and `~` are the shell's to expand: the word as typed names nothing; a `{` alone is
    // the shell's group; globs are matched where the word is looked up)
    if ((c === '~' && word === '') || (c === '{' && !/[\s;]/.test(script[i + 1] ?? ' '))) expands = true;
    if (c === '*' || c === '?' || c === '[') globbed = true;
    word += c;
  }
  endWord();
  endCommand();
  return commands;
}

/** Where commands run after `cd`/`pushd` with these words, from `dir` (ScriptCommand.dir). */
function cdTo(dir: string | null | undefined, args: ReadonlyArray<string | null>): string | null {
  const operands = args.filter((a) => a === null || !a.startsWith('-') || a === '-');
  const to = operands[0];
  // (`cd` alone goes home, `cd -` back: not known here, nor an expanded folder)
  if (operands.length !== 1 || to === null || to === undefined || to === '-') return null;
  if (to.startsWith('/')) return to;
  if (dir === null) return null;
  return dir === undefined ? to : `${dir}/${to}`;
}
