import { SaigaError } from '../common/errors.js';
import type { DataType } from '../common/types.js';
import type { Column } from './column.js';
import { allocValues, bitmapBytes, clearBit, makeColumn, newValidity, normalizeValidity } from './column.js';
import { decimalSetBigInt, decimalSetDouble, divRoundHalfAway, MAX_SAFE, maxUnscaled, pow10, pow10n, TWO_32 } from './decimal.js';
import type { NumericInput, Operand } from './numeric-input.js';
import { andValidity, isColumn, outputLength, readNumeric } from './numeric-input.js';

export type ArithOp = '+' | '-' | '*' | '/' | '%';

export interface TypeInfo {
  readonly type: DataType;
  readonly precision: number;
  readonly scale: number;
}

export const DECIMAL_PRECISION_MAX = 38;
/** MySQL's div_precision_increment. */
export const DIV_SCALE_INCREMENT = 4;

function typeInfoOf(x: Operand): TypeInfo {
  return { type: x.type, precision: x.precision, scale: x.scale };
}

function isIntType(t: DataType): boolean {
  return t === 'bool' || t === 'int8' || t === 'int16' || t === 'int32' || t === 'int64';
}

/** Decimal precision of an integer type used as a decimal operand. */
function intPrecision(t: DataType): number {
  switch (t) {
    case 'bool': return 1;
    case 'int8': return 3;
    case 'int16': return 5;
    case 'int32': return 10;
    default: return 19;
  }
}

/** MySQL result type of `a op b`. */
export function arithmeticResultType(op: ArithOp, a: TypeInfo, b: TypeInfo): TypeInfo {
  for (const t of [a.type, b.type]) {
    if (t === 'string' || t === 'binary' || t === 'date' || t === 'timestamp') {
      throw new SaigaError('InvalidArgument', `arithmetic ${op}: expected numeric operands, found ${a.type} and ${b.type}`);
    }
  }
  if (a.type === 'float' || a.type === 'double' || b.type === 'float' || b.type === 'double') return { type: 'double', precision: 0, scale: 0 };
  if (isIntType(a.type) && isIntType(b.type) && op !== '/') return { type: 'int64', precision: 0, scale: 0 };
  const p1 = a.type === 'decimal' ? a.precision : intPrecision(a.type), s1 = a.type === 'decimal' ? a.scale : 0;
  const p2 = b.type === 'decimal' ? b.precision : intPrecision(b.type), s2 = b.type === 'decimal' ? b.scale : 0;
  let p: number, s: number;
  switch (op) {
    case '+': case '-': s = Math.max(s1, s2); p = Math.max(p1 - s1, p2 - s2) + s + 1; break;
    case '*': s = s1 + s2; p = p1 + p2; break;
    case '/': s = s1 + DIV_SCALE_INCREMENT; p = p1 - s1 + s2 + s; break;
    case '%': s = Math.max(s1, s2); p = Math.max(p1 - s1, p2 - s2) + s; break;
  }
  s = Math.min(s, DECIMAL_PRECISION_MAX);
  return { type: 'decimal', precision: Math.min(Math.max(p, s, 1), DECIMAL_PRECISION_MAX), scale: s };
}

/**
 * `a op b` at the rows of `sel` (dense result of sel.length rows, or the column length without a
 * selection). NULL-propagating; division or modulo by zero yields NULL (MySQL). Result type per
 * arithmeticResultType. int64 overflow throws InvalidArgument ("BIGINT value is out of range").
 */
export function arithmetic(op: ArithOp, a: Operand, b: Operand, sel: Int32Array | null): Column {
  const rt = arithmeticResultType(op, typeInfoOf(a), typeInfoOf(b));
  const n = outputLength([a, b], sel);
  if (rt.type === 'double') return arithDouble(op, readNumeric(a, sel, 'double'), readNumeric(b, sel, 'double'), n);
  if (rt.type === 'int64') return arithInt64(op, readNumeric(a, sel, 'unscaled'), readNumeric(b, sel, 'unscaled'), n);
  return arithDecimal(op, readNumeric(a, sel, 'unscaled'), readNumeric(b, sel, 'unscaled'), n, rt);
}

function allNull(type: DataType, n: number, precision = 0, scale = 0): Column {
  return makeColumn(type, n, allocValues(type, n), newValidity(n, false), precision, scale);
}

