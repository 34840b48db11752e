import { runFusedFragment } from './coprocessor-kernel.js';
import { HashAggregator } from './execute.js';
import { runFragment, type FragmentTask } from './fragment.js';
import type { Chunk } from './vector.js';

/**
 * Piscina worker entry (loaded from dist/src/query/coprocessor-worker.js): runs one scan
 * fragment and returns the partial aggregate as plain typed arrays. The fused kernel
 * (coprocessor-kernel.ts) answers when the fragment's shape and the batch allow it; otherwise
 * the generic decode / filter / HashAggregator path runs.
 */
export default function runTask(task: FragmentTask): Chunk {
  return runFusedFragment(task) ?? runGeneric(task);
}

export function runGeneric(task: FragmentTask): Chunk {
  return runFragment(task, (c) => {
    const agg = new HashAggregator(task.fragment.groups, task.fragment.aggs);
    agg.add(c);
    return agg.finish();
  });
}
