/**
 * What goes into Redis: `r1:<expiresAtMs>:<superjson>`. superjson is JSON plus type annotations, so Date, Map, Set,
 * BigInt, NaN, ±Infinity, -0 and undefined inside objects and arrays come back as they went in, and parsing it never
 * evaluates anything. Buffer and Uint8Array travel as base64 and come back as the same type. The expiry travels with
 * the value, so a Redis hit can fill the memory tier with the remaining TTL in one GET.
 *
 * Encoding is one walk over the value that both checks it and writes superjson's format: a value that would not come
 * back equal from another instance (a function, a symbol, a class instance, a cycle, ...) is refused with an
 * UnsupportedValueError naming the offending path, before anything is written. Subtrees holding nothing but JSON are
 * handed to JSON.stringify as they are, without a copy.
 *
 * Anything without the `r1:` envelope (a foreign or corrupt value) is a DecodeError, which readers count as a miss.
 */
import SuperJSON from 'superjson';
import { RepriseInputError } from '../errors.js';

const ENVELOPE = 'r1:';

/** Deepest nesting of containers (objects, arrays, Maps, Sets) a value may have; deeper is an UnsupportedValueError. */
export const MAX_VALUE_DEPTH = 1_000;

export class DecodeError extends Error {
  override name = 'DecodeError';
}

export class EncodeError extends RepriseInputError {
  override name = 'EncodeError';
}

/**
 * A value `set` refuses because it would not come back equal from another instance. The message starts with the path
 * of the offending part, e.g. `value.tracks[3].play is a function`; `path` holds that path alone.
 */
export class UnsupportedValueError extends EncodeError {
  override name = 'UnsupportedValueError';
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`${path} ${problem}`);
    this.path = path;
  }
}

// ---- decoding: superjson, with reprise's own types registered on a private instance (never the global one) ----

const BUFFER = 'Buffer';
const UINT8ARRAY = 'Uint8Array';
const INVALID_DATE = 'InvalidDate';

function base64(text: unknown): string {
  if (typeof text !== 'string') throw new Error('binary data is not a base64 string');
  return text;
}

const isBuffer = (value: unknown): value is Buffer => typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Buffer.prototype;
const isUint8Array = (value: unknown): value is Uint8Array =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Uint8Array.prototype;
const isInvalidDate = (value: unknown): value is Date => value instanceof Date && Number.isNaN(value.getTime());
const bytesToBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

const superjson = new SuperJSON();
superjson.registerCustom<Buffer, string>(
  { isApplicable: isBuffer, serialize: bytesToBase64, deserialize: (text) => Buffer.from(base64(text), 'base64') },
  BUFFER,
);
superjson.registerCustom<Uint8Array, string>(
  { isApplicable: isUint8Array, serialize: bytesToBase64, deserialize: (text) => new Uint8Array(Buffer.from(base64(text), 'base64')) },
  UINT8ARRAY,
);
superjson.registerCustom<Date, string>({ isApplicable: isInvalidDate, serialize: () => 'Invalid Date', deserialize: () => new Date(Number.NaN) }, INVALID_DATE);

// ---- encoding ----

export interface Encoded {
  text: string;
  /** Approximate size in bytes (UTF-16 length of the payload), used for the memory tier's byte bound. */
  size: number;
}

export function encodeValue(value: unknown, expiresAt: number): Encoded {
  if (value === undefined) throw new UnsupportedValueError('value', 'is undefined, which is how a miss is reported: cache null for "nothing"');
  let payload: string;
  try {
    payload = new ValueEncoder().stringify(value);
  } catch (error) {
    if (error instanceof EncodeError) throw error;
    throw new EncodeError(`value cannot be serialized: ${(error as Error).message}`, { cause: error });
  }
  const text = `${ENVELOPE}${expiresAt}:${payload}`;
  return { text, size: text.length };
}

/** A superjson type annotation: a leaf `[type]`, or a Map/Set `[type, annotations of its entries]`. */
type Annotation = [type: string | [string, string]] | [type: string, inner: Annotations];
type Annotations = Record<string, Annotation>;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const SUPPORTED = 'supported: null, booleans, numbers, strings, bigints, plain objects, arrays, Date, Map, Set, Buffer and Uint8Array';

/**
 * One value's walk. `containers` and `steps` describe where the walk is: `steps[i]` is the key of the next step inside
 * `containers[i]`: an object key, an array or Set index, or `2n` / `2n + 1` for the key / value of a Map's n-th entry.
 */
