// Text (or bytes) -> validated Spec, or a SpecError listing every problem found. Pure:
// reading the file is load.ts's job, so tests and the workflow can parse from memory.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { issuesFromZod, ROOT_PATH, SpecError, type PathSegment, type SpecIssue } from './errors.js';
import { specSchema, TOP_LEVEL_KEYS, type Spec } from './schema.js';
import { decodeUtf8Strict } from './utf8.js';
import { semanticIssues } from './validate.js';

/** Anchors and aliases are allowed, but not the expansion bombs they make possible. */
const MAX_ALIAS_COUNT = 1_000;

export const DEFAULT_SPEC_FILE = '<spec>';

type Locate = (path: readonly PathSegment[]) => { line: number; column: number } | undefined;

/** Parses and validates a spec from YAML text or raw file bytes (which must be UTF-8). */
export function parseSpec(source: string | Uint8Array, file: string = DEFAULT_SPEC_FILE): Spec {
  let text: string;
  if (typeof source === 'string') {
    text = source;
  } else {
    const decoded = decodeUtf8Strict(source);
    if (!decoded.ok) {
      throw new SpecError([
        {
          file,
          path: ROOT_PATH,
          line: decoded.line,
          column: decoded.column,
          value: `0x${decoded.byte.toString(16).padStart(2, '0')}`,
          message:
            `not valid UTF-8: byte 0x${decoded.byte.toString(16).padStart(2, '0')} at offset ${decoded.offset} ` +
            `(line ${decoded.line}, byte ${decoded.column}); save the spec as UTF-8`,
        },
      ]);
    }
    text = decoded.text;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  // One syntax error often sets off more at the same spot or after it (an unclosed `[`
  // is also a bad indent and an unclosed `{`): the first, by position, is the one to fix.
  const [problem] = [...(doc.errors.length ? doc.errors : doc.warnings)].sort((a, b) => a.pos[0] - b.pos[0]);
  if (problem) {
    const { line, col } = lineCounter.linePos(problem.pos[0]);
    throw new SpecError([
      { file, path: ROOT_PATH, line, column: col, message: `YAML: ${firstLine(problem.message)} (${problem.code})` },
    ]);
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new SpecError([
      { file, path: ROOT_PATH, message: `YAML: ${firstLine(String((err as Error).message ?? err))}` },
    ]);
  }
  return parseSpecData(data, file, locator(doc, lineCounter));
}

/** Validates already-parsed spec data (e.g. a spec that arrived as JSON). */
export function parseSpecData(data: unknown, file: string = DEFAULT_SPEC_FILE, locate?: Locate): Spec {
  const located = (issues: SpecIssue[], paths: PathSegment[][]) =>
    issues.map((issue, i) => {
      if (!locate || issue.line !== undefined) return issue;
      const where = paths[i] ? locate(paths[i]) : undefined;
      return where ? { ...issue, ...where } : issue;
    });

  if (data === null || data === undefined) {
    throw new SpecError([
      {
        file,
        path: ROOT_PATH,
        message: `the spec is empty; write a mapping with at least \`name:\` and \`study:\` (keys: ${TOP_LEVEL_KEYS.join(', ')})`,
      },
    ]);
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new SpecError([
      {
        file,
        path: ROOT_PATH,
        message: `a spec is a mapping with keys such as name, study, trial, grid, seeds; got ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`,
      },
    ]);
  }

  const result = specSchema.safeParse(data);
  if (!result.success) {
    const issues = issuesFromZod(file, result.error.issues, data);
    throw new SpecError(
      located(
        issues,
        issues.map((issue) => pathSegments(issue.path)),
      ),
    );
  }
  const spec = inWrittenOrder(result.data as Spec, data as Record<string, unknown>);
  const semantic = semanticIssues(spec, file);
  if (semantic.length)
    throw new SpecError(
      located(
        semantic,
        semantic.map((issue) => pathSegments(issue.path)),
      ),
    );
  return spec;
}

type Block = Record<string, unknown>;

function reorder<T extends Block | undefined>(parsed: T, raw: unknown): T {
  if (!parsed || !raw || typeof raw !== 'object') return parsed;
  const out: Block = {};
  for (const key of Object.keys(raw)) if (key in parsed) out[key] = parsed[key];
  for (const key of Object.keys(parsed)) if (!(key in out)) out[key] = parsed[key];
  return out as T;
}

// zod rebuilds objects in schema order, but the order of grid axes (and of settings in
// run names and reports) is the order the user wrote, so it is restored from the input.
function inWrittenOrder(spec: Spec, raw: Block): Spec {
  // Searched settings too: the order of params is the order of a Sobol point's dimensions.
  const layer = <L extends { trial?: Block; grid?: Block; zip?: Block[]; search?: { params?: Block } }>(
    parsed: L,
    source: unknown,
  ): L => {
    const src = (source ?? {}) as { trial?: unknown; grid?: unknown; zip?: unknown[]; search?: { params?: unknown } };
    return {
      ...parsed,
      ...(parsed.trial ? { trial: reorder(parsed.trial, src.trial) } : {}),
      ...(parsed.grid ? { grid: reorder(parsed.grid, src.grid) } : {}),
      ...(parsed.zip ? { zip: parsed.zip.map((group, i) => reorder(group, src.zip?.[i])) } : {}),
      ...(parsed.search?.params
        ? { search: { ...parsed.search, params: reorder(parsed.search.params, src.search?.params) } }
        : {}),
    };
  };
  const profiles = raw.profiles as Record<string, unknown> | undefined;
  return {
    ...layer(spec as Spec & { trial: Block; grid: Block; zip: Block[] }, raw),
    profiles: Object.fromEntries(
      Object.entries(spec.profiles).map(([name, p]) => [
        name,
        layer(p as typeof p & { trial?: Block }, profiles?.[name]),
      ]),
    ),
  } as Spec;
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

/** Inverse of formatPath, for finding an issue's node in the YAML document. */
function pathSegments(path: string): PathSegment[] {
  if (path === ROOT_PATH) return [];
  const segments: PathSegment[] = [];
  const re = /([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(Number(m[2]));
    else segments.push(JSON.parse(m[3]) as string);
  }
  return segments;
}

function locator(doc: Document, lineCounter: LineCounter): Locate {
  return (path) => {
    let node: unknown = doc.contents;
    let range: [number, number, number] | undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        // Pointing at the key (`critic:`) rather than the value reads best for a field.
        range = (pair.key as Node).range ?? range;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
        node = node.items[seg];
        range = (node as Node).range ?? range;
      } else {
        break;
      }
    }
    if (!range) return undefined;
    const { line, col } = lineCounter.linePos(range[0]);
    return { line, column: col };
  };
}
