// Container and pod identity read from a cgroup's path. Runtimes name cgroups after what they
// run, so the path alone tells docker from containerd, a pod from a plain systemd service,
// without asking any daemon. Unknown shapes give {}: a wrong guess is worse than none.

export interface ContainerInfo {
  containerId?: string;
  podUid?: string;
  /** docker | containerd | cri-o | podman | systemd | kubepods */
  runtime?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

// "<prefix><id>.scope" under systemd; podman's cgroupfs manager drops the ".scope".
// The conmon forms are the runtime's monitor process beside the container, not the container.
const SCOPES: { re: RegExp; runtime: string; monitor?: boolean }[] = [
  { re: /^docker-([0-9a-f]{12,64})\.scope$/, runtime: 'docker' },
  { re: /^cri-containerd-([0-9a-f]{12,64})\.scope$/, runtime: 'containerd' },
  { re: /^crio-conmon-([0-9a-f]{12,64})\.scope$/, runtime: 'cri-o', monitor: true },
  { re: /^crio-([0-9a-f]{12,64})\.scope$/, runtime: 'cri-o' },
  { re: /^libpod-conmon-([0-9a-f]{12,64})(?:\.scope)?$/, runtime: 'podman', monitor: true },
  { re: /^libpod-([0-9a-f]{12,64})(?:\.scope)?$/, runtime: 'podman' },
];

// A pod's uid is a UUID (dashes; systemd escapes them to underscores) or, for static pods,
// a 32-hex hash. cgroupfs: "pod<uid>"; systemd: "kubepods[-<qos>]-pod<uid>.slice".
const POD_CGROUPFS = /^pod([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9a-f]{32})$/;
const POD_SYSTEMD = /^kubepods(?:-[a-z]+)?-pod([0-9a-f]{8}(?:_[0-9a-f]{4}){3}_[0-9a-f]{12}|[0-9a-f]{32})\.slice$/;

const SYSTEMD_UNIT = /\.(?:service|scope|slice)$/;

export function parseContainerInfo(path: string): ContainerInfo {
  const segs = path.split('/').filter(Boolean);
  let containerId: string | undefined;
  let runtime: string | undefined;
  let podUid: string | undefined;
  let kube = false;

  segs.forEach((seg, i) => {
    if (seg === 'kubepods' || seg.startsWith('kubepods.') || seg.startsWith('kubepods-')) kube = true;
    const pod = POD_CGROUPFS.exec(seg) ?? POD_SYSTEMD.exec(seg);
    if (pod && kube) {
      podUid = pod[1]!.replaceAll('_', '-');
      return;
    }
    // The deepest container wins (docker in docker names the inner one).
    for (const s of SCOPES) {
      const m = s.re.exec(seg);
      if (!m) continue;
      runtime = s.runtime;
      containerId = s.monitor ? undefined : m[1];
      return;
    }
    const parent = segs[i - 1];
    if (HEX64.test(seg) && parent === 'docker') {
      runtime = 'docker';
      containerId = seg;
    } else if (HEX64.test(seg) && parent !== undefined && POD_CGROUPFS.test(parent) && kube) {
      // kubelet's cgroupfs driver: the runtime is not in the name
      containerId = seg;
      runtime = undefined;
    }
  });

  const info: ContainerInfo = {};
  if (containerId !== undefined) info.containerId = containerId;
  if (podUid !== undefined) info.podUid = podUid;
  if (runtime !== undefined) info.runtime = runtime;
  else if (kube) info.runtime = 'kubepods';
  else if (segs.length > 0 && SYSTEMD_UNIT.test(segs[segs.length - 1]!)) info.runtime = 'systemd';
  return info;
}
