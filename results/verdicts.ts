// A sweep's trials against its study's claim (results/claims.ts): one interval test per
// comparison the claim makes, and the study's verdict per linear-evaluation protocol.
// Pure: the trials come in with their final values and, for changes within trials, the
// metric histories; the caller reads MLflow. Only finished trials count, as in the
// means of `mirl compare`: a pruned or failed trial's last value is not a final one.
import { settingText } from '../sweep-spec/index.js';
import { groupConfigurations, summarise, type TrialRun } from './aggregate.js';
import {
  claimFor,
  isAccuracyClaim,
  metricKey,
  PROTOCOL_METRICS,
  protocolsLogged,
  type AgainstValueTest,
  type BetweenTest,
  type ClaimTest,
  type OverTrainingTest,
  type Protocol,
} from './claims.js';
import {
  exceedsSeedSpread,
  oneSampleInterval,
  verdictOf,
  welchInterval,
  type ComparisonVerdict,
  type Direction,
  type Interval,
} from './statistics.js';

export interface HistoryPoint {
  step: number;
  value: number;
}

/** A trial run with, where read, its metric histories (a report's trials have them). */
export interface EvidenceTrial extends TrialRun {
  histories?: Record<string, HistoryPoint[]>;
}

/** One side of a comparison: its values over seeds. */
export interface Side {
  label: string;
  mean: number | null;
  sd: number | null;
  se?: number;
  n: number;
}

export interface ComparisonResult {
  kind: ClaimTest['kind'];
  metric: string;
  /** The paper's expectation in words: "bilinear > concat", "last > first evaluation". */
  expected: string;
  /** The configuration the comparison is made within (the axes not compared). */
  within: Record<string, unknown>;
  direction: Direction;
  a: Side;
  /** Null when a is compared with a fixed value. */
  b: Side | null;
  /** The fixed value a is compared with; null otherwise. */
  value: number | null;
  /**
   * 95% interval for a - b: Welch's across configurations, the paired t interval of
   * the per-trial change over training, or the one-sample one against a fixed value.
   * Null below two values on a side.
   */
  interval: Interval | null;
  /** |diff| > the larger sd of the sides (statistics.ts, exceedsSeedSpread); null without sds. */
  exceedsSeedSpread: boolean | null;
  verdict: ComparisonVerdict;
}

/**
 * A protocol's verdict from its comparisons, first rule that applies:
 * 'too few seeds' when no comparison had two seeds a side; 'shown' when every
 * comparison is shown; 'mixed' when some are shown and some opposite; 'opposite' when
 * some are opposite and none shown; 'partly shown' when some are shown and the rest
 * undecided or short of seeds; 'not decided' otherwise.
 * Requiring every comparison for 'shown' is an intersection-union test: each at 95%
 * keeps the whole at 95%, no multiplicity correction needed. 'opposite' and 'mixed'
 * flag any single contradiction, so with many comparisons they can fire by chance.
 */
export type StudyVerdict = 'shown' | 'partly shown' | 'mixed' | 'opposite' | 'not decided' | 'too few seeds';

export interface ProtocolVerdict {
  /** The linear-evaluation protocol; null for a claim not on accuracy. */
  protocol: Protocol | null;
  /** The metric keys its comparisons used. */
  metrics: string[];
  verdict: StudyVerdict;
  counts: Record<ComparisonVerdict, number>;
  comparisons: ComparisonResult[];
}

export interface StudyVerdicts {
  study: string;
  claim: string;
  untested: string | null;
  /** One per protocol the trials logged (one with protocol null for claims not on accuracy). */
  protocols: ProtocolVerdict[];
  notes: string[];
}

export function studyVerdict(verdicts: ComparisonVerdict[]): StudyVerdict {
  const has = (v: ComparisonVerdict) => verdicts.includes(v);
  if (verdicts.every((v) => v === 'too few seeds')) return 'too few seeds';
  if (verdicts.every((v) => v === 'shown')) return 'shown';
  if (has('opposite')) return has('shown') ? 'mixed' : 'opposite';
  return has('shown') ? 'partly shown' : 'not decided';
}

