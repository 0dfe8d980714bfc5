// The closing lines of .ci/run: the slowest test files across every tier (from the
// durations reporter's MIRL_TEST_TIMINGS file) and one line of counts summed over the
// tiers' node:test summaries in the lanes' logs.
//   node test/support/ci-summary.mjs TIMINGS.jsonl LANE.log...
import { existsSync, readFileSync } from 'node:fs';

const [timingsFile, ...logs] = process.argv.slice(2);
const timings = existsSync(timingsFile)
  ? readFileSync(timingsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
const slowest = [...timings].sort((a, b) => b.seconds - a.seconds).slice(0, 10);
console.log(`slowest ${slowest.length} of ${timings.length} test files across the tiers:`);
for (const t of slowest) console.log(`  ${t.seconds.toFixed(1).padStart(7)} s  ${t.file}`);

const counts = { pass: 0, fail: 0, skipped: 0, cancelled: 0 };
for (const log of logs) {
  // The spec reporter's closing block: "ℹ pass 12", "ℹ fail 0", ...
  for (const m of readFileSync(log, 'utf8').matchAll(/^ℹ (pass|fail|skipped|cancelled) (\d+)$/gm))
    counts[m[1]] += Number(m[2]);
}
console.log(`ci: ${counts.pass} passed, ${counts.fail + counts.cancelled} failed, ${counts.skipped} skipped`);
