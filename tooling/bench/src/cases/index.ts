// The case registry: every case module's cases in report order, and every
// peer a child process can run. Adding a case group = one module exporting
// `xxxCases` (and `xxxPeers` if it spawns node children) plus two lines here.
import type { BenchCase } from '../registry.js';
import { bulkCases, bulkPeers } from './bulk.js';
import { callCases } from './call.js';
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
  ...waitRttCases,
  ...waitPendingCases,
  ...bulkCases,
  ...syncBulkCases,
  ...mappingCases,
  ...syncContentionCases,
  ...kernelQueueCases,
];

export const peers: Record<string, (args: unknown) => Promise<void>> = {
  ...latencyPeers,
  ...bulkPeers,
  ...syncLatencyPeers,
  ...syncBulkPeers,
  ...syncContentionPeers,
  ...channelLatencyPeers,
  ...channelRatePeers,
  ...kernelQueuePeers,
  ...waitRttPeers,
  ...waitPendingPeers,
};
