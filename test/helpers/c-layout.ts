// What the C compiler says about bpf/events.h (and any system `includes`): a small program built
// from `body` (statements using P(name, expr) and O(struct, field) to print a size, offset or
// constant) is compiled against the header and run; its "name value" lines come back as a record of numbers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { projectRoot } from './proc.js';

export function cLayout(body: string, includes: string[] = []): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-layout-'));
  try {
    const src = join(dir, 'layout.c');
    writeFileSync(src, `#include <stdio.h>
#include <stddef.h>
#include "events.h"
${includes.map((h) => `#include <${h}>`).join('\n')}
#define P(name, expr) printf("%s %zu\\n", name, (size_t)(expr))
#define O(s, f) P(#s "." #f, offsetof(struct s, f))
int main(void) {
${body}
  return 0;
}
`);
    const bin = join(dir, 'layout');
    execFileSync('cc', ['-I', resolve(projectRoot, 'bpf'), '-o', bin, src]);
    return Object.fromEntries(execFileSync(bin, { encoding: 'utf8' }).trim().split('\n').map((l) => {
      const [k, v] = l.split(' ');
      return [k, Number(v)];
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