function arithDouble(op: ArithOp, A: NumericInput, B: NumericInput, n: number): Column {
  if (A.isNull || B.isNull) return allNull('double', n);
  const out = new Float64Array(n);
  const va = A.vals, vb = B.vals;
  const ca = A.constant, cb = B.constant;
  let validity = andValidity(n, A.valid, B.valid);
  const a0 = va[0] as number, b0 = vb[0] as number;
  switch (op) {
    case '+': for (let i = 0; i < n; i++) out[i] = (ca ? a0 : (va[i] as number)) + (cb ? b0 : (vb[i] as number)); break;
    case '-': for (let i = 0; i < n; i++) out[i] = (ca ? a0 : (va[i] as number)) - (cb ? b0 : (vb[i] as number)); break;
    case '*': for (let i = 0; i < n; i++) out[i] = (ca ? a0 : (va[i] as number)) * (cb ? b0 : (vb[i] as number)); break;
    case '/': case '%':
      for (let i = 0; i < n; i++) {
        const y = cb ? b0 : (vb[i] as number);
        if (y === 0) {
          if (validity === null) validity = newValidity(n, true);
          clearBit(validity, i);
          continue;
        }
        const x = ca ? a0 : (va[i] as number);
        out[i] = op === '/' ? x / y : x % y;
      }
      break;
  }
  return makeColumn('double', n, out, normalizeValidity(validity, n));
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

function bigOp(op: ArithOp, x: bigint, y: bigint): bigint {
  switch (op) {
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '/': return x / y;
    case '%': return x % y;
  }
}

function arithInt64(op: ArithOp, A: NumericInput, B: NumericInput, n: number): Column {
  if (A.isNull || B.isNull) return allNull('int64', n);
  const out = new BigInt64Array(n);
  const w = new Int32Array(out.buffer);
  const va = A.vals, vb = B.vals;
  const ca = A.constant, cb = B.constant;
  let validity = andValidity(n, A.valid, B.valid);
  for (let i = 0; i < n; i++) {
    if (validity !== null && ((validity[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    const x = ca ? (va[0] as number) : (va[i] as number);
    const y = cb ? (vb[0] as number) : (vb[i] as number);
    if (op === '%' && y === 0) {
      if (validity === null) validity = newValidity(n, true);
      clearBit(validity, i);
      continue;
    }
    let r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : x % y;
    if (r !== r || r > MAX_SAFE || r < -MAX_SAFE) {
      // Slow path: exact bigint.
      const bx = ca ? A.big(0) : A.big(i), by = cb ? B.big(0) : B.big(i);
      const br = bigOp(op, bx, by);
      if (br > INT64_MAX || br < INT64_MIN) throw new SaigaError('InvalidArgument', `BIGINT value is out of range in ${bx} ${op} ${by}`);
      out[i] = br;
      continue;
    }
    if (r === 0) r = 0; // -0
    const hi = Math.floor(r / TWO_32);
    w[i << 1] = (r - hi * TWO_32) | 0;
    w[(i << 1) + 1] = hi | 0;
  }
  return makeColumn('int64', n, out, normalizeValidity(validity, n));
}

function arithDecimal(op: ArithOp, A: NumericInput, B: NumericInput, n: number, rt: TypeInfo): Column {
  if (A.isNull || B.isNull) return allNull('decimal', n, rt.precision, rt.scale);
  const out = new Uint32Array(n * 4);
  const w = new Int32Array(out.buffer);
  const va = A.vals, vb = B.vals;
  const ca = A.constant, cb = B.constant;
  let validity = andValidity(n, A.valid, B.valid);
  const s1 = A.scale, s2 = B.scale;
  // Scale factors bringing both operands to the common scale (+, -, %).
  const s = Math.max(s1, s2);
  const fa = pow10(s - s1), fb = pow10(s - s2);
  const max = maxUnscaled(rt.precision);
  const setNull = (i: number): void => {
    if (validity === null) validity = newValidity(n, true);
    clearBit(validity, i);
  };
  for (let i = 0; i < n; i++) {
    if (validity !== null && ((validity[i >> 3] as number) & (1 << (i & 7))) === 0) continue;
    const x = ca ? (va[0] as number) : (va[i] as number);
    const y = cb ? (vb[0] as number) : (vb[i] as number);
    let r = NaN;
    if (op === '/' || op === '%') {
      if (y === 0) { setNull(i); continue; }
      if (op === '%') r = (x * fa) % (y * fb);
      // '/' always takes the exact path below (rounding must be exact).
    } else if (op === '*') r = x * y;
    else r = op === '+' ? x * fa + y * fb : x * fa - y * fb;
    if (r === r && r <= MAX_SAFE && r >= -MAX_SAFE && Math.abs(x * fa) <= MAX_SAFE && Math.abs(y * fb) <= MAX_SAFE) {
      decimalSetDouble(w, i, r === 0 ? 0 : r);
      continue;
    }
    const bx = ca ? A.big(0) : A.big(i), by = cb ? B.big(0) : B.big(i);
    let br: bigint;
    switch (op) {
      case '+': br = bx * pow10n(s - s1) + by * pow10n(s - s2); break;
      case '-': br = bx * pow10n(s - s1) - by * pow10n(s - s2); break;
      case '*': br = bx * by; break;
      case '%': br = (bx * pow10n(s - s1)) % (by * pow10n(s - s2)); break;
      case '/': {
        if (by === 0n) { setNull(i); continue; }
        // a/b = (A/10^s1)/(B/10^s2); result unscaled at scale rt.scale.
        const numExp = rt.scale - s1 + s2;
        br = numExp >= 0 ? divRoundHalfAway(bx * pow10n(numExp), by) : divRoundHalfAway(bx, by * pow10n(-numExp));
        break;
      }
    }
    if (br > max || br < -max) throw new SaigaError('InvalidArgument', `DECIMAL value is out of range in ${op} (precision ${rt.precision})`);
    decimalSetBigInt(w, i, br);
  }
  return makeColumn('decimal', n, out, normalizeValidity(validity, n), rt.precision, rt.scale);
}

/** Unary minus: ints -> int64, float -> float, double -> double, decimal keeps precision/scale. */
export function negate(a: Column, sel: Int32Array | null): Column {
  if (a.type === 'float') {
    const n = sel === null ? a.length : sel.length;
    const src = a.values as Float32Array, out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = -(src[sel === null ? i : (sel[i] as number)] as number);
    const v = readNumeric(a, sel, 'double').valid;
    return makeColumn('float', n, out, v === null ? null : v.slice(0, bitmapBytes(n)));
  }
  const zero: Operand = a.type === 'decimal'
    ? { type: 'decimal', value: 0n, precision: 1, scale: 0 }
    : { type: a.type === 'double' ? 'double' : 'int64', value: a.type === 'double' ? 0 : 0n, precision: 0, scale: 0 };
  const r = arithmetic('-', zero, a, sel);
  if (a.type === 'decimal') return { ...r, precision: a.precision, scale: a.scale };
  return r;
}

