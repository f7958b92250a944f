// The case registry: every case module's cases in report order, and every
// peer a child process can run. Adding a case group = one module exporting
// `xxxCases` (and `xxxPeers` if it spawns node children) plus two lines here.
import type { BenchCase } from '../registry.js';
import { bulkCases, bulkPeers } from './bulk.js';
import { callCases } from './call.js';
import { channelFloorCases, channelFloorPeers } from './channel-floors.js';
import { channelLatencyCases, channelLatencyPeers } from './channel-latency.js';
import { channelRateCases, channelRatePeers } from './channel-rate.js';
import { kernelQueueCases, kernelQueuePeers } from './kernel-queues.js';
import { latencyCases, latencyPeers } from './latency.js';
import { mappingCases } from './mapping.js';
import { syncBulkCases, syncBulkPeers } from './sync-bulk.js';
import { syncCallCases } from './sync-call.js';
import { syncContentionCases, syncContentionPeers } from './sync-contention.js';
import { syncLatencyCases, syncLatencyPeers } from './sync-latency.js';
import { waitPendingCases, waitPendingPeers } from './wait-pending.js';
import { waitRttCases, waitRttPeers } from './wait-rtt.js';

export const cases: BenchCase[] = [
  ...callCases,
  ...syncCallCases,
  ...latencyCases,
  ...syncLatencyCases,
  ...channelLatencyCases,
  ...channelRateCases,
  ...channelFloorCases,
  ...waitRttCases,
  ...waitPendingCases,
  ...bulkCases,
  ...syncBulkCases,
  ...mappingCases,
  ...syncContentionCases,
  ...kernelQueueCases,
];

type Peers = Record<string, (args: unknown) => Promise<void>>;

/** One registry of every module's peers; a name two modules use is a bug, not an override. */
function mergePeers(...groups: Peers[]): Peers {
  const all: Peers = {};
  for (const group of groups) {
    for (const [name, peer] of Object.entries(group)) {
      if (name in all) throw new Error(`two bench modules register a peer named '${name}'`);
      all[name] = peer;
    }
  }
  return all;
}

export const peers: Peers = mergePeers(
  latencyPeers,
  bulkPeers,
  syncLatencyPeers,
  syncBulkPeers,
  syncContentionPeers,
  channelLatencyPeers,
  channelRatePeers,
  channelFloorPeers,
  kernelQueuePeers,
  waitRttPeers,
  waitPendingPeers,
);
