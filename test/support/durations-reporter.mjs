// A node:test reporter that prints, when a run ends, its slowest test files with their
// wall times, so whoever waits on the suite sees where the time goes. It runs beside the
// spec reporter (scripts/test-tier.sh). With MIRL_TEST_TIMINGS set it also appends one JSON
// line per file to that path, which .ci/run sums up across tiers. Plain JavaScript: the
// test runner loads reporters before `--import tsx` takes effect.
import { appendFileSync } from 'node:fs';
import path from 'node:path';

const SHOWN = Number(process.env.MIRL_TEST_SLOWEST ?? 12);

/** @param {{file: string, seconds: number, passed: boolean}[]} timings */
function slowestTable(timings) {
  if (timings.length === 0) return '';
  const total = timings.reduce((s, t) => s + t.seconds, 0);
  const rows = [...timings].sort((a, b) => b.seconds - a.seconds).slice(0, SHOWN);
  const width = Math.max(...rows.map((r) => r.file.length));
  const lines = rows.map(
    (r) => `  ${r.seconds.toFixed(1).padStart(7)} s  ${r.passed ? r.file : `${r.file.padEnd(width)}  (failed)`}`,
  );
  return [
    `slowest ${rows.length} of ${timings.length} test files (${total.toFixed(0)} s of file time):`,
    ...lines,
    '',
  ].join('\n');
}

/** @param {AsyncIterable<{type: string, data?: any}>} source */
export default async function* durationsReporter(source) {
  /** @type {{file: string, seconds: number, passed: boolean}[]} */
  const timings = [];
  for await (const event of source) {
    const d = event.data;
    // node:test reports each file as a test of nesting 0 named by its path; its duration
    // spans the file's process, hooks (server start and stop) included.
    if (event.type !== 'test:complete' || !d?.file || d.name !== d.file || d.nesting !== 0) continue;
    timings.push({
      file: path.relative(process.cwd(), d.file),
      seconds: (d.details?.duration_ms ?? 0) / 1000,
      passed: d.details?.passed ?? false,
    });
  }
  const out = process.env.MIRL_TEST_TIMINGS;
  if (out) appendFileSync(out, timings.map((t) => JSON.stringify(t) + '\n').join(''));
  yield `\n${slowestTable(timings)}`;
}
