// cgroup id -> workload. The kernel reports, per task, the inode of its cgroup2 directory and
// of its v1 cpu cgroup (0 on pure v2); this index walks both trees and maps inodes back to
// paths. On hybrid hosts the cpu controller, and so CPU accounting and throttling, lives in
// v1 (docker's cgroupfs driver places containers only there), so the v1 cpu cgroup names the
// workload when there is one below the root; otherwise the cgroup2 one does.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseContainerInfo } from './container.js';
import { detectCgroupLayout, type CgroupLayout } from './layout.js';
import type { CgroupKey, Hierarchy, Workload } from './types.js';

export { detectCgroupLayout, type CgroupLayout } from './layout.js';
export { parseContainerInfo, type ContainerInfo } from './container.js';
export type { CgroupKey, Hierarchy, Workload } from './types.js';

export interface WorkloadIndexOptions {
  /**
   * least time between two refreshes triggered by an unknown id (ms); default 200: at most one a
   * tick. At 1000, as long as the tick, a cgroup made a tick after another new one was
   * unnamed for a tick: a task asleep by the next one was never seen to start, and the CPU it
   * used while unnamed was counted in one tick under its name (1.96 cores for one thread).
   */
  lazyRefreshMs?: number;
  /** how long a removed cgroup's path is remembered (ms); default GONE_KEEP_MS */
  goneKeepMs?: number;
}

/** One hierarchy's directories: inode <-> path relative to its mount point. */
interface Tree {
  root: string;
  byIno: Map<bigint, string>;
  byPath: Map<string, bigint>;
  rootIno: bigint | null;
  /** cgroups gone since an earlier walk, and when they were last seen: an event about a task
   *  of a removed cgroup (an OOM victim, a closed connection) still names its workload */
  gone: Map<bigint, { path: string; atMs: number }>;
  /** workloads by inode, as resolve named them since the last walk */
  named: Map<bigint, Workload>;
  /**
   * ids gone longer than `gone` keeps them, or never found by a walk for as long (the oldest
   * forgotten beyond RETIRED_KEPT): resolved as departed workloads. Named `?<id>` and reported,
   * each was a series for good: the probes' maps keep a cgroup's key until their LRU needs it
   */
  retired: Set<bigint>;
}

/** How long a removed cgroup's path is remembered, by default. */
const GONE_KEEP_MS = 120_000;
/**
 * An id a walk made after its first sight did not find (a cgroup removed before any walk saw it)
 * starts no walk of its own for this long: such ids stay in the probes' maps, and each would
 * otherwise walk the trees at every tick. At most UNRESOLVABLE_KEPT are remembered.
 */
const UNRESOLVABLE_KEEP_MS = 60_000;
const UNRESOLVABLE_KEPT = 65_536;
/** Ids of cgroups gone for good remembered at most (Tree.retired; cgroup ids are not reused). */
const RETIRED_KEPT = 65_536;
/** Departed cgroups kept for takeDeparted at most (one who never takes them leaks nothing). */
const DEPARTED_KEEP = 65_536;

export class WorkloadIndex {
  readonly layout: CgroupLayout;
  private readonly lazyRefreshMs: number;
  private readonly goneKeepMs: number;
  private readonly v2: Tree | null;
  private readonly v1cpu: Tree | null;
  /** built on first use, kept while its directory is there; its CPU directory looked at again at each refresh (cpu.max may have come or gone meanwhile) */
  private cache = new Map<string, Workload>();
  private lastRefresh = -Infinity;
  /** ids no walk could find since they were first seen, by tree root and id: when last walked for (see UNRESOLVABLE_KEEP_MS), and first */
  private readonly unresolvable = new Map<string, { since: number; first: number }>();
  /** walks so far: what `list` and `idsOf` say changes only when this does */
  private walks = 0;
  /** ids the probes reported that no walk found for goneKeepMs, retired since the start (their figures left out) */
  neverFound = 0;
  /** cgroups whose directory went (removed, or removed and made again) since the last takeDeparted, by id */
  private departed = new Map<string, { hierarchy: Hierarchy; path: string }>();
  /** more went than departed holds (no one took them): takeDeparted says so */
  private departedOverflow = false;

  constructor(layout: CgroupLayout = detectCgroupLayout(), opts: WorkloadIndexOptions = {}) {
    this.layout = layout;
    this.lazyRefreshMs = opts.lazyRefreshMs ?? 200;
    this.goneKeepMs = opts.goneKeepMs ?? GONE_KEEP_MS;
    this.v2 = layout.unifiedRoot ? emptyTree(layout.unifiedRoot) : null;
    this.v1cpu = layout.cpuV1Root ? emptyTree(layout.cpuV1Root) : null;
  }

