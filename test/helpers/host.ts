// What this host can do, and test registration that skips honestly: a test that needs what the
// host lacks is skipped with its reason, or fails when HEADROOM_REQUIRE_ALL=1 (CI).
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';

export const isRoot = process.getuid?.() === 0;
export const hasBtf = existsSync('/sys/kernel/btf/vmlinux');
export const requireAll = process.env.HEADROOM_REQUIRE_ALL === '1';

/** Registers a test that needs `needs` to hold; otherwise a skip (or a failure in CI). */
export function testIf(
  needs: boolean,
  why: string,
  title: string,
  fn: (t: ExecutionContext) => Promise<void> | void,
): void {
  if (needs) {
    test(title, fn);
  } else if (requireAll) {
    test(title, (t) => t.fail(`HEADROOM_REQUIRE_ALL=1 and this host lacks: ${why}`));
  } else {
    test.skip(`${title} (host lacks: ${why})`, () => {});
  }
}

/** Tests that load BPF programs and write cgroups: root and kernel BTF. */
export function kernelTest(title: string, fn: (t: ExecutionContext) => Promise<void> | void): void {
  testIf(isRoot && hasBtf, !isRoot ? 'root' : 'kernel BTF', title, fn);
}
