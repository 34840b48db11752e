import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Reads every import in src/ and fails on an edge that the layering in DESIGN.md forbids:
 * lower layers never import higher ones, tablet and replication never import each other,
 * and nothing but the edges themselves imports the servers or the CLI.
 */
const SRC = resolve(__dirname, '..', 'src');

const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  columnar: ['common'],
  rowset: ['common', 'columnar'],
  tablet: ['common', 'columnar', 'rowset'],
  wal: ['common'],
  replication: ['common', 'wal'],
  query: ['common', 'columnar', 'parquet'],
  master: ['common', 'columnar', 'rowset', 'tablet', 'wal', 'replication'],
  tserver: ['common', 'columnar', 'rowset', 'tablet', 'wal', 'replication', 'query', 'master'],
  client: ['common', 'columnar', 'rowset', 'tablet', 'wal', 'replication', 'query', 'master', 'tserver'],
  parquet: ['common', 'columnar'],
  server: ['common', 'columnar', 'rowset', 'tablet', 'wal', 'replication', 'query', 'master', 'tserver', 'client', 'parquet'],
  cli: ['common', 'columnar', 'rowset', 'tablet', 'wal', 'replication', 'query', 'master', 'tserver', 'client', 'parquet', 'server'],
};

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

function topFolder(file: string): string {
  return relative(SRC, file).split(sep)[0] ?? '';
}

interface Edge { from: string; to: string; file: string; spec: string }

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  const importRe = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const file of tsFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      if (spec === undefined || !spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC + sep)) continue;
      edges.push({ from: topFolder(file), to: topFolder(target), file: relative(SRC, file), spec });
    }
  }
  return edges;
}

describe('layering', () => {
  const edges = importEdges();

  it('finds the imports it checks', () => {
    expect(edges.length).toBeGreaterThan(0);
  });

  it('every src folder is known to the layering table', () => {
    const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
    const unknown = folders.filter((f) => !(f in ALLOWED));
    expect(unknown).toEqual([]);
  });

  it('imports only point down the layers', () => {
    const bad = edges
      .filter((e) => e.from !== e.to)
      .filter((e) => !(ALLOWED[e.from] ?? []).includes(e.to))
      .map((e) => `${e.file} imports ${e.spec} (${e.from} -> ${e.to})`);
    expect(bad).toEqual([]);
  });

  it('the rules themselves forbid tablet <-> replication and imports of the servers', () => {
    expect(ALLOWED['tablet']).not.toContain('replication');
    expect(ALLOWED['replication']).not.toContain('tablet');
    for (const [folder, allowed] of Object.entries(ALLOWED)) {
      if (folder !== 'cli') expect(allowed).not.toContain('cli');
      if (folder !== 'cli' && folder !== 'server') expect(allowed).not.toContain('server');
    }
  });
});
