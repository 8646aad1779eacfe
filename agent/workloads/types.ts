/** Where a workload's cgroup lives: the cgroup2 (unified) tree, or the v1 cpu hierarchy. */
export type Hierarchy = 'v2' | 'v1-cpu';

/** A workload is one cgroup, named by its path relative to its hierarchy's root ("/a/b"). */
export interface Workload {
  /** stable key: `${hierarchy}:${path}` */
  id: string;
  path: string;
  hierarchy: Hierarchy;
  /** absolute directory of the cgroup that carries the cpu controller (where quotas are written) */
  cpuDir: string | null;
  containerId?: string;
  podUid?: string;
  /** docker | containerd | cri-o | podman | systemd | kubepods, when recognised from the path */
  runtime?: string;
  /**
   * the id of a cgroup gone longer than the index keeps its name, or one no walk ever found (a
   * cgroup made and removed between two): its counters, left in the probes' maps, are no
   * workload's any more (path `?<id>`)
   */
  departed?: true;
}

/** The pair of ids the kernel side reports for a task (bpf/events.h struct hr_cg_key). */
export interface CgroupKey {
  cgid: bigint;
  cpuCgid: bigint;
}