interface Config {
  config: Record<string, unknown>;
  finished: EvidenceTrial[];
}

const same = (x: unknown, y: unknown) => settingText(x) === settingText(y);

function without(config: Record<string, unknown>, axis: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k]) => k !== axis));
}

function side(label: string, values: number[]): Side {
  return { label, ...summarise(values) };
}

const finals = (trials: EvidenceTrial[], metric: string) =>
  trials.flatMap((t) => (Number.isFinite(t.metrics[metric]) ? [t.metrics[metric]] : []));

function result(
  base: Pick<ComparisonResult, 'kind' | 'metric' | 'expected' | 'within' | 'direction' | 'a' | 'b' | 'value'>,
  interval: Interval | null,
): ComparisonResult {
  const sds = [base.a.sd, ...(base.b ? [base.b.sd] : [])];
  return {
    ...base,
    interval,
    exceedsSeedSpread: exceedsSeedSpread(interval?.diff ?? null, sds),
    verdict: verdictOf(interval, base.direction),
  };
}

function betweenTests(test: BetweenTest, metric: string, configs: Config[]): ComparisonResult[] {
  return configs
    .filter((c) => same(c.config[test.axis], test.a))
    .flatMap((ca) => {
      const within = without(ca.config, test.axis);
      const cb = configs.find(
        (c) => same(c.config[test.axis], test.b) && Object.entries(within).every(([k, v]) => same(c.config[k], v)),
      );
      if (!cb) return [];
      const a = side(String(test.a), finals(ca.finished, metric));
      const b = side(String(test.b), finals(cb.finished, metric));
      const sign = test.direction === 'higher' ? '>' : '<';
      return [
        result(
          {
            kind: test.kind,
            metric,
            expected: `${test.a} ${sign} ${test.b}`,
            within,
            direction: test.direction,
            a,
            b,
            value: null,
          },
          welchInterval(a, b),
        ),
      ];
    });
}

/** A trial's first and last evaluation by step; a step logged twice keeps its last value. */
export function firstAndLast(points: HistoryPoint[] | undefined): [HistoryPoint, HistoryPoint] | null {
  const byStep = new Map<number, number>();
  for (const p of points ?? []) {
    if (Number.isFinite(p.value)) byStep.set(p.step, p.value);
    else byStep.delete(p.step);
  }
  const steps = [...byStep.keys()].sort((x, y) => x - y);
  if (steps.length < 2) return null;
  const [s0, s1] = [steps[0], steps[steps.length - 1]];
  return [
    { step: s0, value: byStep.get(s0)! },
    { step: s1, value: byStep.get(s1)! },
  ];
}

const stepRange = (steps: number[]) => {
  const lo = Math.min(...steps);
  const hi = Math.max(...steps);
  return lo === hi ? `step ${lo}` : `steps ${lo}-${hi}`;
};

function overTrainingTest(test: OverTrainingTest, metric: string, c: Config): ComparisonResult {
  const pairs = c.finished.flatMap((t) => {
    const fl = firstAndLast(t.histories?.[metric]);
    return fl ? [fl] : [];
  });
  const firsts = pairs.map(([first]) => first);
  const lasts = pairs.map(([, last]) => last);
  const at = (ps: HistoryPoint[]) => (ps.length ? ` (${stepRange(ps.map((p) => p.step))})` : '');
  const a = side(
    `last evaluation${at(lasts)}`,
    lasts.map((p) => p.value),
  );
  const b = side(
    `first evaluation${at(firsts)}`,
    firsts.map((p) => p.value),
  );
  // Paired: the interval is on each trial's own change, which the seeds' spread in level cannot blur.
  const change = summarise(lasts.map((p, i) => p.value - firsts[i].value));
  const sign = test.direction === 'higher' ? '>' : '<';
  return result(
    {
      kind: test.kind,
      metric,
      expected: `last ${sign} first evaluation`,
      within: c.config,
      direction: test.direction,
      a,
      b,
      value: null,
    },
    oneSampleInterval(change),
  );
}

