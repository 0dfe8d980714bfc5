// The effective search of a plan: the spec's `search:` with the chosen profile's fields
// laid over it (params merge per setting), every field remembering where it was
// written, and the problems that make it unusable, each naming its field.
import { issuesFromZod, type SpecIssue } from '../errors.js';
import {
  DEFAULT_TPE_STARTUP,
  isIntegerSetting,
  MAX_TPE_BUDGET,
  SEARCH_METHODS,
  settingSchema,
  type Objective,
  type SearchSpec,
  type SettingKey,
} from '../schema.js';
import { spaceSize, type Distribution, type SearchParam } from './space.js';

export type SampledMethod = 'random' | 'sobol' | 'tpe';

export interface PlannedSearch {
  method: SampledMethod;
  /** Sampled points. */
  budget: number;
  seed: number;
  /** Points sampled quasi-randomly (Sobol) before a model is used: the budget, except for TPE. */
  startup: number;
  /** In written order: a point's values follow it. */
  params: SearchParam[];
  /** Where each searched setting is written, e.g. `search.params.learning_rate`. */
  keyPaths: Record<string, string>;
  /** Where the search is written (the layer that chose the method). */
  source: string;
}

interface Located<T> {
  value: T;
  path: string;
}

type Field = 'method' | 'budget' | 'seed' | 'startup' | 'objective';
const FIELDS: readonly Field[] = ['method', 'budget', 'seed', 'startup', 'objective'];

export interface ResolvedSearch {
  search: PlannedSearch | null;
  objective: Objective | null;
  /** Where the objective is written, for problems with its metric. */
  objectivePath: string | null;
  issues: SpecIssue[];
}

/** Collects the search of each layer in turn; a later layer wins per field and per setting. */
export class SearchLayers {
  private readonly fields = new Map<Field, Located<unknown>>();
  private readonly params = new Map<string, Located<Distribution>>();
  private prefix: string | null = null;

  /** Applies one layer; `claim` takes each searched setting away from the layer's other places. */
  apply(search: Partial<SearchSpec> | undefined, prefix: string, claim: (key: string) => void): void {
    if (!search) return;
    this.prefix ??= prefix;
    for (const field of FIELDS) {
      if (search[field] !== undefined)
        this.fields.set(field, { value: search[field], path: `${prefix}search.${field}` });
    }
    if (search.method !== undefined) this.prefix = prefix;
    for (const [key, dist] of Object.entries(search.params ?? {})) {
      claim(key);
      this.params.set(key, { value: dist as Distribution, path: `${prefix}search.params.${key}` });
    }
  }

  /** A setting fixed or made an axis by a later layer is no longer searched. */
  drop(key: string): void {
    this.params.delete(key);
  }

  resolve(file: string): ResolvedSearch {
    const objective = this.fields.get('objective') as Located<Objective> | undefined;
    const none: ResolvedSearch = {
      search: null,
      objective: objective?.value ?? null,
      objectivePath: objective?.path ?? null,
      issues: [],
    };
    if (this.prefix === null) return none;
    const issues = this.shapeIssues(file);
    for (const [key, { value, path }] of this.params)
      issues.push(...distributionIssues(key as SettingKey, value, path, file));
    const method = this.fields.get('method')?.value;
    if (issues.length || method === 'grid' || method === undefined) return { ...none, issues };
    const search = this.planned(method as SampledMethod);
    const budgetPath = this.pathOf('budget');
    const size = spaceSize(search.params);
    if (search.budget > size) {
      issues.push({
        file,
        path: budgetPath,
        value: String(search.budget),
        message: `the searched settings allow only ${size} distinct points, fewer than the budget; lower the budget or widen the ranges`,
      });
    }
    return { ...none, search: issues.length ? null : search, issues };
  }

  private pathOf(field: Field): string {
    return this.fields.get(field)?.path ?? `${this.prefix}search.${field}`;
  }

  private planned(method: SampledMethod): PlannedSearch {
    const budget = this.fields.get('budget')!.value as number;
    const startup = (this.fields.get('startup')?.value as number | undefined) ?? Math.min(DEFAULT_TPE_STARTUP, budget);
    const params = [...this.params].map(([key, { value }]) => ({
      key,
      dist: value,
      integer: isIntegerSetting(key as SettingKey),
    }));
    return {
      method,
      budget,
      seed: (this.fields.get('seed')?.value as number | undefined) ?? 0,
      startup: method === 'tpe' ? Math.min(startup, budget) : budget,
      params,
      keyPaths: Object.fromEntries([...this.params].map(([key, { path }]) => [key, path])),
      source: this.params.size ? `${this.prefix}search.params` : `${this.prefix}search`,
    };
  }

