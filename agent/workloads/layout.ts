import { join } from 'node:path';
// Which cgroup hierarchies this host mounts, and where: pure v2, hybrid (v1 controllers beside a
// unified tree that only names tasks), or legacy v1. Read from the mount table rather than
// guessed from directory names, because the v1 cpu hierarchy may be mounted as "cpu",
// "cpu,cpuacct" or "cpuacct,cpu" with symlinks beside it, and cgroup2 at fsRoot or fsRoot/unified.
import { readFileSync } from 'node:fs';

export interface CgroupLayout {
  /** v2: cgroup2 carries the controllers; hybrid: v1 cpu plus a cgroup2 tree; v1: no cgroup2 mounted */
  kind: 'v2' | 'hybrid' | 'v1';
  /** where cgroup2 is mounted (the tree whose inodes bpf_get_current_cgroup_id() reports) */
  unifiedRoot: string | null;
  /** where the v1 hierarchy holding the cpu controller is mounted */
  cpuV1Root: string | null;
  /** where the v1 memory hierarchy is mounted (a workload's memory cgroup has its cpu path there,
   *  as docker's cgroupfs driver and systemd lay them out); absent or null when none */
  memoryV1Root?: string | null;
  /** where the v1 cpuset hierarchy is mounted (the CPUs a workload may run on); absent or null when none */
  cpusetV1Root?: string | null;
  /** where the v1 cpuacct hierarchy is mounted (cumulative CPU time; often cpuV1Root itself); absent or null when none */
  cpuacctV1Root?: string | null;
}

interface CgroupMount {
  mountPoint: string;
  /** the directory of the hierarchy seen at mountPoint ("/" unless a subtree was bind-mounted) */
  root: string;
  fsType: 'cgroup' | 'cgroup2';
  options: string[];
}

/** Reads the mount table of this process and tells where the cgroup hierarchies are. */
export function detectCgroupLayout(fsRoot = '/sys/fs/cgroup'): CgroupLayout {
  let text: string;
  let mountinfo = true;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    // Some sandboxes hide mountinfo but keep the older, flatter table.
    text = readFileSync('/proc/mounts', 'utf8');
    mountinfo = false;
  }
  return layoutFromMounts(text, { fsRoot, format: mountinfo ? 'mountinfo' : 'mounts' });
}

/** The pure half of detectCgroupLayout: a mount table's text in, the layout out. */
export function layoutFromMounts(
  text: string,
  opts: { fsRoot?: string; format?: 'mountinfo' | 'mounts' } = {},
): CgroupLayout {
  const fsRoot = stripSlash(opts.fsRoot ?? '/sys/fs/cgroup');
  const mounts = (opts.format ?? 'mountinfo') === 'mountinfo' ? parseMountinfo(text) : parseProcMounts(text);
  if (mounts.length === 0) {
    throw new Error(
      `no cgroup filesystem is mounted (neither cgroup2 nor a v1 hierarchy in the mount table); ` +
        `mount one, e.g. "mount -t cgroup2 none ${fsRoot}"`,
    );
  }
  const unified = pick(mounts.filter((m) => m.fsType === 'cgroup2'), fsRoot);
  const cpu = pick(mounts.filter((m) => m.fsType === 'cgroup' && m.options.includes('cpu')), fsRoot);
  const memory = pick(mounts.filter((m) => m.fsType === 'cgroup' && m.options.includes('memory')), fsRoot);
  const cpuset = pick(mounts.filter((m) => m.fsType === 'cgroup' && m.options.includes('cpuset')), fsRoot);
  const cpuacct = pick(mounts.filter((m) => m.fsType === 'cgroup' && m.options.includes('cpuacct')), fsRoot);
  const unifiedRoot = unified?.mountPoint ?? null;
  const cpuV1Root = cpu?.mountPoint ?? null;
  const memoryV1Root = memory?.mountPoint ?? null;
  const cpusetV1Root = cpuset?.mountPoint ?? null;
  const cpuacctV1Root = cpuacct?.mountPoint ?? null;
  // The cpu controller can be bound to one hierarchy only: if v1 has it, cgroup2 does not.
  const kind = cpuV1Root === null ? 'v2' : unifiedRoot === null ? 'v1' : 'hybrid';
  if (kind === 'v2' && unifiedRoot === null) {
    throw new Error('only v1 cgroup hierarchies without the cpu controller are mounted; headroom needs cgroup2 or the v1 cpu hierarchy');
  }
  return { kind, unifiedRoot, cpuV1Root, memoryV1Root, cpusetV1Root, cpuacctV1Root };
}

/**
 * Of several mounts of one hierarchy (bind mounts, containers), prefer one that shows the whole
 * tree, then one under fsRoot, then the shortest path.
 */
function pick(mounts: CgroupMount[], fsRoot: string): CgroupMount | undefined {
  const score = (m: CgroupMount): number =>
    (m.root === '/' ? 0 : 4) + (m.mountPoint === fsRoot ? 0 : m.mountPoint.startsWith(fsRoot + '/') ? 1 : 2);
  return [...mounts].sort((a, b) => score(a) - score(b) || a.mountPoint.length - b.mountPoint.length)[0];
}

// mountinfo: "id parent maj:min root mountpoint opts [optional fields...] - fstype source superopts"
function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const fsType = post[0];
    if ((fsType !== 'cgroup' && fsType !== 'cgroup2') || pre.length < 6) continue;
    out.push({
      mountPoint: stripSlash(unescapeOctal(pre[4]!)),
      root: unescapeOctal(pre[3]!),
      fsType,
      // controllers are super options; per-mount options are added in case a kernel differs
      options: [...(post[2] ?? '').split(','), ...pre[5]!.split(',')],
    });
  }
  return out;
}

// /proc/mounts: "source mountpoint fstype options 0 0"; no mount root, so assume the whole tree.
function parseProcMounts(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const fsType = f[2];
    if ((fsType !== 'cgroup' && fsType !== 'cgroup2') || f.length < 4) continue;
    out.push({ mountPoint: stripSlash(unescapeOctal(f[1]!)), root: '/', fsType, options: f[3]!.split(',') });
  }
  return out;
}

/** The kernel writes space, tab, newline and backslash in paths as \ooo. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** The directory of a workload's cgroup in its own hierarchy (v1 cpu, or the unified tree); null when that tree is not mounted. */
export function workloadDir(layout: CgroupLayout, w: { hierarchy: 'v2' | 'v1-cpu'; path: string }): string | null {
  const root = w.hierarchy === 'v1-cpu' ? layout.cpuV1Root : layout.unifiedRoot;
  if (!root) return null;
  // (asked for every workload looked at, each tick: a path as the index makes them is joined as is)
  if (w.path === '/') return root;
  return PLAIN_PATH.test(w.path) && !root.endsWith('/') ? root + w.path : join(root, w.path);
}

/** A cgroup path as the index names them: '/' then names, none empty nor starting with a dot. */
const PLAIN_PATH = /^(?:\/[^/.][^/]*)+$/;
