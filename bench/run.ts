/**
 * `npm run bench -- NAME [args]` runs bench/NAME.ts's main(args). Each benchmark prints one
 * `BENCH {json}` line per figure (see report.ts).
 */
const [name, ...args] = process.argv.slice(2);
if (name === undefined || !/^[a-z0-9-]+$/.test(name)) {
  console.error('usage: npm run bench -- NAME [args]   (NAME: storage, raft, tpch, mysql, flight, parquet, ...)');
  process.exit(2);
}
const mod = (await import(`./${name}.js`)) as { main?: (args: string[]) => Promise<void> };
if (typeof mod.main !== 'function') {
  console.error(`bench/${name}.ts does not export main(args)`);
  process.exit(2);
}
await mod.main(args);
