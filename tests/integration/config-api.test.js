// Configuration API conformance with the reference (serverless/event-gateway
// 0.9 docs/api.md and its HTTP handlers): status codes, defaults, validation
// errors as {"errors":[{"message"}]}, conflicts, referential rules, metadata
// filters, /v1/status and /metrics.
'use strict';

const assert = require('node:assert/strict');
const { after, test } = require('node:test');
const { assertErrorBody, logsCleanTest, startFunction, useGateway, withLogs } = require('./harness.js');

let fn;
const ref = useGateway({ bodyLimit: 65536 }, async () => {
  fn = await startFunction();
});
after(async () => {
  if (fn) await fn.close();
});

const g = (f) => withLogs(() => ref.gw, f);
const S = '/v1/spaces/default';

async function expectError(promise, status, what) {
  const res = await promise;
  assert.equal(res.status, status, `${what}: expected ${status}, got ${res.status} ${res.text}`);
  assertErrorBody(res, what);
  assert.match(res.headers.get('content-type') || '', /application\/json/, `${what}: content type`);
  return res;
}

test('GET /v1/status answers 200', g(async () => {
  const res = await ref.gw.config('GET', '/v1/status');
  assert.equal(res.status, 200);
}));

test('event types: 201, 409 on duplicates, 400 on bad input, 200/404 on reads', g(async () => {
  const gw = ref.gw;
  const created = await gw.config('POST', `${S}/eventtypes`, { name: 'order.placed' });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.space, 'default');
  assert.equal(created.json.name, 'order.placed');

  await expectError(gw.config('POST', `${S}/eventtypes`, { name: 'order.placed' }), 409, 'duplicate event type');
  await expectError(gw.config('POST', `${S}/eventtypes`, {}), 400, 'event type without name');
  await expectError(gw.config('POST', `${S}/eventtypes`, { name: 42 }), 400, 'event type name not a string');
  await expectError(gw.config('POST', `${S}/eventtypes`, '{"name": "broken"',
    { headers: { 'Content-Type': 'application/json' } }), 400, 'malformed JSON');
  await expectError(gw.config('POST', `${S}/eventtypes`, '[1,2]',
    { headers: { 'Content-Type': 'application/json' } }), 400, 'JSON that is not an object');

  const one = await gw.config('GET', `${S}/eventtypes/order.placed`);
  assert.equal(one.status, 200);
  assert.equal(one.json.name, 'order.placed');
  await expectError(gw.config('GET', `${S}/eventtypes/no.such`), 404, 'unknown event type');

  const list = await gw.config('GET', `${S}/eventtypes`);
  assert.equal(list.status, 200);
  assert.ok(Array.isArray(list.json.eventTypes));
  assert.deepEqual(list.json.eventTypes.map((t) => t.name), ['order.placed']);

  const updated = await gw.config('PUT', `${S}/eventtypes/order.placed`, { name: 'order.placed', metadata: { v: '2' } });
  assert.equal(updated.status, 200, updated.text);
  await expectError(gw.config('PUT', `${S}/eventtypes/no.such`, { name: 'no.such' }), 404, 'update unknown event type');
}));

