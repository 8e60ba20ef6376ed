// Durable async delivery, focused checks by the implementer (issue 3,
// docs/reliability.md): retries after failures with the X-Egw-* headers,
// a permanent 4xx goes to dead letters after one call, the dead-letters
// API (list, get with the event, replay one or by function, purge, errors),
// the per-subscription retry override and its validation, 503 with
// Retry-After past the backlog bound (nothing counted as dropped), and a
// SIGKILLed router resuming the deliveries it had stored.
//
// One gateway: retry delays of 50..400 ms, a backlog bound of 40 pending
// deliveries, a 1 s function timeout. Tests run in order; each uses its own
// event type and functions, and leaves nothing pending behind it.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, test } = require('node:test');
const {
  assertErrorBody, logsCleanTest, raw, request, sleep, sqlite, startFunction, useGateway,
  waitFor, withLogs,
} = require('./harness.js');
const { metrics: gatewayMetrics } = require('./producer.js');

const BACKLOG = 40;
const S = '/v1/spaces/default';
const fns = [];

const ref = useGateway({
  functionTimeoutMs: 1000,
  env: {
    EGW_RETRY_BASE_MS: '50',
    EGW_RETRY_CAP_MS: '400',
    EGW_RETRY_MAX_ATTEMPTS: '50',
    EGW_BACKLOG_EVENTS: String(BACKLOG),
    EGW_DURABILITY: 'os',
  },
});
after(async () => {
  for (const f of fns) await f.close();
});
const g = (f) => withLogs(() => ref.gw, f);

async function fn(handler) {
  const f = await startFunction(handler);
  fns.push(f);
  return f;
}

// Event type `type`, function `name` and one async subscription to it.
async function wire(name, type, f, extra = {}) {
  const gw = ref.gw;
  await gw.createEventType(type);
  await gw.createFunction(name, f.url);
  return gw.subscribe({ type: 'async', eventType: type, functionId: name, ...extra });
}

function ce(eventType, eventID = crypto.randomUUID(), data = { n: 1 }) {
  return {
    cloudEventsVersion: '0.1', eventType, eventID, source: '/delivery-test',
    contentType: 'application/json', data,
  };
}

async function emit(eventType, eventID) {
  const res = await ref.gw.events('POST', '/', { body: ce(eventType, eventID) });
  assert.equal(res.status, 202, `emit ${eventType}: ${res.status} ${res.text}`);
  return eventID;
}

const metrics = () => gatewayMetrics(ref.gw);

const pendingRows = (fid) =>
  Number(sqlite(ref.gw.dbPath, `select count(*) from deliveries where function_id = '${fid}'`).trim());

async function deadLetters(query = '') {
  const res = await ref.gw.config('GET', `${S}/deadletters${query}`);
  assert.equal(res.status, 200, `GET deadletters${query}: ${res.status} ${res.text}`);
  return res.json.deadLetters;
}

test('a failing function is retried until it succeeds, with the event id and attempt headers', g(async () => {
  const failures = new Map(); // event id -> failures still to give
  const f = await fn((event, call) => {
    const id = call.headers['x-egw-event-id'];
    const left = failures.get(id) ?? 0;
    if (left > 0) {
      failures.set(id, left - 1);
      return raw({ status: left % 2 ? 503 : 500, body: 'not yet' });
    }
    return raw({ status: 200, body: 'ok' });
  });
  await wire('dRetry', 'd.retry', f);
  const before = await metrics();
  const id = crypto.randomUUID();
  failures.set(id, 3);
  await emit('d.retry', id);
  await f.waitForCalls(4, 15000);
  await sleep(300);
  const calls = f.calls.filter((c) => c.headers['x-egw-event-id'] === id);
  assert.equal(calls.length, 4, 'three failures, then one success, then nothing more');
  assert.deepEqual(calls.map((c) => c.headers['x-egw-delivery-attempt']), ['1', '2', '3', '4']);
  for (const c of calls) assert.equal(c.event.eventID, id);
  await waitFor(() => pendingRows('dRetry') === 0, { what: 'the delivered row deleted' });
  const m = await metrics();
  assert.equal(m.eventgateway_deliveries_retried_total - (before.eventgateway_deliveries_retried_total || 0), 3);
  assert.equal(m.eventgateway_deliveries_dead_total, before.eventgateway_deliveries_dead_total);
}));

