import { DEFAULT_LIMITS } from '../common/limits.js';
import { TabletServer } from './tablet-server.js';

/**
 * `node dist/src/tserver/tserver-process.js --id ID --data-dir DIR [--port N] [--tick-ms MS]
 * [--election-ticks N] [--segment-bytes N] [--maintenance-ms MS]`: runs one tablet server on 127.0.0.1. Prints one line
 * `TSERVER_READY {"id":..,"port":..}` once it listens; peers and tablets come from its stored
 * configuration or a Configure call. SIGTERM / SIGINT close it cleanly.
 */

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const id = arg('id');
  const dataDir = arg('data-dir');
  if (id === undefined || dataDir === undefined) {
    process.stderr.write('usage: tserver-process --id ID --data-dir DIR [--port N] [--tick-ms MS] [--election-ticks N] [--segment-bytes N] [--maintenance-ms MS]\n');
    process.exit(2);
  }
  const tickMs = arg('tick-ms');
  const electionTicks = arg('election-ticks');
  const segmentBytes = arg('segment-bytes');
  const maintenanceMs = arg('maintenance-ms');
  const s = await TabletServer.start({
    id, dataDir, port: Number(arg('port') ?? 0),
    limits: segmentBytes !== undefined ? { ...DEFAULT_LIMITS, logSegmentBytes: Number(segmentBytes) } : DEFAULT_LIMITS,
    ...(maintenanceMs !== undefined ? { maintenanceMs: Number(maintenanceMs) } : {}),
    ...(tickMs !== undefined ? { tickMs: Number(tickMs) } : {}),
    ...(electionTicks !== undefined ? { electionTicks: Number(electionTicks) } : {}),
  });
  process.stdout.write(`TSERVER_READY ${JSON.stringify({ id, port: s.port })}\n`);
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    s.close().then(() => process.exit(0), (e: unknown) => {
      process.stderr.write(`close failed: ${String(e)}\n`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`tserver failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