test('functions: 201, defaults echoed, 409, 400 on bad provider, PUT 200/404', g(async () => {
  const gw = ref.gw;
  const created = await gw.config('POST', `${S}/functions`, { functionId: 'f1', type: 'http', provider: { url: fn.url } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.space, 'default');
  assert.equal(created.json.functionId, 'f1');
  assert.equal(created.json.type, 'http');
  assert.deepEqual(created.json.provider, { url: fn.url });

  await expectError(gw.config('POST', `${S}/functions`, { functionId: 'f1', type: 'http', provider: { url: fn.url } }),
    409, 'duplicate function');
  await expectError(gw.config('POST', `${S}/functions`, { functionId: 'f2', type: 'http', provider: {} }),
    400, 'http function without url');
  await expectError(gw.config('POST', `${S}/functions`, { functionId: 'f2', type: 'http', provider: { url: 7 } }),
    400, 'url not a string');
  await expectError(gw.config('POST', `${S}/functions`, { functionId: 'f2', type: 'carrier-pigeon', provider: { url: fn.url } }),
    400, 'unknown function type');
  await expectError(gw.config('POST', `${S}/functions`, { type: 'http', provider: { url: fn.url } }),
    400, 'function without functionId');
  await expectError(gw.config('POST', `${S}/functions`, { functionId: 'f2', type: 'http', provider: 'http://x' }),
    400, 'provider not an object');

  const put = await gw.config('PUT', `${S}/functions/f1`, { type: 'http', provider: { url: `${fn.url}v2` } });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.json.provider, { url: `${fn.url}v2` });
  await expectError(gw.config('PUT', `${S}/functions/nope`, { type: 'http', provider: { url: fn.url } }),
    404, 'update unknown function');
  const got = await gw.config('GET', `${S}/functions/f1`);
  assert.equal(got.status, 200);
  assert.deepEqual(got.json.provider, { url: `${fn.url}v2` });
  await expectError(gw.config('GET', `${S}/functions/nope`), 404, 'get unknown function');
  await expectError(gw.config('DELETE', `${S}/functions/nope`), 404, 'delete unknown function');
}));

test('subscriptions: defaults path / and method POST, 409, 400 on bad references and types', g(async () => {
  const gw = ref.gw;
  await gw.createEventType('http.request');
  const created = await gw.config('POST', `${S}/subscriptions`, { type: 'async', eventType: 'order.placed', functionId: 'f1' });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.path, '/');
  assert.equal(created.json.method, 'POST');
  assert.equal(created.json.space, 'default');
  assert.equal(typeof created.json.subscriptionId, 'string');

  const got = await gw.config('GET', `${S}/subscriptions/${encodeURIComponent(created.json.subscriptionId)}`);
  assert.equal(got.status, 200, got.text);
  assert.equal(got.json.subscriptionId, created.json.subscriptionId);

  await expectError(gw.config('POST', `${S}/subscriptions`, { type: 'async', eventType: 'order.placed', functionId: 'f1' }),
    409, 'same subscription twice');
  await expectError(gw.config('POST', `${S}/subscriptions`, { type: 'async', eventType: 'no.such', functionId: 'f1' }),
    400, 'unknown event type');
  await expectError(gw.config('POST', `${S}/subscriptions`, { type: 'async', eventType: 'order.placed', functionId: 'nope' }),
    400, 'unknown function');
  await expectError(gw.config('POST', `${S}/subscriptions`, { type: 'sometimes', eventType: 'order.placed', functionId: 'f1' }),
    400, 'unknown subscription type');
  await expectError(gw.config('POST', `${S}/subscriptions`, { type: 'sync', eventType: 'http.request', functionId: 'f1', method: 'FETCH', path: '/x' }),
    400, 'unknown method');
  await expectError(gw.config('POST', `${S}/subscriptions`, { type: 'sync', eventType: 'http.request', functionId: 'f1', path: 5 }),
    400, 'path not a string');
  await expectError(gw.config('GET', `${S}/subscriptions/nope`), 404, 'get unknown subscription');
  await expectError(gw.config('DELETE', `${S}/subscriptions/nope`), 404, 'delete unknown subscription');
}));

test('path conflicts between sync subscriptions are refused', g(async () => {
  const gw = ref.gw;
  await gw.createFunction('f3', fn.url);
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'f1', method: 'GET', path: '/users/:id' });
  await expectError(gw.config('POST', `${S}/subscriptions`,
    { type: 'sync', eventType: 'http.request', functionId: 'f3', method: 'GET', path: '/users/:name' }),
  400, 'parameter with another name');
  await expectError(gw.config('POST', `${S}/subscriptions`,
    { type: 'sync', eventType: 'http.request', functionId: 'f3', method: 'GET', path: '/users/foo' }),
  400, 'static path under a parameter');
  const other = await gw.config('POST', `${S}/subscriptions`,
    { type: 'sync', eventType: 'http.request', functionId: 'f3', method: 'GET', path: '/users/:id/orders' });
  assert.equal(other.status, 201, `a deeper path is no conflict: ${other.text}`);
  const post = await gw.config('POST', `${S}/subscriptions`,
    { type: 'sync', eventType: 'http.request', functionId: 'f3', method: 'POST', path: '/users/:name' });
  assert.equal(post.status, 201, `another method is no conflict: ${post.text}`);
  const second = await gw.config('POST', `${S}/subscriptions`,
    { type: 'sync', eventType: 'http.request', functionId: 'f3', method: 'GET', path: '/users/:id' });
  assert.ok([400, 409].includes(second.status),
    `a second sync subscription on GET /users/:id: expected 400 or 409, got ${second.status} ${second.text}`);
  assertErrorBody(second, 'second sync subscription');
}));

