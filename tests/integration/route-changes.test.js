// Configuration changes reach the router's route table row by row (the
// route_changes log of schema/004_route_changes.sql): subscriptions created,
// moved and deleted through the Configuration API and with the sqlite3
// shell, functions updated both ways (every subscription of the function
// follows), async subscriptions, and the log itself (pruned once applied;
// no rebuild for these changes). No timing is asserted: waits are bounded
// only so a broken build fails instead of hanging.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, test } = require('node:test');
const {
  logsCleanTest, sqlite, startFunction, useGateway, waitFor, withLogs,
} = require('./harness.js');

const S = '/v1/spaces/default';
const fns = {};

const ref = useGateway({}, async (gw) => {
  for (const name of ['A', 'B', 'C']) {
    fns[name] = await startFunction(() => ({ statusCode: 200, body: name }));
  }
  await gw.createFunction('fa', fns.A.url);
  await gw.createFunction('fb', fns.B.url);
  await gw.createEventType('http.request');
  await gw.createEventType('user.created');
});
after(async () => {
  for (const f of Object.values(fns)) await f.close();
});
const g = (fn) => withLogs(() => ref.gw, fn);

// Which function answered GET path: 'A', 'B', 'C', or null when no sync
// subscription routed it (the router answers 202 with no subscriber).
async function who(urlPath) {
  const r = await ref.gw.events('GET', urlPath, { timeoutMs: 10000 });
  if (r.status === 200) return r.text;
  assert.equal(r.status, 202, `GET ${urlPath}: ${r.status} ${r.text}`);
  return null;
}

// Waits until every path in paths is answered by want (a bounded wait: the
// shell's changes are seen on the router's next data_version check).
async function expectAll(paths, want, what) {
  await waitFor(async () => {
    for (const p of paths) if ((await who(p)) !== want) return false;
    return true;
  }, { timeoutMs: 10000, intervalMs: 50, what });
}

function routerLog() {
  const dir = ref.gw.logDir;
  for (const f of fs.readdirSync(dir)) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    if (text.includes('route table reloaded (start)')) return text;
  }
  return '';
}

const apiPaths = [];

test('subscriptions created through the API route on the next request', g(async () => {
  for (let i = 0; i < 40; i++) {
    const p = `/api/${i}`;
    const r = await ref.gw.config('POST', `${S}/subscriptions`,
      { type: 'sync', eventType: 'http.request', functionId: i % 2 ? 'fb' : 'fa', method: 'GET', path: p });
    assert.equal(r.status, 201, r.text);
    // Create, then call at once: the change is applied before the 201.
    assert.equal(await who(p), i % 2 ? 'B' : 'A', `GET ${p} right after its 201`);
    apiPaths.push({ p, id: JSON.parse(r.text).subscriptionId, fn: i % 2 ? 'fb' : 'fa' });
  }
}));

test('a function update through the API reaches every subscription of the function', g(async () => {
  const put = await ref.gw.config('PUT', `${S}/functions/fa`, { type: 'http', provider: { url: fns.C.url } });
  assert.equal(put.status, 200, put.text);
  for (const { p, fn } of apiPaths) assert.equal(await who(p), fn === 'fa' ? 'C' : 'B', `GET ${p}`);
  const back = await ref.gw.config('PUT', `${S}/functions/fa`, { type: 'http', provider: { url: fns.A.url } });
  assert.equal(back.status, 200, back.text);
  for (const { p, fn } of apiPaths) assert.equal(await who(p), fn === 'fa' ? 'A' : 'B', `GET ${p}`);
}));

test('subscriptions deleted through the API stop routing on the next request', g(async () => {
  for (const { p, id } of apiPaths.filter((_, i) => i % 4 === 0)) {
    const del = await ref.gw.config('DELETE', `${S}/subscriptions/${encodeURIComponent(id)}`);
    assert.equal(del.status, 204, del.text);
    assert.equal(await who(p), null, `GET ${p} after its delete`);
  }
  for (const { p, fn } of apiPaths.filter((_, i) => i % 4 !== 0)) {
    assert.equal(await who(p), fn === 'fa' ? 'A' : 'B', `GET ${p} kept routing`);
  }
}));

