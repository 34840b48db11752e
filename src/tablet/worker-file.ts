import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The compiled worker `workerBase`.js beside the module at `moduleUrl` (named `moduleBase`):
 * next to it when the module runs compiled, under dist/src/tablet when it runs from source;
 * null when that file does not exist (no build yet).
 */
export function compiledWorkerFile(moduleUrl: string, moduleBase: string, workerBase: string): string | null {
  const here = fileURLToPath(moduleUrl);
  const file = here.endsWith('.js')
    ? here.slice(0, here.length - `${moduleBase}.js`.length) + `${workerBase}.js`
    : here.replace(new RegExp(`[/\\\\]src[/\\\\]tablet[/\\\\]${moduleBase}\\.ts$`), `/dist/src/tablet/${workerBase}.js`);
  return existsSync(file) ? file : null;
}