  /** Walks both trees again: new cgroups appear, removed ones are forgotten. */
  refresh(): void {
    for (const [hierarchy, tree] of [['v2', this.v2], ['v1-cpu', this.v1cpu]] as const) {
      if (!tree) continue;
      for (const path of walk(tree, this.goneKeepMs)) {
        if (this.departed.size >= DEPARTED_KEEP) this.departedOverflow = true;
        else this.departed.set(`${hierarchy}:${path}`, { hierarchy, path });
      }
    }
    // A workload is what its path says (its id, container) and where its cpu controller is:
    // kept while its directory is there (rebuilt at every walk, a thousand lived ten ticks
    // each), made again where the controller came or went (a parent's subtree_control, or one
    // built while its directory was gone and made again since: a restarted unit)
    for (const [id, w] of this.cache) {
      const tree = w.hierarchy === 'v2' ? this.v2 : this.v1cpu;
      if (!tree?.byPath.has(w.path)) this.cache.delete(id);
      else if (w.hierarchy === 'v2') {
        const cpuDir = this.cpuDir('v2', w.path);
        if (cpuDir !== w.cpuDir) this.cache.set(id, { ...w, cpuDir });
      }
    }
    this.lastRefresh = performance.now();
    this.walks++;
  }

  /**
   * The cgroups whose directory went since the last call (seen by the walks: removed, or removed
   * and made again at the same path, which gives it a new id), for a caller that keeps what it
   * read from their files; `all` when more went than the index keeps (forget everything).
   */
  takeDeparted(): { cgroups: { hierarchy: Hierarchy; path: string }[]; all: boolean } {
    const out = { cgroups: [...this.departed.values()], all: this.departedOverflow };
    this.departed.clear();
    this.departedOverflow = false;
    return out;
  }

  /** How many walks the index has made (a caller rebuilding what it derives from `idsOf` compares it). */
  get generation(): number {
    return this.walks;
  }

  resolve(key: CgroupKey): Workload {
    if (this.lastRefresh === -Infinity) this.refresh(); // the v1 root's inode is needed below
    const v1 = this.v1cpu;
    if (v1 && key.cpuCgid !== 0n && key.cpuCgid !== (v1.rootIno ?? 1n)) return this.named(v1, 'v1-cpu', key.cpuCgid);
    // v1-only hosts mount no cgroup2: every task sits in its (invisible) root.
    if (!this.v2) return this.workload('v2', '/');
    return this.named(this.v2, 'v2', key.cgid);
  }

  /** The workload of a tree's inode, kept by inode until the next walk (asked for every key, each tick). */
  private named(tree: Tree, hierarchy: Hierarchy, ino: bigint): Workload {
    const had = tree.named.get(ino);
    if (had) return had;
    const path = tree.retired.has(ino) ? undefined : this.lookup(tree, ino);
    if (path === undefined) {
      // (a departed id is kept until the next walk, as a named one: the sums resolve its stale
      // keys at every tick; one not named is not kept: a later lookup may walk and find it)
      if (!tree.retired.has(ino)) return unknown(hierarchy, ino);
      const gone = departed(hierarchy, ino);
      tree.named.set(ino, gone);
      return gone;
    }
    const w = this.workload(hierarchy, path);
    tree.named.set(ino, w);
    return w;
  }

  /** Every cgroup known since the last refresh, in both hierarchies. */
  list(): Workload[] {
    const out: Workload[] = [];
    if (this.v2) for (const path of this.v2.byPath.keys()) out.push(this.workload('v2', path));
    if (this.v1cpu) for (const path of this.v1cpu.byPath.keys()) out.push(this.workload('v1-cpu', path));
    return out;
  }

  /** The known cgroups whose path `keep` accepts, in both hierarchies (only those are built). */
  matching(keep: (path: string) => boolean): Workload[] {
    const out: Workload[] = [];
    for (const [hierarchy, tree] of [['v2', this.v2], ['v1-cpu', this.v1cpu]] as const) {
      if (tree) for (const path of tree.byPath.keys()) if (keep(path)) out.push(this.workload(hierarchy, path));
    }
    return out;
  }

  /**
   * The known cgroups whose path `keep` accepts, in both hierarchies, by kernel id (directory
   * inode: what a probe's key holds; each hierarchy numbers its own). Unlike the ids the probes
   * have seen, these include cgroups none of whose tasks has run yet.
   */
  idsOf(keep: (path: string) => boolean): { hierarchy: Hierarchy; id: bigint; workload: string }[] {
    const out: { hierarchy: Hierarchy; id: bigint; workload: string }[] = [];
    for (const [hierarchy, tree] of [['v2', this.v2], ['v1-cpu', this.v1cpu]] as const) {
      if (tree) for (const [path, id] of tree.byPath) if (keep(path)) out.push({ hierarchy, id, workload: `${hierarchy}:${path}` });
    }
    return out;
  }

  findByPath(hierarchy: Hierarchy, path: string): Workload | undefined {
    const tree = hierarchy === 'v2' ? this.v2 : this.v1cpu;
    if (!tree) return undefined;
    const p = normalise(path);
    return tree.byPath.has(p) ? this.workload(hierarchy, p) : undefined;
  }