test('subscriptions written with the sqlite3 shell route, move and stop without a restart', g(async () => {
  const db = ref.gw.dbPath;
  sqlite(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 29) " +
    "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id, method, path) " +
    "SELECT 'default', 'shell-' || i, 'sync', 'http.request', 'fb', 'GET', '/shell/' || i || '/:id' FROM n");
  const shellPaths = Array.from({ length: 30 }, (_, i) => `/shell/${i}/x`);
  await expectAll(shellPaths, 'B', 'the shell subscriptions to route');

  // Move ten of them to another path and function.
  sqlite(db, "UPDATE subscriptions SET path = '/moved/' || substr(subscription_id, 7), function_id = 'fa' " +
    "WHERE subscription_id IN (" + Array.from({ length: 10 }, (_, i) => `'shell-${i}'`).join(',') + ')');
  await expectAll(Array.from({ length: 10 }, (_, i) => `/moved/${i}`), 'A', 'the moved subscriptions to route');
  await expectAll(shellPaths.slice(0, 10), null, 'the old paths to stop routing');
  await expectAll(shellPaths.slice(10), 'B', 'the others to keep routing');

  // A function updated in the shell: every subscription follows.
  sqlite(db, `UPDATE functions SET provider = '{"url":"${fns.C.url}"}' WHERE function_id = 'fb'`);
  await expectAll(shellPaths.slice(10), 'C', 'the subscriptions of fb to follow its new URL');

  // Delete the rest by hand.
  sqlite(db, "DELETE FROM subscriptions WHERE subscription_id LIKE 'shell-%'");
  await expectAll([...shellPaths, ...Array.from({ length: 10 }, (_, i) => `/moved/${i}`)], null,
    'the deleted subscriptions to stop routing');
  // Subscriptions made through the API are untouched.
  const kept = apiPaths.filter((_, i) => i % 4 !== 0 && i % 2 === 0);
  await expectAll(kept.map((k) => k.p), 'A', 'the API subscriptions to keep routing');
}));

test('async subscriptions follow creates and deletes', g(async () => {
  const emit = (id) => ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents+json' },
    body: JSON.stringify({ specversion: '1.0', type: 'user.created', source: '/t', id, data: { id } }),
  });
  const sub = await ref.gw.config('POST', `${S}/subscriptions`,
    { type: 'async', eventType: 'user.created', functionId: 'fa', method: 'POST', path: '/' });
  assert.equal(sub.status, 201, sub.text);
  const before = fns.A.calls.length;
  const r = await emit('ev-1');
  assert.equal(r.status, 202, r.text);
  await fns.A.waitForCalls(before + 1, 10000);
  assert.ok(fns.A.calls.slice(before).some((c) => c.text.includes('ev-1')), 'ev-1 delivered to fa');

  const id = JSON.parse(sub.text).subscriptionId;
  const del = await ref.gw.config('DELETE', `${S}/subscriptions/${encodeURIComponent(id)}`);
  assert.equal(del.status, 204, del.text);
  const calls = fns.A.calls.length;
  assert.equal((await emit('ev-2')).status, 202);
  // Deliveries to one function go out in order: subscribe fa again and emit
  // ev-3; when ev-3 arrives, a stored ev-2 would have arrived before it.
  const again = await ref.gw.config('POST', `${S}/subscriptions`,
    { type: 'async', eventType: 'user.created', functionId: 'fa', method: 'POST', path: '/' });
  assert.equal(again.status, 201, again.text);
  assert.equal((await emit('ev-3')).status, 202);
  await waitFor(() => fns.A.calls.slice(calls).some((c) => c.text.includes('ev-3')),
    { timeoutMs: 10000, what: 'ev-3 to be delivered' });
  assert.ok(!fns.A.calls.slice(calls).some((c) => c.text.includes('ev-2')), 'ev-2 not delivered after the delete');
  const id2 = JSON.parse(again.text).subscriptionId;
  assert.equal((await ref.gw.config('DELETE', `${S}/subscriptions/${encodeURIComponent(id2)}`)).status, 204);
}));

test('CORS configurations follow creates, updates and deletes', g(async () => {
  const allowed = async (p, origin = 'https://app.test') => (await ref.gw.events('OPTIONS', p, {
    headers: { Origin: origin, 'Access-Control-Request-Method': 'GET' },
  })).headers.get('access-control-allow-origin');
  assert.equal(await allowed('/api/1'), null, 'no CORS configuration yet');
  const c = await ref.gw.config('POST', `${S}/cors`,
    { method: 'GET', path: '/api/1', allowedOrigins: ['https://app.test'] });
  assert.equal(c.status, 201, c.text);
  assert.equal(await allowed('/api/1'), 'https://app.test', 'allowed right after the 201');
  // The id is already URL-encoded ("GET%2Fapi%2F1").
  const id = JSON.parse(c.text).corsId;
  const put = await ref.gw.config('PUT', `${S}/cors/${id}`,
    { method: 'GET', path: '/api/1', allowedOrigins: ['https://other.test'] });
  assert.equal(put.status, 200, put.text);
  assert.equal(await allowed('/api/1'), null, 'the old origin is no longer allowed');
  assert.equal(await allowed('/api/1', 'https://other.test'), 'https://other.test', 'the new one is');
  const del = await ref.gw.config('DELETE', `${S}/cors/${id}`);
  assert.equal(del.status, 204, del.text);
  assert.equal(await allowed('/api/1', 'https://other.test'), null, 'gone after the delete');
}));

test('the change log is applied row by row and pruned', g(async () => {
  const log = routerLog();
  assert.match(log, /route table: \d+ changes? applied/, 'changes applied row by row');
  const reloads = log.split('\n').filter((l) => l.includes('route table reloaded'));
  assert.equal(reloads.length, 1, `only the start builds the table:\n${reloads.join('\n')}`);
  await waitFor(() => sqlite(ref.gw.dbPath, 'SELECT count(*) FROM route_changes').trim() === '0',
    { timeoutMs: 10000, what: 'route_changes to be pruned' });
}));

logsCleanTest(ref);