test('retries go to the function as configured now: fixing its URL fixes the waiting retries', g(async () => {
  const broken = await fn(() => raw({ status: 503, body: 'wrong backend' }));
  const fixed = await fn(() => raw({ status: 200, body: 'ok' }));
  await wire('dFix', 'd.fix', broken);
  const id = await emit('d.fix', crypto.randomUUID());
  await broken.waitForCalls(2, 15000);
  const put = await ref.gw.config('PUT', `${S}/functions/dFix`, { type: 'http', provider: { url: fixed.url } });
  assert.equal(put.status, 200, `PUT function: ${put.status} ${put.text}`);
  await fixed.waitForCalls(1, 15000);
  const call = fixed.calls[0];
  assert.equal(call.headers['x-egw-event-id'], id);
  assert.ok(Number(call.headers['x-egw-delivery-attempt']) >= 3,
    `a retry reached the new URL (attempt ${call.headers['x-egw-delivery-attempt']})`);
  await waitFor(() => pendingRows('dFix') === 0, { what: 'the delivered row deleted' });
  const late = broken.calls.length;
  await sleep(300);
  assert.equal(broken.calls.length, late, 'the old URL gets nothing once the new one answered');
  assert.equal(fixed.calls.length, 1);
}));

test('a permanent 4xx goes to dead letters after one call; 404 and 429 are retried', g(async () => {
  const statusOf = new Map();
  const f = await fn((event) => {
    const plan = statusOf.get(event.eventID);
    if (plan && plan.length) return raw({ status: plan.shift(), body: `refused ${event.eventID}` });
    return raw({ status: 200, body: 'ok' });
  });
  await wire('dPerm', 'd.perm', f);
  const bad = crypto.randomUUID();
  const transient = crypto.randomUUID();
  statusOf.set(bad, [422, 422, 422]);
  statusOf.set(transient, [404, 429, 409, 408]);
  await emit('d.perm', bad);
  await emit('d.perm', transient);
  const dls = await waitFor(async () => {
    const l = await deadLetters('?functionId=dPerm');
    return l.length === 1 && l;
  }, { timeoutMs: 10000, what: 'one dead letter' });
  assert.equal(dls[0].eventId, bad);
  assert.equal(dls[0].attempts, 1);
  assert.equal(dls[0].lastStatus, 422);
  assert.match(dls[0].lastError, /422/);
  await waitFor(() => f.calls.filter((c) => c.event.eventID === transient).length === 5,
    { timeoutMs: 10000, what: '4 transient failures then success' });
  await sleep(300);
  assert.equal(f.calls.filter((c) => c.event.eventID === bad).length, 1, 'a 422 is never retried');
  // Readable with sqlite3, as the contract promises.
  const row = sqlite(ref.gw.dbPath,
    `select space, function_id, event_id, attempts, last_status from dead_letters where event_id = '${bad}'`);
  assert.equal(row.trim(), `default|dPerm|${bad}|1|422`);
  assert.equal(pendingRows('dPerm'), 0);
}));

