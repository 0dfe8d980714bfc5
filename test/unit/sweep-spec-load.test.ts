// Issue 12, item 4: a spec path that is not a regular file, a spec file over the size
// limit and a spec whose workflow input would be over Temporal's limits each fail at once
// with one line naming the file and the limit; a Temporal error at launch prints its cause.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceError } from '@temporalio/client';
import { formatSpecError, isSpecError } from '../../sweep-spec/errors.js';
import { loadSpecFile, readSpecFile } from '../../sweep-spec/load.js';
import {
  checkWorkflowInputSize,
  formatBytes,
  MAX_SPEC_FILE_BYTES,
  MAX_WORKFLOW_INPUT_BYTES,
} from '../../sweep-spec/limits.js';
import { describeFailure, EXIT, ServerCallError } from '../../cli/errors.js';

const VALID = readFileSync(fileURLToPath(new URL('../fixtures/specs/critic-capacity.yaml', import.meta.url)), 'utf8');
const QUICK = { timeout: 10_000 };

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mirl-spec-load-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The one line of the SpecError `load` throws. */
function refusal(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    assert.ok(isSpecError(err), `expected a SpecError, got ${String(err)}`);
    const text = formatSpecError(err);
    assert.equal(text.split('\n').length, 1, text);
    return text;
  }
  assert.fail('expected the spec to be refused');
}

/** A valid spec padded with comment lines to exactly `bytes` bytes. */
function paddedSpec(bytes: number): string {
  const line = `# ${'x'.repeat(77)}\n`;
  let text = VALID.endsWith('\n') ? VALID : `${VALID}\n`;
  text += line.repeat(Math.floor((bytes - Buffer.byteLength(text)) / line.length));
  const rest = bytes - Buffer.byteLength(text);
  return rest > 0 ? text + '#'.repeat(rest - 1) + '\n' : text;
}

