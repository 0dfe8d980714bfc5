// Scenario 6 at the command line: `mirl sweep launch BAD` against a real Temporal server
// exits 2 with an error naming the file and the field (or line:column), prints no stack
// and nothing on stdout, and starts no workflow. The parser itself meets the whole
// corpus in test/unit/sweep-spec-corpus.test.ts; here a spread sample of it (every section:
// wrong types, unknown keys, empty grids, absurd sizes, grids over the trial limit, YAML
// syntax errors, non-UTF-8 bytes) goes through the CLI, which costs a process each.
// Paths that are no spec file at all (a named pipe, a 5 MiB file) and a spec too big for
// Temporal's input limits are refused the same way, at once, before any connection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { REPO_ROOT } from '../support/processes.js';
import { cases, validText } from '../support/sweep-spec-corpus.js';
import { startTemporalServer, waitFor, workflowBundleFile, type TemporalServer } from '../support/temporal-server.js';

const run = promisify(execFile);
const SAMPLE_EVERY = 10;

let server: TemporalServer;
let dir: string;
before(async () => {
  server = await startTemporalServer();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirl-fault-specs-'));
});
after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function launch(
  file: string,
  command = 'launch',
  timeout = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, ...server.env, MIRL_WORKFLOW_BUNDLE: await workflowBundleFile() };
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/mirl.js', 'sweep', command, file, '--json'], {
      cwd: REPO_ROOT,
      env,
      timeout,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Refused at once: exit 2, nothing on stdout, exactly one line on stderr. A CLI that hung
 * (on opening a FIFO, say) is killed by the timeout and fails here with exit -1.
 */
async function refusedAtOnce(file: string, command: 'launch' | 'validate', line: RegExp | string): Promise<void> {
  const start = Date.now();
  const r = await launch(file, command, 30_000);
  assert.equal(r.code, 2, `exit ${r.code} after ${Date.now() - start} ms; stderr ${JSON.stringify(r.stderr)}`);
  assert.equal(r.stdout, '');
  if (typeof line === 'string') assert.equal(r.stderr, `mirl: ${line}\n`);
  else assert.match(r.stderr, line);
}

// These run before the corpus sample, whose last check (the good sweep is the only
// workflow listed) also proves that none of them started one.
test(
  'a named pipe as the spec file is refused at once by `mirl sweep launch` and `validate`, exit 2',
  { timeout: 120_000 },
  async () => {
    const fifo = path.join(dir, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    for (const command of ['launch', 'validate'] as const) {
      await refusedAtOnce(fifo, command, `${fifo}: cannot read the spec: not a regular file (a named pipe)`);
    }
  },
);

test(
  'a 5 MiB spec file is refused by `mirl sweep launch` and `validate` with its size and the limit, exit 2',
  { timeout: 120_000 },
  async () => {
    const big = path.join(dir, 'big.yaml');
    await writeFile(big, validText);
    await truncate(big, 5 * 1024 * 1024 + 100);
    for (const command of ['launch', 'validate'] as const) {
      await refusedAtOnce(big, command, `${big}: the spec file is 5.0 MiB; a spec file may be at most 1 MiB`);
    }
  },
);

test(
  'a spec under the file limit whose workflow input would be over 512 KiB is refused before launch, exit 2',
  { timeout: 120_000 },
  async () => {
    const commented = path.join(dir, 'commented.yaml');
    const comment = `# ${'c'.repeat(77)}\n`;
    await writeFile(commented, validText + '\n' + comment.repeat(Math.ceil((700 * 1024) / comment.length)));
    const line = new RegExp(
      `^mirl: ${escape(commented)}: the sweep's workflow input .* would be 7\\d\\d\\.\\d KiB; it may be at most 512 KiB[^\\n]*\\n$`,
    );
    for (const command of ['launch', 'validate'] as const) await refusedAtOnce(commented, command, line);
  },
);

test(
  `a sample of the malformed-spec corpus (1 in ${SAMPLE_EVERY}) is refused by \`mirl sweep launch\`, exit 2, naming the field, starting nothing`,
  { timeout: 600_000 },
  async () => {
    const sample = cases.filter((c, i) => i % SAMPLE_EVERY === 0 || /too many trials/.test(c.name));
    assert.ok(sample.length >= 50, `${sample.length} cases`);
    const failures: string[] = [];
    const limit = pLimit(2);
    await Promise.all(
      sample.map((c, i) =>
        limit(async () => {
          const file = path.join(dir, `bad-${i}.yaml`);
          await writeFile(file, c.bytes);
          const r = await launch(file);
          const lines = r.stderr.trimEnd().split('\n');
          const line = new RegExp(`^(mirl: )?${escape(file)}(:\\d+:\\d+)?: \\S`);
          const why: string[] = [];
          if (r.code !== 2) why.push(`exit ${r.code}`);
          if (r.stdout !== '') why.push(`stdout ${JSON.stringify(r.stdout)}`);
          if (!lines[0].startsWith('mirl: ')) why.push('no "mirl: " lead');
          if (!lines.every((l) => line.test(l))) why.push('a line that names no file and field');
          if (/^\s+at /m.test(r.stderr)) why.push('a stack trace');
          if (c.expectPath && !r.stderr.includes(`${file}: ${c.expectPath}`)) why.push(`no mention of ${c.expectPath}`);
          if (why.length)
            failures.push(`${c.name}: ${why.join(', ')}; stderr ${JSON.stringify(r.stderr.slice(0, 300))}`);
        }),
      ),
    );
    assert.deepEqual(failures, []);

    // The same path with the unmutated spec does start one. Visibility is eventually
    // consistent, so the listing is read once that workflow shows: it must be the only one.
    const good = path.join(dir, 'good.yaml');
    await writeFile(good, validText);
    const r = await launch(good);
    assert.equal(r.code, 0, r.stderr);
    const { sweepId } = JSON.parse(r.stdout) as { sweepId: string };
    const ids = await waitFor(
      'the good sweep to be listed',
      async () => {
        const listed: string[] = [];
        for await (const w of server.client.workflow.list()) listed.push(w.workflowId);
        return listed.includes(sweepId) ? listed : undefined;
      },
      60_000,
      500,
    );
    assert.deepEqual(ids, [sweepId], 'no bad spec started a workflow');
    await server.client.workflow.getHandle(sweepId).terminate('test over');
  },
);
