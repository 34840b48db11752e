import type { Limits } from '../common/limits.js';
import type { Schema } from '../common/types.js';
import type { Tablet } from './tablet-api.js';
import { TabletImpl } from './tablet.js';

export type { Tablet, OpId, WriteOp, ApplyResult, TabletStats } from './tablet-api.js';
export { TabletImpl } from './tablet.js';

/**
 * Opens the tablet stored in `dir`, creating the directory and an empty tablet when absent.
 * The driver then replays log entries with index > durableOpIndex() through applyWrite.
 * `schema` is used only when creating; an existing tablet keeps the schema in its metadata.
 */
export function openTablet(options: { dir: string; tabletId: string; schema: Schema; limits?: Partial<Limits> }): Tablet {
  return new TabletImpl(options.dir, options.tabletId, options.schema, options.limits);
}
