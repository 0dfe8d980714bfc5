// How TEMPORAL_* variables become connection settings: an API key implies TLS unless
// TEMPORAL_TLS=false says otherwise, as in Temporal's own environment configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { temporalSettings } from '../../servers/temporal-connection.js';

test('defaults: local dev server, no TLS, no key', () => {
  assert.deepEqual(temporalSettings({}), {
    address: '127.0.0.1:7233',
    namespace: 'default',
    tls: undefined,
    apiKey: undefined,
  });
});

test('an API key turns TLS on; TEMPORAL_TLS=false turns it off again', () => {
  assert.deepEqual(temporalSettings({ TEMPORAL_API_KEY: 'k' }).tls, {});
  const plain = temporalSettings({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' });
  assert.equal(plain.tls, false, 'false, not undefined: the SDK turns TLS on for an API key unless told not to');
  assert.equal(plain.apiKey, 'k');
  assert.deepEqual(temporalSettings({ TEMPORAL_TLS: 'true' }).tls, {});
});

test('TEMPORAL_TLS=false with a certificate is refused, naming both variables', () => {
  assert.throws(
    () => temporalSettings({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: '/dev/null' }),
    /TEMPORAL_TLS=false contradicts TEMPORAL_TLS_CERT\/TEMPORAL_TLS_CA/,
  );
});
