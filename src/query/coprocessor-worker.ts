import { runFusedFragment } from './coprocessor-kernel.js';
import { HashAggregator } from './execute.js';
import { runFragment, taskParts, type FragmentTask } from './fragment.js';
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

/** The decode / filter / HashAggregator path over every batch of the task. */
export function runGeneric(task: FragmentTask): Chunk {
  const fragment = task.fragment;
  const agg = new HashAggregator(fragment.groups, fragment.aggs);
  for (const p of taskParts(task)) {
    runFragment({ fragment, columns: p.columns, length: p.length }, (c) => {
      agg.add(c);
      return c;
    });
  }
  return agg.finish();
}
