import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import axios from 'axios';
import { MlflowClient } from '../../tracking/client.js';
import { authorizationHeader, connectionInputFromEnv, resolveConnection } from '../../tracking/config.js';
import {
  MlflowApiError,
  MlflowNetworkError,
  MlflowValidationError,
  redactError,
  redactText,
} from '../../tracking/errors.js';
import { silentLogger } from '../../tracking/logger.js';
import { freePort } from '../support/processes.js';

const TOKEN = 'tok-SECRET-0123456789';
const PASSWORD = 'pw-SECRET-9876';
const quick = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 1000 };

function assertNoSecrets(value: unknown) {
  const text = inspect(value, { depth: 20, showHidden: true }) + String(value);
  for (const secret of [TOKEN, PASSWORD, Buffer.from(`alice:${PASSWORD}`).toString('base64')]) {
    assert.ok(!text.includes(secret), `leaked ${secret} in:\n${text.slice(0, 2000)}`);
  }
}

describe('configuration from the environment', () => {
  it('defaults to the local server', () => {
    const c = resolveConnection(connectionInputFromEnv({}));
    assert.equal(c.baseUrl, 'http://127.0.0.1:5000');
    assert.deepEqual(c.credentials, { kind: 'none' });
    assert.equal(c.insecureTls, false);
    assert.equal(c.timeoutMs, 30_000);
  });

  it('reads URI, token, insecure TLS and timeout', () => {
    const c = resolveConnection(
      connectionInputFromEnv({
        MLFLOW_TRACKING_URI: 'https://mlflow.example.org/prefix/',
        MLFLOW_TRACKING_TOKEN: TOKEN,
        MLFLOW_TRACKING_USERNAME: 'alice',
        MLFLOW_TRACKING_PASSWORD: PASSWORD,
        MLFLOW_TRACKING_INSECURE_TLS: 'true',
        MLFLOW_HTTP_REQUEST_TIMEOUT: '12',
      }),
    );
    assert.equal(c.baseUrl, 'https://mlflow.example.org/prefix');
    // the token wins over basic credentials, as in MLflow's Python client
    assert.deepEqual(c.credentials, { kind: 'bearer', token: TOKEN });
    assert.equal(authorizationHeader(c.credentials), `Bearer ${TOKEN}`);
    assert.equal(c.insecureTls, true);
    assert.equal(c.timeoutMs, 12_000);
  });

  it('uses basic auth from username/password, or from userinfo in the URI, and strips the userinfo', () => {
    const basic = resolveConnection(
      connectionInputFromEnv({ MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: PASSWORD }),
    );
    assert.equal(
      authorizationHeader(basic.credentials),
      `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`,
    );

    const fromUri = resolveConnection({ trackingUri: `http://alice:${PASSWORD}@mlflow.local:5000` });
    assert.equal(fromUri.baseUrl, 'http://mlflow.local:5000');
    assert.deepEqual(fromUri.credentials, { kind: 'basic', username: 'alice', password: PASSWORD });
  });

  it('refuses non-http tracking URIs with a clear message', () => {
    assert.throws(() => resolveConnection({ trackingUri: 'file:///tmp/mlruns' }), MlflowValidationError);
    assert.throws(() => resolveConnection({ trackingUri: 'not a url' }), /not a URL/);
  });

  it('fromEnv lets explicit options win', () => {
    const client = MlflowClient.fromEnv(
      { trackingUri: 'http://127.0.0.1:1' },
      { MLFLOW_TRACKING_URI: 'http://other:5000' },
    );
    assert.equal(client.trackingUri, 'http://127.0.0.1:1');
  });
});

describe('credentials never reach errors', () => {
  let server: http.Server;
  let uri: string;
  before(async () => {
    // Echoes the request headers back in an error body, like a careless proxy might.
    server = http.createServer((req, res) => {
      res.writeHead(req.url?.includes('/runs/get') ? 500 : 401, { 'Content-Type': 'text/plain' });
      const [scheme, credential = ''] = (req.headers.authorization ?? '').split(' ');
      const raw = scheme === 'Basic' ? Buffer.from(credential, 'base64').toString() : credential;
      res.end(`denied; you sent ${JSON.stringify(req.headers)} (raw: ${raw}) to http://alice:${PASSWORD}@host/`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('redacts bearer tokens, basic credentials and URL userinfo from text', () => {
    const text = redactText(`Authorization: Bearer ${TOKEN} Basic YWxpY2U6cHc= at https://alice:${PASSWORD}@h/x`);
    assert.ok(!text.includes(TOKEN) && !text.includes(PASSWORD) && !text.includes('YWxpY2U6cHc='));
    assert.match(text, /https:\/\/h\/x/);
  });

  it('scrubs a real axios error in place', async () => {
    const port = await freePort();
    const err = await axios
      .get(`http://127.0.0.1:${port}/x`, { headers: { Authorization: `Bearer ${TOKEN}` }, auth: undefined })
      .catch((e: unknown) => e);
    assert.ok(inspect(err, { depth: 20 }).includes(TOKEN), 'the raw error does carry the token');
    redactError(err);
    assertNoSecrets(err);
  });

  it('a network failure with a token configured leaks nothing', async () => {
    const port = await freePort();
    const client = new MlflowClient({
      trackingUri: `http://127.0.0.1:${port}`,
      token: TOKEN,
      retry: quick,
      logger: silentLogger,
    });
    const err = await client.getRun('r1').catch((e: unknown) => e);
    assert.ok(err instanceof MlflowNetworkError);
    assert.equal(err.code, 'ECONNREFUSED');
    assertNoSecrets(err);
  });

  it('an HTTP error echoing credentials leaks nothing', async () => {
    for (const auth of [{ token: TOKEN }, { username: 'alice', password: PASSWORD }]) {
      const client = new MlflowClient({ trackingUri: uri, ...auth, retry: quick, logger: { warn: assertNoSecrets } });
      const denied = await client.getExperiment('1').catch((e: unknown) => e);
      assert.ok(denied instanceof MlflowApiError);
      assert.equal(denied.httpStatus, 401);
      assert.equal(denied.errorCode, 'UNAUTHENTICATED');
      assertNoSecrets(denied);
      // 500s are retried, and the retry warnings go through the logger check above
      const failed = await client.getRun('r1').catch((e: unknown) => e);
      assert.ok(failed instanceof MlflowApiError && failed.httpStatus === 500);
      assertNoSecrets(failed);
    }
  });
});
