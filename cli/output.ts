// Results go to stdout, as JSON with --json; progress and diagnostics go to stderr.

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toFixed(4);
}

export function formatMetrics(m: Record<string, number>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k}=${formatNumber(v)}`)
    .join(' ');
}