class ValueEncoder {
  private readonly containers: object[] = [];
  private readonly steps: Array<string | number> = [];
  /** Where annotations go: the root's, or those of the Map or Set being walked (superjson nests them there). */
  private annotations: Annotations | undefined;
  /** How many steps lead to the container whose annotations are being filled. */
  private annotationsBase = 0;
  private rootAnnotation: Annotation | undefined;

  stringify(value: unknown): string {
    const json = this.walk(value);
    const rootAnnotations = this.rootAnnotation ?? this.annotations;
    return JSON.stringify(rootAnnotations === undefined ? { json } : { json, meta: { values: rootAnnotations, v: 1 } });
  }

  /** The JSON form of `value`: `value` itself when it is plain JSON all the way down, otherwise a transformed copy. */
  private walk(value: unknown): unknown {
    if (isOwnJson(value)) return value;
    switch (typeof value) {
      case 'number':
        this.annotate(['number']);
        return Number.isNaN(value) ? 'NaN' : value === 0 ? '-0' : value > 0 ? 'Infinity' : '-Infinity';
      case 'bigint':
        this.annotate(['bigint']);
        return value.toString();
      case 'undefined':
        this.annotate(['undefined']);
        return null;
      case 'function':
        throw this.refuse('is a function');
      case 'symbol':
        throw this.refuse(`is a symbol (${String(value)})`);
      case 'object':
        return value === null ? null : this.walkObject(value);
    }
  }

  private walkObject(value: object): unknown {
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (prototype === Date.prototype) {
      if (Number.isNaN((value as Date).getTime())) {
        this.annotate([['custom', INVALID_DATE]]);
        return 'Invalid Date';
      }
      this.annotate(['Date']);
      return (value as Date).toISOString();
    }
    if (prototype === Buffer.prototype || prototype === Uint8Array.prototype) {
      this.annotate([['custom', prototype === Buffer.prototype ? BUFFER : UINT8ARRAY]]);
      return bytesToBase64(value as Uint8Array);
    }
    const plain = prototype === Object.prototype || prototype === null;
    if (!plain && prototype !== Array.prototype && prototype !== Map.prototype && prototype !== Set.prototype) {
      throw this.refuse(describeInstance(value, prototype));
    }
    this.enter(value);
    const json = plain
      ? this.walkPlainObject(value as Record<string, unknown>)
      : prototype === Array.prototype
        ? this.walkArray(value as unknown[])
        : this.walkCollection(prototype === Map.prototype ? 'map' : 'set', value as Map<unknown, unknown> | Set<unknown>);
    this.containers.pop();
    return json;
  }

  /** Steps into a container: refuses a cycle or too deep a nesting, and keeps the container for paths. */
  private enter(container: object): void {
    const at = this.containers.indexOf(container);
    if (at !== -1) throw this.refuse(`is a circular reference to ${this.pathOf(at)}`);
    if (this.containers.length >= MAX_VALUE_DEPTH) throw this.refuse(`is nested more than ${MAX_VALUE_DEPTH} levels deep`);
    this.containers.push(container);
  }

