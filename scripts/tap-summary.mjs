// Reads TAP on stdin, echoes it, and ends with "N passed, N failed, N skipped".
// Exits non-zero when anything failed or when no test ran at all.
import { createInterface } from 'node:readline';

let passed = 0, failed = 0, skipped = 0, bailed = false;
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  console.log(line);
  if (/^not ok\b/.test(line)) {
    if (/#\s*TODO/i.test(line)) skipped++; else failed++;
  } else if (/^ok\b/.test(line)) {
    if (/#\s*(SKIP|TODO)/i.test(line)) skipped++; else passed++;
  } else if (/^Bail out!/.test(line)) {
    bailed = true;
  }
}
if (bailed) failed++;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
