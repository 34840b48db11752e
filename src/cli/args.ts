import { SaigaError } from '../common/errors.js';

/** A small flag parser: `--name value`, `--name=value`, boolean flags, repeatable flags, short aliases. */
export interface FlagSpec {
  readonly name: string;
  readonly alias?: string;
  readonly kind: 'string' | 'boolean' | 'repeat';
  readonly help: string;
}

export interface ParsedArgs {
  readonly flags: ReadonlyMap<string, string | boolean | readonly string[]>;
  readonly positional: readonly string[];
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) {
    byName.set(`--${s.name}`, s);
    if (s.alias !== undefined) byName.set(`-${s.alias}`, s);
  }
  const flags = new Map<string, string | boolean | string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = eq > 0 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    const spec = byName.get(key);
    if (spec === undefined) throw new SaigaError('InvalidArgument', `unknown option ${key} (see --help)`);
    if (spec.kind === 'boolean') {
      if (eq > 0 && arg.startsWith('--')) flags.set(spec.name, !/^(false|0|no)$/i.test(arg.slice(eq + 1)));
      else flags.set(spec.name, true);
      continue;
    }
    let value: string;
    if (eq > 0 && arg.startsWith('--')) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new SaigaError('InvalidArgument', `option ${key} needs a value`);
      value = next;
      i++;
    }
    if (spec.kind === 'repeat') {
      const list = (flags.get(spec.name) as string[] | undefined) ?? [];
      list.push(value);
      flags.set(spec.name, list);
    } else flags.set(spec.name, value);
  }
  return { flags, positional };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function flagBool(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true;
}

export function flagList(args: ParsedArgs, name: string): readonly string[] {
  const v = args.flags.get(name);
  return Array.isArray(v) ? (v as readonly string[]) : [];
}

export function flagInt(args: ParsedArgs, name: string, fallback: number): number {
  const v = flagString(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new SaigaError('InvalidArgument', `--${name} expects a non-negative integer, got ${v}`);
  return n;
}

export function usage(command: string, summary: string, specs: readonly FlagSpec[]): string {
  const lines = [`usage: saiga ${command} [options]`, '', summary, '', 'options:'];
  for (const s of specs) {
    const names = (s.alias !== undefined ? `-${s.alias}, ` : '    ') + `--${s.name}` + (s.kind === 'boolean' ? '' : ' VALUE');
    lines.push(`  ${names.padEnd(30)} ${s.help}`);
  }
  return lines.join('\n');
}