  private walkPlainObject(object: Record<string, unknown>): unknown {
    const keys = Object.keys(object);
    let copy: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const item = object[key];
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
        this.steps.push(key);
        throw this.refuse('is a key superjson refuses (a prototype-pollution guard)');
      }
      const json = isOwnJson(item) ? item : this.walkAt(key, item);
      if (copy !== undefined) copy[key] = json;
      else if (json !== item) {
        copy = {};
        for (let j = 0; j < i; j++) copy[keys[j]!] = object[keys[j]!];
        copy[key] = json;
      }
    }
    for (const symbol of Object.getOwnPropertySymbols(object)) {
      if (Object.prototype.propertyIsEnumerable.call(object, symbol)) throw this.refuse(`has a symbol key (${String(symbol)})`);
    }
    return copy ?? object;
  }

  /** `walk` one step down (an object key or an array index), with the step kept for paths and annotations. */
  private walkAt(step: string | number, item: unknown): unknown {
    this.steps.push(step);
    const json = this.walk(item);
    this.steps.pop();
    return json;
  }

  /** Array indices only: other properties of an array are not kept, as with JSON. */
  private walkArray(array: unknown[]): unknown {
    let copy: unknown[] | undefined;
    for (let i = 0; i < array.length; i++) {
      const item = array[i];
      if (item === undefined && !(i in array)) {
        this.steps.push(i);
        throw this.refuse('is a hole in a sparse array (store undefined or null there)');
      }
      const json = isOwnJson(item) ? item : this.walkAt(i, item);
      if (copy !== undefined) copy.push(json);
      else if (json !== item) {
        copy = array.slice(0, i);
        copy.push(json);
      }
    }
    return copy ?? array;
  }

  /** A Map becomes its entries, a Set its members, each with the annotations of what it holds nested in its own. */
  private walkCollection(type: 'map' | 'set', collection: Map<unknown, unknown> | Set<unknown>): unknown[] {
    const outer = this.annotations;
    const outerBase = this.annotationsBase;
    this.annotations = undefined;
    this.annotationsBase = this.steps.length;
    const json: unknown[] = [];
    let index = 0;
    if (type === 'map') {
      for (const [key, item] of collection as Map<unknown, unknown>) {
        this.steps.push(2 * index);
        const jsonKey = this.walk(key);
        this.steps[this.steps.length - 1] = 2 * index + 1;
        json.push([jsonKey, this.walk(item)]);
        this.steps.pop();
        index += 1;
      }
    } else {
      for (const member of collection as Set<unknown>) {
        this.steps.push(index);
        json.push(this.walk(member));
        this.steps.pop();
        index += 1;
      }
    }
    const inner = this.annotations;
    this.annotations = outer;
    this.annotationsBase = outerBase;
    this.annotate(inner === undefined ? [type] : [type, inner]);
    return json;
  }

  /** Records the annotation of the value at the current path, relative to the Map or Set holding it, if any. */
  private annotate(annotation: Annotation): void {
    if (this.steps.length === 0) {
      this.rootAnnotation = annotation;
      return;
    }
    let key = '';
    for (let i = this.annotationsBase; i < this.steps.length; i++) {
      const step = this.steps[i]!;
      if (i > this.annotationsBase) key += '.';
      if (typeof step === 'string') key += step.replace(/\\/g, '\\\\').replace(/\./g, '\\.');
      else key += this.containers[i] instanceof Map ? `${step >> 1}.${step & 1}` : String(step);
    }
    (this.annotations ??= {})[key] = annotation;
  }

  private refuse(problem: string): UnsupportedValueError {
    return new UnsupportedValueError(this.pathOf(this.steps.length), problem);
  }

  /** The readable path of the first `length` steps: `value.tracks[3].play`, `value.byId.get("a")`, `value.tags.values()[2]`. */
  private pathOf(length: number): string {
    const parts: string[] = [];
    for (let i = 0; i < length; i++) parts.push(this.stepName(i));
    // A path hundreds of steps long says no more than its ends.
    if (parts.length > 24) parts.splice(12, parts.length - 20, `…(${parts.length - 20} more steps)…`);
    return `value${parts.join('')}`;
  }

  private stepName(i: number): string {
    const step = this.steps[i]!;
    const container = this.containers[i];
    if (typeof step === 'string') return IDENTIFIER.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
    if (container instanceof Set) return `.values()[${step}]`;
    if (!(container instanceof Map)) return `[${step}]`;
    const entry = step >> 1;
    if ((step & 1) === 0) return `.keys()[${entry}]`;
    const key = [...container.keys()][entry];
    switch (typeof key) {
      case 'string':
        return `.get(${JSON.stringify(key)})`;
      case 'number':
        return `.get(${Object.is(key, -0) ? '-0' : String(key)})`;
      case 'bigint':
        return `.get(${key}n)`;
      case 'boolean':
      case 'undefined':
        return `.get(${String(key)})`;
      default:
        return key === null ? '.get(null)' : `.values()[${entry}]`;
    }
  }
}

/**
 * Strings, booleans, null and finite numbers other than -0: their own JSON, with nothing to check or annotate. Most
 * leaves of a value are these, and the walk takes them without a step or a call.
 */
function isOwnJson(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && (value !== 0 || 1 / value > 0);
    default:
      return value === null;
  }
}

function describeInstance(value: object, prototype: object): string {
  let what = 'an object with a prototype of its own';
  try {
    const constructor = (prototype as { constructor?: unknown }).constructor;
    if (typeof constructor === 'function' && constructor.prototype === prototype) {
      what = constructor.name ? `an instance of ${constructor.name}` : 'an object of an unnamed class';
    }
  } catch {
    // A hostile prototype: described without its name.
  }
  const hint = ArrayBuffer.isView(value) || value instanceof ArrayBuffer ? '; store binary data as a Buffer or Uint8Array' : '';
  return `is ${what}, which would not come back as one (${SUPPORTED})${hint}`;
}

// ---- decoding ----

export interface Decoded {
  value: unknown;
  expiresAt: number;
}