test('dead letters API: list, get with the event, replay one and by function, purge, errors', g(async () => {
  let refuse = true;
  const f = await fn(() => (refuse ? raw({ status: 403, body: 'forbidden' }) : raw({ status: 200, body: 'ok' })));
  const sub = await wire('dDead', 'd.dead', f);
  const ids = [];
  for (let i = 0; i < 4; i++) ids.push(await emit('d.dead', `dead-${i}-${crypto.randomUUID()}`));
  const dls = await waitFor(async () => {
    const l = await deadLetters('?functionId=dDead');
    return l.length === 4 && l;
  }, { timeoutMs: 10000, what: '4 dead letters' });
  // Oldest dead letter first (two calls may fail in either order).
  assert.deepEqual(dls.map((d) => d.eventId).sort(), [...ids].sort());
  assert.deepEqual(dls.map((d) => Number(d.id)), dls.map((d) => Number(d.id)).sort((a, b) => a - b));
  for (const d of dls) {
    assert.equal(typeof d.id, 'string');
    assert.equal(d.space, 'default');
    assert.equal(d.subscriptionId, sub.subscriptionId);
    assert.equal(d.functionId, 'dDead');
    assert.equal(d.eventType, 'd.dead');
    assert.equal(d.lastStatus, 403);
    assert.ok(!Number.isNaN(Date.parse(d.acceptedAt)) && !Number.isNaN(Date.parse(d.failedAt)));
    assert.ok(Date.parse(d.failedAt) >= Date.parse(d.acceptedAt));
  }
  // The whole-space list includes them; another space has none.
  assert.ok((await deadLetters()).length >= 4);
  const other = await ref.gw.config('GET', '/v1/spaces/otherspace/deadletters');
  assert.equal(other.status, 200);
  assert.deepEqual(other.json, { deadLetters: [] });

  const one = await ref.gw.config('GET', `${S}/deadletters/${dls[0].id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.id, dls[0].id);
  assert.equal(one.json.event.eventID, dls[0].eventId, 'the event as the function received it');
  assert.deepEqual(one.json.event.data, { n: 1 });

  for (const [method, p, status] of [
    ['GET', '/999999999', 404], ['GET', '/not-a-number', 404], ['DELETE', '/999999999', 404],
    ['POST', '/999999999/replay', 404], ['PUT', `/${dls[0].id}`, 405], ['GET', `/${dls[0].id}/replay`, 405],
    ['GET', `/${dls[0].id}/other`, 404],
  ]) {
    const res = await ref.gw.config(method, `${S}/deadletters${p}`);
    assert.equal(res.status, status, `${method} deadletters${p}: ${res.status} ${res.text}`);
    assertErrorBody(res, `${method} deadletters${p}`);
  }
  // A dead letter of another space is not found through this one.
  const cross = await ref.gw.config('GET', `/v1/spaces/otherspace/deadletters/${dls[0].id}`);
  assert.equal(cross.status, 404);

  refuse = false;
  const r1 = await ref.gw.config('POST', `${S}/deadletters/${dls[0].id}/replay`);
  assert.equal(r1.status, 202, r1.text);
  assert.deepEqual(r1.json, { replayed: 1 });
  // A replay is a new delivery: attempt numbers start again at 1.
  const replayed = await waitFor(() => {
    const c = f.calls.filter((x) => x.event.eventID === dls[0].eventId);
    return c.length === 2 && c;
  }, { timeoutMs: 5000, what: 'replayed event delivered' });
  assert.equal(replayed[1].headers['x-egw-delivery-attempt'], '1');
  assert.equal((await deadLetters('?functionId=dDead')).length, 3);

  // Purge one, replay the rest by function.
  const del = await ref.gw.config('DELETE', `${S}/deadletters/${dls[1].id}`);
  assert.equal(del.status, 204, del.text);
  const r2 = await ref.gw.config('POST', `${S}/deadletters/replay?functionId=dDead`);
  assert.equal(r2.status, 202, r2.text);
  assert.deepEqual(r2.json, { replayed: 2 });
  await waitFor(() => [dls[2], dls[3]].every((d) => f.calls.filter((c) => c.event.eventID === d.eventId).length === 2),
    { timeoutMs: 5000, what: 'replayed events delivered' });
  await sleep(300);
  assert.equal(f.calls.filter((c) => c.event.eventID === dls[1].eventId).length, 1,
    'a purged dead letter is not delivered');
  assert.deepEqual(await deadLetters('?functionId=dDead'), []);

  // Purge by function reports the count.
  refuse = true;
  await emit('d.dead', crypto.randomUUID());
  await emit('d.dead', crypto.randomUUID());
  await waitFor(async () => (await deadLetters('?functionId=dDead')).length === 2, { timeoutMs: 10000, what: '2 more' });
  const purge = await ref.gw.config('DELETE', `${S}/deadletters?functionId=dDead`);
  assert.equal(purge.status, 200, purge.text);
  assert.deepEqual(purge.json, { purged: 2 });
  assert.equal(sqlite(ref.gw.dbPath, "select count(*) from dead_letters where function_id = 'dDead'").trim(), '0');
}));

test('per-subscription retry policy: maxAttempts override, echo, validation', g(async () => {
  const f = await fn(() => raw({ status: 500, body: 'always down' }));
  const sub = await wire('dPolicy', 'd.policy', f, { retry: { maxAttempts: 3 } });
  assert.deepEqual(sub.retry, { maxAttempts: 3 });
  const got = await ref.gw.config('GET', `${S}/subscriptions/${encodeURIComponent(sub.subscriptionId)}`);
  assert.deepEqual(got.json.retry, { maxAttempts: 3 });
  const list = await ref.gw.config('GET', `${S}/subscriptions`);
  assert.deepEqual(list.json.subscriptions.find((s) => s.subscriptionId === sub.subscriptionId).retry,
    { maxAttempts: 3 });
  // Subscriptions without it keep the old body: no "retry" key.
  const plain = list.json.subscriptions.find((s) => s.functionId === 'dRetry');
  assert.ok(plain && !('retry' in plain), JSON.stringify(plain));

  const id = await emit('d.policy', crypto.randomUUID());
  const dl = await waitFor(async () => {
    const l = await deadLetters('?functionId=dPolicy');
    return l.length === 1 && l[0];
  }, { timeoutMs: 10000, what: 'dead letter after 3 attempts' });
  assert.equal(dl.eventId, id);
  assert.equal(dl.attempts, 3);
  assert.equal(dl.lastStatus, 500);
  assert.deepEqual(f.calls.map((c) => c.headers['x-egw-delivery-attempt']), ['1', '2', '3']);

  // maxAgeSeconds alone; then an update back to the default drops "retry".
  const upd = await ref.gw.config('PUT', `${S}/subscriptions/${encodeURIComponent(sub.subscriptionId)}`,
    { type: 'async', eventType: 'd.policy', functionId: 'dPolicy', retry: { maxAgeSeconds: 30 } });
  assert.equal(upd.status, 200, upd.text);
  assert.deepEqual(upd.json.retry, { maxAgeSeconds: 30 });
  const cols = sqlite(ref.gw.dbPath,
    `select ifnull(retry_max_attempts, 'NULL'), retry_max_age_s from subscriptions where subscription_id = '${sub.subscriptionId}'`);
  assert.equal(cols.trim(), 'NULL|30');
  const back = await ref.gw.config('PUT', `${S}/subscriptions/${encodeURIComponent(sub.subscriptionId)}`,
    { type: 'async', eventType: 'd.policy', functionId: 'dPolicy' });
  assert.equal(back.status, 200, back.text);
  assert.ok(!('retry' in back.json), back.text);

  await ref.gw.createEventType('d.policy.bad');
  for (const [retry, type, why] of [
    [{ maxAttempts: 0 }, 'async', 'zero'], [{ maxAttempts: -1 }, 'async', 'negative'],
    [{ maxAttempts: 1.5 }, 'async', 'fraction'], [{ maxAttempts: '3' }, 'async', 'string'],
    [{ maxAgeSeconds: 0 }, 'async', 'zero age'], [[3], 'async', 'array'], [5, 'async', 'number'],
    [{ maxAttempts: 3 }, 'sync', 'sync subscription'],
  ]) {
    const res = await ref.gw.config('POST', `${S}/subscriptions`,
      { type, eventType: 'd.policy.bad', functionId: 'dPolicy', path: '/policy-bad', method: 'POST', retry });
    assert.equal(res.status, 400, `retry ${JSON.stringify(retry)} (${why}): ${res.status} ${res.text}`);
    assertErrorBody(res, why);
    assert.match(res.json.errors[0].message, /retry/);
  }
}));

test('past the backlog bound async events get 503 with Retry-After, none dropped; all 202s delivered', g(async () => {
  let stalled = true;
  const waiting = [];
  const f = await fn(() => {
    if (!stalled) return raw({ status: 200, body: 'ok' });
    return new Promise((resolve) => waiting.push(resolve)).then(() => raw({ status: 503, body: 'stalled' }));
  });
  await wire('dFull', 'd.full', f);
  const accepted = [];
  let refusal = null;
  for (let i = 0; i < BACKLOG * 3 && !refusal; i++) {
    const id = `full-${i}-${crypto.randomUUID()}`;
    const res = await ref.gw.events('POST', '/', { body: ce('d.full', id) });
    if (res.status === 202) accepted.push(id);
    else if (res.status === 503) refusal = res;
    else assert.fail(`unexpected ${res.status} ${res.text}`);
  }
  assert.ok(refusal, `no 503 after ${accepted.length} events`);
  assert.equal(refusal.headers.get('retry-after'), '1');
  assert.deepEqual(refusal.json, { errors: [{ message: 'event backlog is full, retry later' }] });
  // Every 202 is a stored row: exactly the bound (one less if a call ended meanwhile).
  assert.ok(accepted.length >= BACKLOG - 1 && accepted.length <= BACKLOG,
    `${accepted.length} accepted with a bound of ${BACKLOG}`);
  assert.equal(pendingRows('dFull'), accepted.length, 'one stored row per 202');
  const m = await metrics();
  assert.ok(m.eventgateway_events_rejected_total >= 1);
  assert.equal(m.eventgateway_events_dropped_total || 0, 0);
  assert.ok(m.eventgateway_deliveries_pending >= accepted.length - 1, `pending ${m.eventgateway_deliveries_pending}`);

  // Calls from here on succeed (a stalled call answers 503 when released).
  stalled = false;
  const from = f.calls.length;
  for (const w of waiting.splice(0)) w();
  await waitFor(() => {
    const seen = new Set(f.calls.slice(from).map((c) => c.event.eventID));
    return accepted.every((id) => seen.has(id));
  }, { timeoutMs: 30000, intervalMs: 100, what: 'every accepted event delivered' });
  await waitFor(() => pendingRows('dFull') === 0, { timeoutMs: 10000, what: 'no row left' });
  const after2 = await ref.gw.events('POST', '/', { body: ce('d.full') });
  assert.equal(after2.status, 202, 'accepting again once the backlog drained');
  assert.equal((await metrics()).eventgateway_events_dropped_total || 0, 0);
}));

test('a SIGKILLed router resumes the deliveries it had stored', g(async () => {
  let down = true;
  const f = await fn(() => (down ? raw({ status: 502, body: 'down' }) : raw({ status: 200, body: 'ok' })));
  await wire('dCrash', 'd.crash', f);
  const ids = [];
  for (let i = 0; i < 10; i++) ids.push(await emit('d.crash', `crash-${i}-${crypto.randomUUID()}`));
  // 202 means the rows are on disk already.
  assert.equal(pendingRows('dCrash'), 10);
  await f.waitForCalls(10, 10000);
  const { before, after: pid } = await ref.gw.kill('egw-router');
  assert.notEqual(before, pid);
  down = false;
  await waitFor(() => {
    const ok = new Set(f.calls.map((c) => c.event.eventID));
    return ids.every((id) => ok.has(id)) && pendingRows('dCrash') === 0;
  }, { timeoutMs: 30000, intervalMs: 100, what: 'every stored delivery resumed after the restart' });
  // The restarted router counts attempts on from the stored value.
  const last = f.calls.filter((c) => c.event.eventID === ids[0]).pop();
  assert.ok(Number(last.headers['x-egw-delivery-attempt']) >= 2);
}));

test('sync calls carry X-Egw-Event-Id and X-Egw-Delivery-Attempt: 1', g(async () => {
  const f = await fn((event, call) => ({
    statusCode: 200,
    body: JSON.stringify([call.headers['x-egw-event-id'], call.headers['x-egw-delivery-attempt'], event.eventID]),
  }));
  await ref.gw.createEventType('http.request').catch(() => {});
  await ref.gw.createFunction('dSync', f.url);
  await ref.gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'dSync', method: 'GET', path: '/d-sync' });
  const res = await ref.gw.events('GET', '/d-sync');
  assert.equal(res.status, 200, res.text);
  const [id, attempt, eventID] = JSON.parse(res.text);
  assert.equal(attempt, '1');
  assert.equal(id, eventID);
  assert.ok(id.length > 0);
}));

logsCleanTest(ref);
