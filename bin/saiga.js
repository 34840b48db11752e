#!/usr/bin/env node
// The `saiga` command. The TypeScript sources compile to dist/ (npm run build).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('saiga is not built yet: run `npm run build` (npm start does it for you)\n');
  process.exit(2);
}

// Server commands on a machine with at most 2 cores run with V8's single-threaded GC (its
// parallel GC helper threads cost more CPU than they save there: src/tserver/node-flags.ts has the
// figures). A V8 flag must be given at process start, so this process
// starts the server as a child with the flag (SAIGA_SERVER_GC=parallel: V8's default, no child;
// =single: the flag on any machine).
const SERVER_COMMANDS = new Set(['start']);
const { serverNodeFlags } = await import(new URL('../dist/src/tserver/node-flags.js', import.meta.url).href);
const missingFlags = SERVER_COMMANDS.has(process.argv[2] ?? '') ? serverNodeFlags().filter((f) => !process.execArgv.includes(f)) : [];
const wantsFlag = missingFlags.length > 0;

if (wantsFlag) {
  // The IPC channel tells the child when this process is gone (even by SIGKILL): it exits then,
  // so a killed launcher leaves no server behind.
  const child = spawn(process.execPath, [...process.execArgv, ...missingFlags, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, SAIGA_LAUNCHER_CHILD: '1' },
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else {
  if (process.env['SAIGA_LAUNCHER_CHILD'] === '1' && process.channel !== undefined) {
    process.channel.unref();
    process.on('disconnect', () => process.exit(1));
  }
  const { runCli } = await import(main.href);
  process.exitCode = await runCli(process.argv.slice(2));
}