function againstValueTests(test: AgainstValueTest, metric: string, configs: Config[]): ComparisonResult[] {
  const sign = test.direction === 'higher' ? '>' : '<';
  return configs
    .filter((c) => Object.entries(test.where).every(([k, v]) => same(c.config[k], v)))
    .map((c) => {
      const a = side(Object.values(test.where).join(', '), finals(c.finished, metric));
      const expected = `${a.label} ${sign} ${test.valueLabel} (${test.value.toPrecision(3)})`;
      return result(
        {
          kind: test.kind,
          metric,
          expected,
          within: c.config,
          direction: test.direction,
          a,
          b: null,
          value: test.value,
        },
        oneSampleInterval(a, test.value),
      );
    });
}

function runTest(test: ClaimTest, protocol: Protocol | null, configs: Config[]): ComparisonResult[] {
  const metric = metricKey(test.metric, protocol);
  switch (test.kind) {
    case 'between':
      return betweenTests(test, metric, configs);
    case 'over-training':
      return configs.map((c) => overTrainingTest(test, metric, c));
    case 'against-value':
      return againstValueTests(test, metric, configs);
  }
}

function countVerdicts(comparisons: ComparisonResult[]): Record<ComparisonVerdict, number> {
  const counts: Record<ComparisonVerdict, number> = { shown: 0, opposite: 0, 'not decided': 0, 'too few seeds': 0 };
  for (const c of comparisons) counts[c.verdict]++;
  return counts;
}

/** Metrics a within-trial test needs whose final values the trials have but whose histories nobody read. */
function missingHistories(tests: ClaimTest[], protocols: (Protocol | null)[], trials: EvidenceTrial[]): string[] {
  const keys = tests
    .filter((t) => t.kind === 'over-training')
    .flatMap((t) => protocols.map((p) => metricKey(t.metric, p)));
  return [...new Set(keys)].filter(
    (k) => trials.some((t) => k in t.metrics) && !trials.some((t) => (t.histories?.[k]?.length ?? 0) > 0),
  );
}

/** The study's claim tested on a sweep's trials; null when the study has no claim (smoke, a user's own). */
export function evaluateClaim(study: string | null | undefined, trials: EvidenceTrial[]): StudyVerdicts | null {
  const claim = claimFor(study);
  if (!claim) return null;
  const configs: Config[] = groupConfigurations(trials).groups.map((g) => ({
    config: g.config,
    finished: g.members.filter((m) => m.status === 'FINISHED'),
  }));
  const finished = configs.flatMap((c) => c.finished);
  const logged = new Set(finished.flatMap((t) => [...Object.keys(t.metrics), ...Object.keys(t.histories ?? {})]));
  const notes: string[] = [];
  const protocols: (Protocol | null)[] = isAccuracyClaim(claim) ? protocolsLogged(logged) : [null];
  if (protocols.length === 0)
    notes.push(`no finished trial logged ${Object.values(PROTOCOL_METRICS).join(' or ')}: no verdict`);
  for (const k of missingHistories(claim.tests, protocols, finished))
    notes.push(`the history of ${k} was not read: its change over training is not tested`);
  const out: ProtocolVerdict[] = [];
  for (const protocol of protocols) {
    const comparisons = claim.tests.flatMap((t) => runTest(t, protocol, configs));
    if (comparisons.length === 0) {
      notes.push(`the sweep has none of the configurations the claim compares${protocol ? ` (${protocol})` : ''}`);
      continue;
    }
    out.push({
      protocol,
      metrics: [...new Set(comparisons.map((c) => c.metric))],
      verdict: studyVerdict(comparisons.map((c) => c.verdict)),
      counts: countVerdicts(comparisons),
      comparisons,
    });
  }
  return { study: claim.study, claim: claim.claim, untested: claim.untested, protocols: out, notes };
}
