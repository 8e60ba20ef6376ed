// Operating the gateway: reading subscriptions with the sqlite3 shell,
// deleting one by hand (routing must stop within a second, with no restart),
// and SIGKILLing workers (supervisord restarts them; the next request works).
'use strict';

const assert = require('node:assert/strict');
const { after, test } = require('node:test');
const { startExampleFunctions } = require('../../deploy/example-functions.js');
const { logsCleanTest, sleep, sqlite, useGateway, waitFor, withLogs } = require('./harness.js');

let fns;
const USER = { id: '10', firstName: 'Donald', lastName: 'Duck', email: 'donald.duck@disney.com' };

const ref = useGateway({}, async (gw) => {
  fns = await startExampleFunctions({ eventsUrl: gw.eventsUrl });
  await gw.createEventType('http.request');
  await gw.createEventType('user.created');
  for (const name of ['getUser', 'createUser', 'emailUser']) await gw.createFunction(name, fns.urls[name]);
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'getUser', method: 'GET', path: '/users/:id' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'createUser', method: 'POST', path: '/users' });
  await gw.subscribe({ type: 'async', eventType: 'user.created', functionId: 'emailUser' });
  const res = await gw.events('POST', '/users', { body: USER });
  assert.equal(res.status, 200, res.text);
});
after(async () => {
  if (fns) await fns.close();
});

const g = (f) => withLogs(() => ref.gw, f);

test('the sqlite3 shell lists the walkthrough subscriptions', g(async () => {
  const out = sqlite(ref.gw.dbPath, 'select space, event_type, function_id, method, path from subscriptions');
  const rows = out.trim().split('\n').sort();
  assert.deepEqual(rows, [
    'default|http.request|createUser|POST|/users',
    'default|http.request|getUser|GET|/users/:id',
    'default|user.created|emailUser|POST|/',
  ]);
}));

test('a worker killed with SIGKILL is restarted by supervisord and the next request succeeds', g(async () => {
  const gw = ref.gw;
  for (const name of ['egw-worker:egw-worker-0', 'egw-worker:egw-worker-1']) {
    const before = gw.processes()[name];
    assert.equal(before && before.state, 'RUNNING', `${name} runs before the kill`);
    const pidOut = gw.ctl('pid', name).stdout.trim();
    assert.equal(Number(pidOut), before.pid, 'supervisorctl pid agrees with status');
    process.kill(before.pid, 'SIGKILL');

    const after = await waitFor(() => {
      const p = gw.processes()[name];
      return p && p.state === 'RUNNING' && p.pid !== before.pid && p;
    }, { timeoutMs: 15000, intervalMs: 100, what: `${name} restarted by supervisord` });
    assert.notEqual(after.pid, before.pid);

    const res = await gw.events('GET', '/users/10');
    assert.equal(res.status, 200, `first request after restarting ${name}: ${res.status} ${res.text}`);
    assert.deepEqual(JSON.parse(res.text), USER);
  }
  // Both workers were replaced; several requests in a row all succeed.
  for (let i = 0; i < 6; i++) {
    const res = await gw.events('GET', '/users/10');
    assert.equal(res.status, 200, `request ${i} after both restarts: ${res.status} ${res.text}`);
  }
}));

test('a subscription row deleted with the sqlite3 shell stops routing within a second', g(async (t) => {
  const gw = ref.gw;
  const pidsBefore = gw.processes();
  const ok = await gw.events('GET', '/users/10');
  assert.equal(ok.status, 200);
  const calls = fns.received.getUser.length;

  sqlite(gw.dbPath, "delete from subscriptions where function_id = 'getUser'");
  const deleted = Date.now();
  let res;
  for (;;) {
    res = await gw.events('GET', '/users/10', { timeoutMs: 5000 });
    if (res.status !== 200) break;
    assert.ok(Date.now() - deleted < 1000, 'GET /users/10 still routed to getUser 1 s after the row was deleted');
    await sleep(20);
  }
  const elapsed = Date.now() - deleted;
  t.diagnostic(`routing stopped ${elapsed} ms after the row was deleted (answer: ${res.status})`);
  assert.ok(elapsed <= 1000 + res.ms, `routing stopped after ${elapsed} ms`);
  const callsAfter = fns.received.getUser.length;
  await sleep(100);
  const again = await gw.events('GET', '/users/10');
  assert.notEqual(again.status, 200);
  assert.equal(fns.received.getUser.length, callsAfter, 'getUser is no longer called');
  assert.ok(callsAfter >= calls);

  const api = await gw.config('GET', '/v1/spaces/default/subscriptions');
  assert.equal(api.status, 200);
  assert.ok(!api.json.subscriptions.some((s) => s.functionId === 'getUser'),
    'the Configuration API no longer lists it either');
  const create = await gw.events('POST', '/users', { body: { ...USER, id: '11' } });
  assert.equal(create.status, 200, 'other subscriptions still route');

  const pidsAfter = gw.processes();
  for (const [name, p] of Object.entries(pidsBefore)) {
    assert.equal(pidsAfter[name].pid, p.pid, `${name} was not restarted`);
  }
}));

test('a subscription row inserted with the sqlite3 shell starts routing within a second', g(async () => {
  const gw = ref.gw;
  sqlite(gw.dbPath, "insert into subscriptions (space, subscription_id, type, event_type, function_id, method, path) " +
    "values ('default', 'by-hand', 'sync', 'http.request', 'getUser', 'GET', '/people/:id')");
  const added = Date.now();
  const res = await waitFor(async () => {
    const r = await gw.events('GET', '/people/10', { timeoutMs: 5000 });
    return r.status === 200 && r;
  }, { timeoutMs: 1000, intervalMs: 20, what: 'GET /people/10 to be routed' });
  assert.deepEqual(JSON.parse(res.text), USER);
  assert.ok(Date.now() - added <= 1000 + res.ms);
}));

logsCleanTest(ref);
