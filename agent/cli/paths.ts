// Where the installed project keeps its parts, relative to this file (dist/agent/cli/).
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

export const projectRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const defaultObjectPath = resolve(projectRoot, 'build/bpf/headroom.bpf.o');
export const defaultPolicyPath = resolve(projectRoot, 'policies/default.yaml');
export const defaultStateDir = '/var/lib/headroom';
