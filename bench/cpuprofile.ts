/** Reading V8 `.cpuprofile` files (from `--cpu-prof`): the call tree and each node's sampled self time. */
import { readFileSync } from 'node:fs';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export const readProfile = (file: string): CpuProfile => JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

/**
 * Self time (µs) per node id, from the samples within the profile's last `lastSeconds` (all when undefined).
 * Sample i was taken at the sum of timeDeltas[0..i].
 */
export function selfTimes(profile: CpuProfile, lastSeconds?: number): Map<number, number> {
  const at = profile.timeDeltas.reduce<number[]>((acc, d) => (acc.push((acc.at(-1) ?? 0) + d), acc), []);
  const from = lastSeconds === undefined ? -Infinity : (at.at(-1) ?? 0) - lastSeconds * 1e6;
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    if ((at[i] ?? 0) >= from) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return self;
}

/** A frame's source as a short path: the checkout's prefix and anything up to node_modules/ dropped. */
export const shortUrl = (url: string): string =>
  url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '').replace(/.*node_modules\//, 'node_modules/');

export const frameName = (node: ProfileNode): string => {
  const where = shortUrl(node.callFrame.url);
  return `${node.callFrame.functionName || '(anonymous)'}${where ? `  ${where}:${node.callFrame.lineNumber + 1}` : ''}`;
};