  /**
   * Path of an inode; an unknown one (a cgroup newer than the walk) earns one rate-limited walk,
   * unless a walk since it was first seen did not find it.
   */
  private lookup(tree: Tree, ino: bigint): string | undefined {
    const path = tree.byIno.get(ino) ?? tree.gone.get(ino)?.path;
    if (path !== undefined) return path;
    const now = performance.now();
    const key = `${tree.root}:${ino}`;
    const had = this.unresolvable.get(key);
    if ((had !== undefined && now - had.since < UNRESOLVABLE_KEEP_MS) || now - this.lastRefresh < this.lazyRefreshMs) return undefined;
    this.refresh();
    const found = tree.byIno.get(ino);
    if (found === undefined) {
      this.unresolvable.delete(key); // (re-added last: the oldest go first)
      const first = had?.first ?? now;
      // not found by the walks for as long as a removed cgroup's name is kept: gone for good
      if (now - first >= this.goneKeepMs) {
        retire(tree, ino);
        this.neverFound++;
      }
      else this.unresolvable.set(key, { since: now, first });
      if (this.unresolvable.size > UNRESOLVABLE_KEPT) this.unresolvable.delete(this.unresolvable.keys().next().value!);
    } else {
      this.unresolvable.delete(key);
    }
    return found;
  }

  private workload(hierarchy: Hierarchy, path: string): Workload {
    const id = `${hierarchy}:${path}`;
    let w = this.cache.get(id);
    if (!w) {
      w = { id, path, hierarchy, cpuDir: this.cpuDir(hierarchy, path), ...parseContainerInfo(path) };
      this.cache.set(id, w);
    }
    return w;
  }

  private cpuDir(hierarchy: Hierarchy, path: string): string | null {
    if (hierarchy === 'v1-cpu') return join(this.v1cpu!.root, path);
    // On hybrid hosts cgroup2 has no cpu controller: nothing to write there.
    if (this.layout.kind !== 'v2') return null;
    const dir = join(this.v2!.root, path);
    return existsSync(join(dir, 'cpu.max')) ? dir : null;
  }
}

function emptyTree(root: string): Tree {
  return { root, byIno: new Map(), byPath: new Map(), rootIno: null, gone: new Map(), named: new Map(), retired: new Set() };
}

function unknown(hierarchy: Hierarchy, ino: bigint): Workload {
  const path = `?${ino}`;
  return { id: `${hierarchy}:${path}`, path, hierarchy, cpuDir: null };
}

function departed(hierarchy: Hierarchy, ino: bigint): Workload {
  return { ...unknown(hierarchy, ino), departed: true };
}

function retire(tree: Tree, ino: bigint): void {
  tree.retired.add(ino);
  if (tree.retired.size > RETIRED_KEPT) tree.retired.delete(tree.retired.values().next().value!);
}

function normalise(path: string): string {
  return '/' + path.split('/').filter(Boolean).join('/');
}

/**
 * Rebuilds a tree's maps: one stat per cgroup, and a readdir for those with children.
 * Every directory is stat'ed again, since a unit restarted between walks keeps its name but
 * gets a new inode. A directory removed mid-walk is simply skipped. Returns the paths whose
 * directory went since the last walk (its inode is no longer there, whatever is at its path now).
 */
function walk(tree: Tree, goneKeepMs: number): string[] {
  const byIno = new Map<bigint, string>();
  const byPath = new Map<string, bigint>();
  const visit = (dir: string, rel: string): void => {
    let st;
    try {
      st = statSync(dir, { bigint: true });
    } catch {
      return;
    }
    byIno.set(st.ino, rel);
    byPath.set(rel, st.ino);
    // kernfs (like most filesystems) counts a directory's links as 2 + its subdirectories:
    // a leaf cgroup, the common case, needs no readdir.
    if (st.nlink === 2n) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) visit(join(dir, e.name), rel === '/' ? `/${e.name}` : `${rel}/${e.name}`);
    }
  };
  visit(tree.root, '/');
  const now = Date.now();
  const departed: string[] = [];
  for (const [ino, path] of tree.byIno) {
    if (byIno.has(ino)) continue;
    tree.gone.set(ino, { path, atMs: now });
    departed.push(path);
  }
  for (const [ino, g] of tree.gone) {
    if (byIno.has(ino)) tree.gone.delete(ino);
    else if (now - g.atMs > goneKeepMs) {
      tree.gone.delete(ino);
      retire(tree, ino);
    }
  }
  // (an id made again: not where cgroup ids come from a 64-bit counter, but a walk is the truth)
  if (tree.retired.size > 0) for (const ino of byIno.keys()) tree.retired.delete(ino);
  tree.byIno = byIno;
  tree.named.clear();
  tree.byPath = byPath;
  tree.rootIno = byPath.get('/') ?? null;
  return departed;
}