export function decodeValue(text: string): Decoded {
  if (!text.startsWith(ENVELOPE)) throw new DecodeError('not a reprise value');
  const separator = text.indexOf(':', ENVELOPE.length);
  const expiresAt = Number(text.slice(ENVELOPE.length, separator));
  if (separator === -1 || !Number.isFinite(expiresAt)) throw new DecodeError('malformed reprise envelope');
  let value: unknown;
  try {
    value = parsePayload(text.slice(separator + 1));
  } catch (error) {
    throw new DecodeError(`corrupt reprise value: ${(error as Error).message}`);
  }
  if (value === undefined) throw new DecodeError('reprise value decoded to undefined');
  return { value, expiresAt };
}

/**
 * `superjson.parse`, without superjson's walk over the annotations for the payloads reprise writes most: plain JSON
 * (no annotations: the `json` part as it is), or JSON whose annotations are all leaves (Date, bigint, undefined and
 * the numbers JSON lacks) at paths of plain keys and indices, applied where they point exactly as superjson applies
 * them. Anything else (a Map, a Set, binary data, an escaped path, a foreign or hostile payload) goes to superjson,
 * which has not seen it touched: the fast path changes nothing until it knows it can do all of it.
 */
function parsePayload(payload: string): unknown {
  const parsed: unknown = JSON.parse(payload);
  if (typeof parsed !== 'object' || parsed === null) return superjson.deserialize(parsed as never, { inPlace: true });
  const { json, meta } = parsed as { json?: unknown; meta?: unknown };
  if (meta === undefined) return json;
  if (typeof meta !== 'object' || meta === null) return superjson.deserialize(parsed as never, { inPlace: true });
  const { values, v, referentialEqualities } = meta as { values?: unknown; v?: unknown; referentialEqualities?: unknown };
  if (referentialEqualities !== undefined || v !== 1) return superjson.deserialize(parsed as never, { inPlace: true });
  if (values === undefined) return json;
  if (Array.isArray(values)) {
    // The root's own annotation, e.g. a Date stored alone.
    const type: unknown = values[0];
    return values.length === 1 && isLeafType(type) ? fromLeaf(type, json) : superjson.deserialize(parsed as never, { inPlace: true });
  }
  if (typeof values !== 'object' || values === null) return superjson.deserialize(parsed as never, { inPlace: true });
  const annotations = values as Record<string, unknown>;
  const paths = Object.keys(annotations);
  for (const path of paths) {
    const annotation = annotations[path];
    if (!Array.isArray(annotation) || annotation.length !== 1 || !isLeafType(annotation[0]) || !isPlainPath(path)) {
      return superjson.deserialize(parsed as never, { inPlace: true });
    }
  }
  for (const path of paths) applyLeaf(json, path, (annotations[path] as [LeafType])[0]);
  return json;
}

/** The annotations that turn one JSON leaf back into what it was, and touch nothing else. */
type LeafType = 'Date' | 'bigint' | 'undefined' | 'number';

function isLeafType(type: unknown): type is LeafType {
  return type === 'Date' || type === 'bigint' || type === 'undefined' || type === 'number';
}

/** superjson's untransform of each leaf type. */
function fromLeaf(type: LeafType, json: unknown): unknown {
  switch (type) {
    case 'Date':
      return new Date(json as string);
    case 'bigint':
      return BigInt(json as string);
    case 'undefined':
      return undefined;
    case 'number':
      return Number(json);
  }
}

/**
 * A path superjson reads as its dots split it (no backslash escapes), naming none of the three steps superjson's guard
 * refuses: a path that merely contains one of them is left to superjson, which accepts or refuses it itself.
 */
function isPlainPath(path: string): boolean {
  if (path.includes('\\')) return false;
  return !(path.includes('__proto__') || path.includes('prototype') || path.includes('constructor'));
}

/**
 * superjson's setDeep for a leaf among plain objects and arrays: steps into arrays by number and plain objects by
 * key, stays put on anything else (and then changes nothing), and maps the value at the last step.
 */
function applyLeaf(root: unknown, path: string, type: LeafType): void {
  let parent = root;
  let start = 0;
  for (let dot = path.indexOf('.'); dot !== -1; dot = path.indexOf('.', start)) {
    const step = path.slice(start, dot);
    if (Array.isArray(parent)) parent = parent[+step];
    else if (isPlainObject(parent)) parent = parent[step];
    start = dot + 1;
  }
  const last = path.slice(start);
  if (Array.isArray(parent)) parent[+last] = fromLeaf(type, parent[+last]);
  else if (isPlainObject(parent)) parent[last] = fromLeaf(type, parent[last]);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