test('referential rules: in-use functions and event types cannot be deleted', g(async () => {
  const gw = ref.gw;
  await expectError(gw.config('DELETE', `${S}/functions/f1`), 400, 'function in use');
  await expectError(gw.config('DELETE', `${S}/eventtypes/order.placed`), 400, 'event type in use');

  const subs = (await gw.config('GET', `${S}/subscriptions`)).json.subscriptions;
  for (const s of subs.filter((x) => x.functionId === 'f1' || x.eventType === 'order.placed')) {
    const del = await gw.config('DELETE', `${S}/subscriptions/${encodeURIComponent(s.subscriptionId)}`);
    assert.equal(del.status, 204, del.text);
  }
  const delFn = await gw.config('DELETE', `${S}/functions/f1`);
  assert.equal(delFn.status, 204, delFn.text);
  const delType = await gw.config('DELETE', `${S}/eventtypes/order.placed`);
  assert.equal(delType.status, 204, delType.text);
  await expectError(gw.config('GET', `${S}/functions/f1`), 404, 'deleted function');
}));

test('metadata filters on list calls', g(async () => {
  const gw = ref.gw;
  await gw.createFunction('team-a', fn.url, { metadata: { team: 'a', tier: 'gold' } });
  await gw.createFunction('team-b', fn.url, { metadata: { team: 'b' } });
  const a = await gw.config('GET', `${S}/functions?metadata.team=a`);
  assert.equal(a.status, 200);
  assert.deepEqual(a.json.functions.map((f) => f.functionId), ['team-a']);
  assert.deepEqual(a.json.functions[0].metadata, { team: 'a', tier: 'gold' });
  const both = await gw.config('GET', `${S}/functions?metadata.team=a&metadata.tier=gold`);
  assert.deepEqual(both.json.functions.map((f) => f.functionId), ['team-a']);
  const none = await gw.config('GET', `${S}/functions?metadata.team=c`);
  assert.deepEqual(none.json.functions, []);
}));

test('spaces are separate, and an unknown space is empty', g(async () => {
  const gw = ref.gw;
  const empty = await gw.config('GET', '/v1/spaces/nowhere/functions');
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.json.functions, []);
  await expectError(gw.config('GET', '/v1/spaces/nowhere/functions/team-a'), 404, 'function of another space');
  const other = await gw.config('POST', '/v1/spaces/other/functions', { functionId: 'team-a', type: 'http', provider: { url: fn.url } });
  assert.equal(other.status, 201, `same id in another space: ${other.text}`);
  assert.equal(other.json.space, 'other');
}));

test('unknown routes get 404, oversized bodies 413, and the API keeps serving', g(async () => {
  const gw = ref.gw;
  const res = await gw.config('GET', '/v1/nothing-here');
  assert.equal(res.status, 404);
  const big = await gw.config('POST', `${S}/eventtypes`, JSON.stringify({ name: 'x'.repeat(100000) }),
    { headers: { 'Content-Type': 'application/json' } });
  assert.equal(big.status, 413);
  const ok = await gw.config('GET', '/v1/status');
  assert.equal(ok.status, 200);
}));

test('/metrics exposes eventgateway_* metrics in Prometheus text format', g(async () => {
  const res = await ref.gw.config('GET', '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') || '', /text\/plain/);
  const names = res.text.split('\n').filter((l) => /^eventgateway_/.test(l));
  assert.ok(names.length > 0, `no eventgateway_ metric in:\n${res.text.slice(0, 500)}`);
  for (const line of names) assert.match(line, /^eventgateway_[a-z_]+(\{[^}]*\})? [0-9.eE+-]+$/, line);
}));

logsCleanTest(ref);