  /** Fields that the method needs, or that it has no use for. */
  private shapeIssues(file: string): SpecIssue[] {
    const issues: SpecIssue[] = [];
    const method = this.fields.get('method')?.value as string | undefined;
    const at = (field: Field) => this.pathOf(field);
    const sampled = SEARCH_METHODS.filter((m) => m !== 'grid');
    if (method === undefined) {
      issues.push({
        file,
        path: at('method'),
        message: 'missing: the spec has no search for the profile to amend, so the profile must choose a method',
        allowed: SEARCH_METHODS,
      });
      return issues;
    }
    if (method === 'grid') {
      if (this.params.size)
        issues.push({
          file,
          path: `${this.prefix}search.params`,
          message: 'method grid samples nothing: vary settings with grid: or zip:, or choose a sampling method',
          allowed: sampled,
        });
      for (const field of ['budget', 'startup'] as const) {
        if (this.fields.has(field))
          issues.push({ file, path: at(field), message: `applies to a sampling method, not grid`, allowed: sampled });
      }
      return issues;
    }
    if (!this.params.size)
      issues.push({
        file,
        path: `${this.prefix}search.params`,
        message: `method ${method} needs at least one numeric setting to sample under search.params`,
      });
    if (!this.fields.has('budget'))
      issues.push({
        file,
        path: at('budget'),
        message: `required for method ${method}: how many points to sample (an integer >= 1)`,
      });
    if (this.fields.has('startup') && method !== 'tpe')
      issues.push({ file, path: at('startup'), message: `applies to method tpe only, not ${method}` });
    if (method === 'tpe') {
      if (!this.fields.has('objective'))
        issues.push({
          file,
          path: at('objective'),
          message: 'required for method tpe: the metric to optimise and its mode (min or max)',
        });
      const budget = this.fields.get('budget')?.value as number | undefined;
      if (budget !== undefined && budget > MAX_TPE_BUDGET) {
        issues.push({
          file,
          path: at('budget'),
          value: String(budget),
          message: `method tpe allows a budget of at most ${MAX_TPE_BUDGET} points (its observations travel with the sweep); use sobol or random for more`,
        });
      }
    }
    return issues;
  }
}

/** The setting's own message for a value outside its range, e.g. `must be <= 10, got 20`. */
function rangeProblem(key: SettingKey, value: number, file: string): string | null {
  const result = settingSchema(key).safeParse(value);
  if (result.success) return null;
  return `${issuesFromZod(file, result.error.issues, value)[0]?.message ?? 'out of range'} (the range of ${key})`;
}

function distributionIssues(key: SettingKey, dist: Distribution, path: string, file: string): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const integer = isIntegerSetting(key);
  if (dist.distribution === 'choice') {
    const seen = new Map<number, number>();
    dist.values.forEach((v, i) => {
      const problem = rangeProblem(key, v, file);
      if (problem) issues.push({ file, path: `${path}.values[${i}]`, value: String(v), message: problem });
      else if (seen.has(v))
        issues.push({
          file,
          path: `${path}.values[${i}]`,
          value: String(v),
          message: `repeats ${path}.values[${seen.get(v)}]`,
        });
      seen.set(v, seen.get(v) ?? i);
    });
    return issues;
  }
  const { low, high } = dist;
  for (const [name, bound] of [
    ['low', low],
    ['high', high],
  ] as const) {
    const problem = rangeProblem(key, bound, file);
    if (problem) issues.push({ file, path: `${path}.${name}`, value: String(bound), message: problem });
    else if (dist.distribution === 'int_uniform' && !Number.isInteger(bound))
      issues.push({ file, path: `${path}.${name}`, value: String(bound), message: 'int_uniform takes integer bounds' });
  }
  if (dist.distribution === 'log_uniform' && low <= 0) {
    issues.push({
      file,
      path: `${path}.low`,
      value: String(low),
      message: 'log_uniform needs bounds > 0 (it samples the logarithm)',
    });
  }
  if (!(low < high))
    issues.push({ file, path: `${path}.high`, value: String(high), message: `must be above low (${low})` });
  if (dist.distribution === 'uniform' && integer) {
    issues.push({
      file,
      path: `${path}.distribution`,
      value: 'uniform',
      message: `${key} takes integers: use int_uniform, log_uniform (rounded to integers) or choice`,
      allowed: ['int_uniform', 'log_uniform', 'choice'],
    });
  }
  return issues;
}