describe('loadSpecFile refuses what is not a regular file, without opening it', () => {
  it('a named pipe fails at once (no writer ever comes)', QUICK, async () => {
    const fifo = path.join(dir, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    // Should the load block on the FIFO, this writer frees it after 5 s, so the test
    // fails on the elapsed time rather than hanging the whole run.
    const rescuer = spawn('sh', ['-c', 'sleep 5; : > "$1"', 'sh', fifo], { stdio: 'ignore' });
    try {
      const start = performance.now();
      const line = refusal(() => loadSpecFile(fifo));
      assert.ok(performance.now() - start < 2_000, `took ${performance.now() - start} ms`);
      assert.equal(line, `${fifo}: cannot read the spec: not a regular file (a named pipe)`);
    } finally {
      rescuer.kill();
    }
  });

  it('a directory', QUICK, () => {
    const sub = path.join(dir, 'a-directory.yaml');
    mkdirSync(sub);
    assert.equal(
      refusal(() => loadSpecFile(sub)),
      `${sub}: cannot read the spec: not a regular file (a directory)`,
    );
  });

  it('a socket', QUICK, async () => {
    const sock = path.join(dir, 'sock.yaml');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      assert.equal(
        refusal(() => loadSpecFile(sock)),
        `${sock}: cannot read the spec: not a regular file (a socket)`,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a character device that never ends (/dev/zero)', { ...QUICK, skip: !existsSync('/dev/zero') }, () => {
    assert.equal(
      refusal(() => loadSpecFile('/dev/zero')),
      '/dev/zero: cannot read the spec: not a regular file (a character device)',
    );
  });

  it('a missing file still says so', QUICK, () => {
    const missing = path.join(dir, 'missing.yaml');
    assert.equal(
      refusal(() => loadSpecFile(missing)),
      `${missing}: cannot read the spec: no such file`,
    );
  });
});

describe('loadSpecFile refuses a spec file over MAX_SPEC_FILE_BYTES before reading it', () => {
  it('states the limit: 1 MiB', () => {
    assert.equal(MAX_SPEC_FILE_BYTES, 1024 * 1024);
    assert.equal(formatBytes(MAX_SPEC_FILE_BYTES), '1 MiB');
    assert.equal(formatBytes(MAX_WORKFLOW_INPUT_BYTES), '512 KiB');
    assert.equal(formatBytes(5 * 1024 * 1024), '5 MiB');
    assert.equal(formatBytes(5.04 * 1024 * 1024), '5.0 MiB');
    assert.equal(formatBytes(812), '812 bytes');
  });

  it('a 5 MiB (sparse) file fails with its size and the limit', QUICK, () => {
    const big = path.join(dir, 'big.yaml');
    writeFileSync(big, VALID);
    truncateSync(big, 5 * 1024 * 1024 + 100);
    assert.equal(
      refusal(() => loadSpecFile(big)),
      `${big}: the spec file is 5.0 MiB; a spec file may be at most 1 MiB`,
    );
  });

  it('a valid spec of exactly the limit loads; one byte more does not', QUICK, () => {
    const atLimit = path.join(dir, 'at-limit.yaml');
    writeFileSync(atLimit, paddedSpec(MAX_SPEC_FILE_BYTES));
    const loaded = readSpecFile(atLimit);
    assert.equal(loaded.bytes, MAX_SPEC_FILE_BYTES);
    assert.equal(loaded.text.length, MAX_SPEC_FILE_BYTES);
    const over = path.join(dir, 'over-limit.yaml');
    writeFileSync(over, paddedSpec(MAX_SPEC_FILE_BYTES + 1));
    assert.match(
      refusal(() => loadSpecFile(over)),
      /^.*over-limit\.yaml: the spec file is 1\.0 MiB; a spec file may be at most 1 MiB$/,
    );
  });
});

describe('the workflow input is sized before launch', () => {
  const inputOf = (file: string) => {
    const { spec, text } = readSpecFile(file);
    return { spec, sweepId: 'critic-capacity-20260101-000000-abcde', profile: null, options: {}, specText: text };
  };

  it(
    'a spec under the file limit whose text puts the input over MAX_WORKFLOW_INPUT_BYTES is refused, naming file and limit',
    QUICK,
    () => {
      const file = path.join(dir, 'comments.yaml');
      writeFileSync(file, paddedSpec(600 * 1024));
      const input = inputOf(file); // the file itself is fine
      const line = refusal(() => checkWorkflowInputSize(file, input));
      assert.match(
        line,
        new RegExp(
          `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the sweep's workflow input .* would be 6\\d\\d\\.\\d KiB; it may be at most 512 KiB`,
        ),
      );
    },
  );

  it('an ordinary spec is far under the budget', QUICK, () => {
    const file = path.join(dir, 'ordinary.yaml');
    writeFileSync(file, VALID);
    assert.doesNotThrow(() => checkWorkflowInputSize(file, inputOf(file)));
  });

  it('multi-byte text counts in UTF-8 bytes, as it travels', () => {
    const input = { specText: 'é'.repeat(300 * 1024) }; // 300 Ki characters, 600 KiB
    assert.match(
      refusal(() => checkWorkflowInputSize('x.yaml', input)),
      /^x\.yaml: .* would be 600\.0 KiB; it may be at most 512 KiB/,
    );
  });
});

describe('a Temporal error at launch prints its cause', () => {
  const DETAILS = 'grpc: received message larger than max (5243392 vs. 4194304)';
  const grpcError = () =>
    Object.assign(new Error(`8 RESOURCE_EXHAUSTED: ${DETAILS}`), { code: 8, details: DETAILS, metadata: {} });

  it('ServerCallError > ServiceError > gRPC error: one line with the gRPC status and details, exit 1', () => {
    const err = new ServerCallError(
      'could not start the sweep on Temporal',
      new ServiceError('Failed to start Workflow', { cause: grpcError() }),
    );
    assert.deepEqual(describeFailure(err), {
      message: `could not start the sweep on Temporal: RESOURCE_EXHAUSTED: ${DETAILS}`,
      code: EXIT.failed,
    });
  });

  it('a bare ServiceError from any command keeps its own words and adds the cause', () => {
    const { message, code } = describeFailure(new ServiceError('Failed to query Workflow', { cause: grpcError() }));
    assert.equal(message, `ServiceError: Failed to query Workflow: RESOURCE_EXHAUSTED: ${DETAILS}`);
    assert.equal(code, EXIT.failed);
  });

  it('a chain of plain errors, a cycle and a multi-line message stay on one line', () => {
    const inner = new Error('connect ECONNREFUSED\n127.0.0.1:7233');
    const outer = new Error('transport failed', { cause: inner });
    (inner as { cause?: unknown }).cause = outer;
    const { message } = describeFailure(new ServerCallError('could not start the sweep on Temporal', outer));
    assert.equal(
      message,
      'could not start the sweep on Temporal: transport failed: connect ECONNREFUSED 127.0.0.1:7233',
    );
  });

  it('spec and usage errors keep exit 2', () => {
    const file = path.join(dir, 'pipe2.yaml');
    execFileSync('mkfifo', [file]);
    try {
      loadSpecFile(file);
      assert.fail('expected a refusal');
    } catch (err) {
      assert.equal(describeFailure(err).code, EXIT.usage);
    }
  });
});
