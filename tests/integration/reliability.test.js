// Durable async delivery (issue 3, docs/reliability.md): the subscription
// retry policy; permanent failures (400, 3xx) go straight to dead letters
// after one call; Retry-After (seconds and HTTP-date) is honoured; a function
// that fails half its calls still gets every event; a function that is down
// longer than its policy gets dead letters, which replay delivers; the dead
// letters API; overload answers 503 with Retry-After and a hung function
// cannot take more than its concurrency limit; a SIGTERM restart of every
// process loses nothing answered 202.
//
// One gateway: small retry delays, a backlog bound of 300 pending deliveries,
// 16 calls in flight per function, 16 per worker (2 workers), 2 s function
// timeout. The tests run in order and each uses its own event type and
// functions.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const { after, test } = require('node:test');
const {
  HANG, ROOT, assertErrorBody, logsCleanTest, raw, run, sleep, sqlite, startFunction, useGateway,
  waitFor, withLogs,
} = require('./harness.js');
const { metrics, produce } = require('./producer.js');

const BACKLOG = 300;
const BACKLOG_BYTES = 1 << 20; // far above the other tests' small events
const FUNCTION_CONCURRENCY = 16;
const FUNCTION_TIMEOUT_MS = 2000;
const S = '/v1/spaces/default';
const fns = {};
const subIds = {};

const ref = useGateway({
  functionTimeoutMs: FUNCTION_TIMEOUT_MS,
  env: {
    EGW_RETRY_BASE_MS: '100',
    EGW_RETRY_CAP_MS: '1000',
    EGW_BACKLOG_EVENTS: String(BACKLOG),
    EGW_BACKLOG_BYTES: String(BACKLOG_BYTES),
    EGW_FUNCTION_CONCURRENCY: String(FUNCTION_CONCURRENCY),
    EGW_WORKER_CONCURRENCY: '16',
  },
});
after(async () => {
  for (const f of Object.values(fns)) await f.close();
});

const g = (f) => withLogs(() => ref.gw, f);
// supervisorctl through deploy/egw, without blocking this process's servers.
const ctl = (...args) => run(path.join(ROOT, 'deploy', 'egw'), ['ctl', ...args], { env: ref.gw.env, timeoutMs: 60000 });

const newIds = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${i}-${crypto.randomUUID()}`);
const eventIdOf = (call) => call.headers['x-egw-event-id'];
const attemptOf = (call) => Number(call.headers['x-egw-delivery-attempt']);
const callsOf = (fn, id) => fn.calls.filter((c) => eventIdOf(c) === id);

// Registers event type `type`, function `name` at fn.url and an async
// subscription (with extra fields); remembers the subscription ID.
async function wire(name, type, fn, extra = {}) {
  const gw = ref.gw;
  fns[name] = fn;
  await gw.createEventType(type);
  await gw.createFunction(name, fn.url);
  const sub = await gw.subscribe({ type: 'async', eventType: type, functionId: name, ...extra });
  subIds[name] = sub.subscriptionId;
  return sub;
}

// Sends the events (retrying until 202, as a producer does); all must be accepted.
async function emit(type, ids, opts = {}) {
  const out = await produce({ eventsUrl: ref.gw.eventsUrl, ids, eventType: type, concurrency: 8, deadlineMs: 60000, ...opts });
  assert.deepEqual(out.unaccepted, [], `events not accepted: ${JSON.stringify(out.refusals.slice(0, 3))}`);
  return out;
}

async function deadLetters(functionId) {
  const q = functionId ? `?functionId=${encodeURIComponent(functionId)}` : '';
  const res = await ref.gw.config('GET', `${S}/deadletters${q}`);
  assert.equal(res.status, 200, `GET deadletters${q}: ${res.status} ${res.text}`);
  assert.ok(Array.isArray(res.json && res.json.deadLetters), `{"deadLetters":[...]}: ${res.text}`);
  return res.json.deadLetters;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
function assertDeadLetter(dl, want) {
  const what = `dead letter ${JSON.stringify(dl)}`;
  assert.equal(typeof dl.id, 'string', what);
  assert.ok(dl.id.length > 0, what);
  assert.equal(dl.space, 'default', what);
  assert.equal(dl.functionId, want.functionId, what);
  assert.equal(dl.subscriptionId, subIds[want.functionId], what);
  assert.equal(dl.eventType, want.eventType, what);
  assert.ok(Number.isInteger(dl.attempts) && dl.attempts >= 1, what);
  assert.equal(typeof dl.lastStatus, 'number', what);
  assert.equal(typeof dl.lastError, 'string', what);
  assert.match(dl.acceptedAt, RFC3339, what);
  assert.match(dl.failedAt, RFC3339, what);
  assert.ok(Date.parse(dl.failedAt) >= Date.parse(dl.acceptedAt), `failedAt before acceptedAt: ${what}`);
  if (want.lastStatus !== undefined) assert.equal(dl.lastStatus, want.lastStatus, what);
  if (want.attempts !== undefined) assert.equal(dl.attempts, want.attempts, what);
}

function sqliteRows(sql) {
  return sqlite(ref.gw.dbPath, sql).split('\n').filter(Boolean);
}

test('subscription retry policy: validated, stored in its columns, echoed only when set', g(async () => {
  const gw = ref.gw;
  fns.policy = await startFunction();
  await gw.createEventType('rel.policy');
  await gw.createFunction('policy', fns.policy.url);

  const plain = await gw.subscribe({ type: 'async', eventType: 'rel.policy', functionId: 'policy' });
  assert.ok(!('retry' in plain), `no retry field unless set: ${JSON.stringify(plain)}`);

  const set = await gw.subscribe({
    type: 'async', eventType: 'rel.policy', functionId: 'policy', path: '/with-policy',
    retry: { maxAttempts: 7, maxAgeSeconds: 60 },
  });
  assert.deepEqual(set.retry, { maxAttempts: 7, maxAgeSeconds: 60 });
  const got = await gw.config('GET', `${S}/subscriptions/${encodeURIComponent(set.subscriptionId)}`);
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.json.retry, { maxAttempts: 7, maxAgeSeconds: 60 });
  const list = await gw.config('GET', `${S}/subscriptions`);
  const listed = list.json.subscriptions.filter((s) => s.functionId === 'policy');
  assert.equal(listed.length, 2);
  assert.deepEqual(listed.find((s) => s.subscriptionId === set.subscriptionId).retry, { maxAttempts: 7, maxAgeSeconds: 60 });
  assert.ok(!('retry' in listed.find((s) => s.subscriptionId === plain.subscriptionId)), 'listed without retry');
  assert.deepEqual(sqliteRows("select retry_max_attempts, retry_max_age_s, path from subscriptions " +
    "where function_id = 'policy' order by path").sort(), ['7|60|/with-policy', '||/'].sort());

  const only = await gw.subscribe({
    type: 'async', eventType: 'rel.policy', functionId: 'policy', path: '/attempts-only', retry: { maxAttempts: 2 },
  });
  assert.deepEqual(only.retry, { maxAttempts: 2 });

  for (const retry of [{ maxAttempts: 0 }, { maxAttempts: -1 }, { maxAttempts: '3' }, { maxAttempts: 1.5 },
    { maxAgeSeconds: 0 }, { maxAgeSeconds: 'a day' }, 'often', [3, 60]]) {
    const res = await gw.config('POST', `${S}/subscriptions`,
      { type: 'async', eventType: 'rel.policy', functionId: 'policy', path: '/bad', retry });
    assert.equal(res.status, 400, `retry ${JSON.stringify(retry)}: ${res.status} ${res.text}`);
    assertErrorBody(res, `retry ${JSON.stringify(retry)}`);
  }
  assert.deepEqual(sqliteRows("select count(*) from subscriptions where path = '/bad'"), ['0']);
}));

test('a permanent failure (400, 302) is called once and goes straight to dead letters', g(async () => {
  let reject = true;
  await wire('reject', 'rel.reject', await startFunction(
    () => (reject ? raw({ status: 400, body: 'bad event' }) : { statusCode: 200 })));
  const target = await startFunction();
  fns.redirectTarget = target;
  await wire('redirect', 'rel.redirect', await startFunction(
    () => raw({ status: 302, body: '', headers: { Location: target.url } })));

  const [rejectId] = newIds('reject', 1);
  const [redirectId] = newIds('redirect', 1);
  await emit('rel.reject', [rejectId]);
  await emit('rel.redirect', [redirectId]);

  const dls = await waitFor(async () => {
    const all = [...await deadLetters('reject'), ...await deadLetters('redirect')];
    return all.length >= 2 && all;
  }, { timeoutMs: 10000, intervalMs: 100, what: 'dead letters for reject and redirect' });
  // Long enough for several retries at these settings (100 ms base): none may come.
  await sleep(1500);
  assert.equal(fns.reject.calls.length, 1, 'a 400 is not retried');
  assert.equal(fns.redirect.calls.length, 1, 'a 302 is not retried');
  assert.equal(target.calls.length, 0, 'redirects are not followed');
  assert.equal(eventIdOf(fns.reject.calls[0]), rejectId);
  assert.equal(attemptOf(fns.reject.calls[0]), 1);

  assert.equal(dls.length, 2, JSON.stringify(dls));
  const byFn = Object.fromEntries(dls.map((d) => [d.functionId, d]));
  assertDeadLetter(byFn.reject, { functionId: 'reject', eventType: 'rel.reject', lastStatus: 400, attempts: 1 });
  assert.equal(byFn.reject.eventId, rejectId);
  assertDeadLetter(byFn.redirect, { functionId: 'redirect', eventType: 'rel.redirect', lastStatus: 302, attempts: 1 });
  assert.equal(byFn.redirect.eventId, redirectId);
  assert.deepEqual(sqliteRows("select space, function_id, event_id, attempts, last_status from dead_letters " +
    "where function_id in ('reject', 'redirect') order by function_id"),
  [`default|redirect|${redirectId}|1|302`, `default|reject|${rejectId}|1|400`]);
  assert.deepEqual(sqliteRows("select count(*) from deliveries where function_id in ('reject', 'redirect')"), ['0']);
  reject = false; // the dead letters API test replays it
}));

test('Retry-After from the function is honoured (delta-seconds on a 429, HTTP-date on a 503)', g(async () => {
  // A call's time is taken before its answer is written, so the gap to the
  // next call is a lower bound of what the router waited after the answer.
  const firstAnswerAt = {};
  const answer = (name, status, retryAfter) => (event, call) => {
    const id = eventIdOf(call);
    call.at = Date.now();
    if (callsOf(fns[name], id).length > 1) return { statusCode: 200 };
    firstAnswerAt[id] = call.at;
    return raw({ status, body: 'later', headers: { 'Retry-After': retryAfter(call.at) } });
  };
  let retryDate;
  await wire('throttled', 'rel.throttled', await startFunction(answer('throttled', 429, () => '2')));
  await wire('unavailable', 'rel.unavailable', await startFunction(answer('unavailable', 503, (now) => {
    retryDate = (Math.floor(now / 1000) + 3) * 1000; // an HTTP-date has whole seconds
    return new Date(retryDate).toUTCString();
  })));

  const [a] = newIds('throttled', 1);
  const [b] = newIds('unavailable', 1);
  await emit('rel.throttled', [a]);
  await emit('rel.unavailable', [b]);
  await fns.throttled.waitForCalls(2, 20000);
  await fns.unavailable.waitForCalls(2, 20000);

  const [t1, t2] = callsOf(fns.throttled, a);
  assert.equal(attemptOf(t1), 1);
  assert.equal(attemptOf(t2), 2);
  assert.ok(t2.at - firstAnswerAt[a] >= 2000,
    `429 with Retry-After: 2 retried after ${t2.at - firstAnswerAt[a]} ms`);
  const [u1, u2] = callsOf(fns.unavailable, b);
  assert.equal(attemptOf(u1), 1);
  assert.equal(attemptOf(u2), 2);
  assert.ok(u2.at >= retryDate,
    `503 with Retry-After: ${new Date(retryDate).toUTCString()} retried ${retryDate - u2.at} ms before that date`);
  await sleep(500);
  assert.equal(fns.throttled.calls.length, 2, 'no call after the success');
  assert.equal(fns.unavailable.calls.length, 2, 'no call after the success');
}));

test('a function that fails half of its calls (500) gets every event in the end', g(async () => {
  let n = 0;
  await wire('flaky', 'rel.flaky', await startFunction((event, call) => {
    call.ok = n++ % 2 === 1;
    return call.ok ? { statusCode: 200 } : raw({ status: 500, body: 'flaky says no' });
  }));
  const ids = newIds('flaky', 200);
  await emit('rel.flaky', ids);

  const okFor = (id) => fns.flaky.calls.some((c) => c.ok && eventIdOf(c) === id);
  await waitFor(() => ids.every(okFor), { timeoutMs: 60000, intervalMs: 200, what: 'every flaky event answered 200' });
  await sleep(1000); // room for a wrong extra call to show up
  const failed = fns.flaky.calls.filter((c) => !c.ok).length;
  for (const id of ids) {
    const calls = callsOf(fns.flaky, id);
    // Attempt numbers only grow (1, 2, 3... unless an attempt failed before
    // reaching the function, e.g. on a connection error: the function never
    // sees that one).
    const attempts = calls.map(attemptOf);
    assert.ok(attempts[0] >= 1 && attempts.every((a, i) => i === 0 || a > attempts[i - 1]),
      `attempt numbers of ${id}: ${attempts}`);
    assert.equal(calls.filter((c) => c.ok).length, 1, `${id}: no call after its success`);
    assert.ok(calls[calls.length - 1].ok, `${id}: the last call succeeded`);
  }
  assert.ok(failed > 0, 'some calls failed');
  assert.deepEqual(await deadLetters('flaky'), []);
  await waitFor(() => sqliteRows("select count(*) from deliveries where function_id = 'flaky'")[0] === '0',
    { timeoutMs: 5000, what: 'no pending flaky deliveries left' });
  const m = await metrics(ref.gw);
  assert.ok(m.eventgateway_deliveries_retried_total >= failed,
    `eventgateway_deliveries_retried_total ${m.eventgateway_deliveries_retried_total} < ${failed} failed calls`);
}));

test('a function down longer than its policy: dead letters, then replay delivers them all', g(async () => {
  const gw = ref.gw;
  // A port that refuses connections until the function comes back on it.
  const probe = await startFunction();
  const port = Number(new URL(probe.url).port);
  await probe.close();
  fns.down = { url: `http://127.0.0.1:${port}/`, close: async () => {} };
  await wire('down', 'rel.down', fns.down, { retry: { maxAttempts: 3, maxAgeSeconds: 2 } });

  const ids = newIds('down', 20);
  await emit('rel.down', ids);
  const dls = await waitFor(async () => {
    const l = await deadLetters('down');
    return l.length >= ids.length && l;
  }, { timeoutMs: 20000, intervalMs: 200, what: '20 dead letters for the function that is down' });
  assert.equal(dls.length, ids.length);
  assert.deepEqual(dls.map((d) => d.eventId).sort(), [...ids].sort());
  for (const dl of dls) {
    assertDeadLetter(dl, { functionId: 'down', eventType: 'rel.down', lastStatus: 0 });
    assert.ok(dl.attempts <= 3, `at most maxAttempts (3) attempts: ${JSON.stringify(dl)}`);
    assert.ok(dl.lastError.length > 0, `a connection error is described: ${JSON.stringify(dl)}`);
  }
  for (let i = 1; i < dls.length; i++) {
    assert.ok(Date.parse(dls[i - 1].failedAt) <= Date.parse(dls[i].failedAt), 'oldest first');
  }
  const one = await gw.config('GET', `${S}/deadletters/${encodeURIComponent(dls[0].id)}`);
  assert.equal(one.status, 200, one.text);
  assertDeadLetter(one.json, { functionId: 'down', eventType: 'rel.down' });
  assert.equal(one.json.event && one.json.event.eventID, dls[0].eventId, `the event itself: ${one.text}`);
  assert.equal(one.json.event.eventType, 'rel.down');
  const rows = sqliteRows("select space, function_id, event_id, attempts, last_error from dead_letters where function_id = 'down'");
  assert.equal(rows.length, ids.length);
  assert.deepEqual(rows.map((r) => r.split('|')[2]).sort(), [...ids].sort());
  assert.deepEqual(sqliteRows("select count(*) from deliveries where function_id = 'down'"), ['0']);

  // It comes back; replaying everything for the function delivers it all.
  fns.down = await startFunction(undefined, { port });
  const replay = await gw.config('POST', `${S}/deadletters/replay?functionId=down`);
  assert.equal(replay.status, 202, replay.text);
  assert.deepEqual(replay.json, { replayed: ids.length });
  await waitFor(() => ids.every((id) => callsOf(fns.down, id).length > 0),
    { timeoutMs: 15000, intervalMs: 100, what: 'every replayed event delivered' });
  for (const id of ids) assert.equal(attemptOf(callsOf(fns.down, id)[0]), 1, `replay restarts attempts: ${id}`);
  assert.deepEqual(await deadLetters('down'), []);
  await waitFor(() => sqliteRows("select count(*) from dead_letters where function_id = 'down'")[0] === '0' &&
    sqliteRows("select count(*) from deliveries where function_id = 'down'")[0] === '0',
  { timeoutMs: 5000, what: 'no dead letter nor pending delivery left for down' });
}));

test('dead letters API: inspect, replay one, delete one, purge a function; unknown ids are 404', g(async () => {
  const gw = ref.gw;
  const all = await deadLetters();
  const rejectDl = all.find((d) => d.functionId === 'reject');
  const redirectDl = all.find((d) => d.functionId === 'redirect');
  assert.ok(rejectDl && redirectDl, `dead letters of the permanent failure test: ${JSON.stringify(all)}`);

  // Dead letters belong to their space: another space neither lists nor
  // knows them.
  const elsewhere = await gw.config('GET', '/v1/spaces/elsewhere/deadletters');
  assert.equal(elsewhere.status, 200, elsewhere.text);
  assert.deepEqual(elsewhere.json, { deadLetters: [] });
  for (const [method, p] of [['GET', ''], ['POST', '/replay'], ['DELETE', '']]) {
    const res = await gw.config(method, `/v1/spaces/elsewhere/deadletters/${encodeURIComponent(rejectDl.id)}${p}`);
    assert.equal(res.status, 404, `${method} another space's dead letter${p}: ${res.status} ${res.text}`);
  }
  assert.ok((await deadLetters('reject')).some((d) => d.id === rejectDl.id), 'still there');

  // reject now answers 200: replaying its dead letter delivers it, once.
  const before = fns.reject.calls.length;
  const r1 = await gw.config('POST', `${S}/deadletters/${encodeURIComponent(rejectDl.id)}/replay`);
  assert.equal(r1.status, 202, r1.text);
  assert.deepEqual(r1.json, { replayed: 1 });
  await fns.reject.waitForCalls(before + 1, 10000);
  const replayed = fns.reject.calls[before];
  assert.equal(eventIdOf(replayed), rejectDl.eventId);
  assert.equal(attemptOf(replayed), 1);
  assert.deepEqual(await deadLetters('reject'), []);
  const gone = await gw.config('GET', `${S}/deadletters/${encodeURIComponent(rejectDl.id)}`);
  assert.equal(gone.status, 404, gone.text);
  assertErrorBody(gone, 'GET a replayed dead letter');

  // Delete one: 204, then it is unknown.
  await emit('rel.redirect', newIds('redirect2', 2));
  const three = await waitFor(async () => {
    const l = await deadLetters('redirect');
    return l.length >= 3 && l;
  }, { timeoutMs: 10000, intervalMs: 100, what: '3 redirect dead letters' });
  assert.equal(three.length, 3, JSON.stringify(three));
  const del = await gw.config('DELETE', `${S}/deadletters/${encodeURIComponent(redirectDl.id)}`);
  assert.equal(del.status, 204, del.text);
  for (const [method, p] of [['GET', ''], ['DELETE', ''], ['POST', '/replay']]) {
    const res = await gw.config(method, `${S}/deadletters/${encodeURIComponent(redirectDl.id)}${p}`);
    assert.equal(res.status, 404, `${method} a deleted dead letter${p}: ${res.status} ${res.text}`);
    assertErrorBody(res, `${method} a deleted dead letter${p}`);
  }
  // Purge the function's others.
  const purge = await gw.config('DELETE', `${S}/deadletters?functionId=redirect`);
  assert.equal(purge.status, 200, purge.text);
  assert.deepEqual(purge.json, { purged: three.length - 1 });
  assert.deepEqual(await deadLetters('redirect'), []);
  assert.deepEqual(sqliteRows("select count(*) from dead_letters where function_id = 'redirect'"), ['0']);
  const none = await gw.config('POST', `${S}/deadletters/replay?functionId=redirect`);
  assert.equal(none.status, 202, none.text);
  assert.deepEqual(none.json, { replayed: 0 });
  await sleep(300);
  assert.equal(fns.redirect.calls.length, 3, 'purged dead letters are not delivered');
}));

// A function that can stall: while stalled it accepts calls and never
// answers (the worker times them out). Counts calls open at once, and the
// event IDs it answered 200 and the highest attempt number among those.
async function startStallable() {
  const f = { stalled: true, open: 0, maxOpen: 0, calls: 0, delivered: new Set(), maxAttemptDelivered: 0 };
  const server = http.createServer((req, res) => {
    f.open++;
    f.maxOpen = Math.max(f.maxOpen, f.open);
    res.on('close', () => f.open--);
    req.resume();
    req.on('end', () => {
      f.calls++;
      if (f.stalled) return;
      f.delivered.add(req.headers['x-egw-event-id']);
      f.maxAttemptDelivered = Math.max(f.maxAttemptDelivered, Number(req.headers['x-egw-delivery-attempt']));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  f.url = `http://127.0.0.1:${server.address().port}/`;
  f.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return f;
}

test('overload: a hung function stays within its concurrency limit, the backlog bound answers 503 ' +
  'with Retry-After, and every event answered 202 is delivered after recovery', g(async () => {
  const gw = ref.gw;
  const stalled = await startStallable();
  await wire('stalled', 'overload.stalled', stalled);
  await wire('bystander', 'overload.other', await startFunction());

  // A hung function holds at most FUNCTION_CONCURRENCY calls; another
  // function is still served meanwhile.
  const first = await produce({ eventsUrl: gw.eventsUrl, ids: newIds('stall', 40), eventType: 'overload.stalled', concurrency: 8, retry: false });
  assert.equal(first.accepted.size, 40, `below the bound every event is accepted: ${JSON.stringify(first.statuses)}`);
  await waitFor(() => stalled.open >= FUNCTION_CONCURRENCY, { timeoutMs: 10000, what: `${FUNCTION_CONCURRENCY} hung calls` });
  const [other] = newIds('other', 1);
  await emit('overload.other', [other]);
  await waitFor(() => callsOf(fns.bystander, other).length > 0, { timeoutMs: 10000, what: 'the other function served' });
  assert.ok(stalled.stalled, 'served while the hung function was still hung');

  // Fill the backlog: the Events API starts answering 503 with Retry-After.
  const fill = await produce({ eventsUrl: gw.eventsUrl, ids: newIds('fill', 2 * BACKLOG), eventType: 'overload.stalled', concurrency: 16, retry: false });
  const refused = fill.refusals;
  assert.ok(refused.length > 0, `a backlog of ${BACKLOG} pending deliveries refuses events: ${JSON.stringify(fill.statuses)}`);
  for (const r of refused) {
    assert.equal(r.status, 503, `refused with 503: ${JSON.stringify(r)}`);
    assert.equal(r.retryAfter, '1', `Retry-After: 1 on a refusal: ${JSON.stringify(r)}`);
    assert.deepEqual(JSON.parse(r.text), { errors: [{ message: 'event backlog is full, retry later' }] });
  }
  const m = await metrics(gw);
  assert.equal(m.eventgateway_events_dropped_total, 0, 'eventgateway_events_dropped_total');
  assert.ok(m.eventgateway_events_rejected_total >= refused.length,
    `eventgateway_events_rejected_total ${m.eventgateway_events_rejected_total} < ${refused.length} refusals`);
  assert.ok(stalled.maxOpen <= FUNCTION_CONCURRENCY,
    `the hung function had ${stalled.maxOpen} calls open at once (limit ${FUNCTION_CONCURRENCY})`);

  // Recovery: every event answered 202 arrives; the refused ones, sent
  // again as a producer does, are accepted and arrive too.
  stalled.stalled = false;
  const accepted = [...first.accepted, ...fill.accepted];
  await waitFor(() => accepted.every((id) => stalled.delivered.has(id)),
    { timeoutMs: 60000, intervalMs: 200, what: `all ${accepted.length} accepted events delivered after recovery` });
  const again = await emit('overload.stalled', refused.map((r) => r.id), { concurrency: 16 });
  await waitFor(() => [...again.accepted].every((id) => stalled.delivered.has(id)),
    { timeoutMs: 60000, intervalMs: 200, what: 'the refused events, sent again, delivered' });
  assert.ok(stalled.maxAttemptDelivered >= 2, 'calls that hung until the timeout counted as attempts');
  assert.deepEqual(await deadLetters('stalled'), []);
  const m2 = await metrics(gw);
  assert.equal(m2.eventgateway_events_dropped_total, 0, 'eventgateway_events_dropped_total');
}));

test('the backlog bound on payload bytes answers 503 too; every event answered 202 is delivered', g(async () => {
  const gw = ref.gw;
  const bulky = await startStallable();
  await wire('bulky', 'overload.bulky', bulky);
  const pad = 'x'.repeat(100 * 1024); // 30 events of 100 KiB: 3 MiB against a 1 MiB bound
  const sent = await produce({
    eventsUrl: gw.eventsUrl, ids: newIds('bulky', 30), eventType: 'overload.bulky', concurrency: 4, retry: false,
    data: { pad },
  });
  assert.ok(sent.accepted.size >= 1, `an empty backlog accepts an event: ${JSON.stringify(sent.statuses)}`);
  assert.ok(sent.refusals.length > 0, `a ${BACKLOG_BYTES}-byte bound refuses 3 MiB of events: ${JSON.stringify(sent.statuses)}`);
  for (const r of sent.refusals) {
    assert.equal(r.status, 503, `refused with 503: ${JSON.stringify(r)}`);
    assert.equal(r.retryAfter, '1', `Retry-After: 1 on a refusal: ${JSON.stringify(r)}`);
  }
  bulky.stalled = false;
  await waitFor(() => [...sent.accepted].every((id) => bulky.delivered.has(id)),
    { timeoutMs: 30000, intervalMs: 200, what: 'every accepted bulky event delivered' });
  const m = await metrics(gw);
  assert.equal(m.eventgateway_events_dropped_total, 0, 'eventgateway_events_dropped_total');
}));

test('an async event nobody subscribed to is answered 202 and nothing is stored', g(async () => {
  await ref.gw.createEventType('rel.nobody');
  const ids = newIds('nobody', 5);
  await emit('rel.nobody', ids);
  assert.deepEqual(sqliteRows("select count(*) from deliveries where event_type = 'rel.nobody'"), ['0']);
  assert.deepEqual(sqliteRows("select count(*) from dead_letters where event_type = 'rel.nobody'"), ['0']);
}));

test('a frozen worker (SIGSTOP): its calls are made again; its late results after SIGCONT break nothing', g(async () => {
  await wire('slow', 'rel.slow', await startFunction(async () => {
    await sleep(300);
    return { statusCode: 200 };
  }));
  const name = 'egw-worker:egw-worker-0';
  const pid = Number((await ctl('pid', name)).stdout.trim());
  assert.ok(pid > 0, `pid of ${name}`);
  const ids = newIds('slow', 200);
  const production = emit('rel.slow', ids);
  await waitFor(() => fns.slow.calls.length >= 30, { timeoutMs: 30000, what: '30 calls to slow' });
  process.kill(pid, 'SIGSTOP');
  try {
    await sleep(5000); // past the heartbeat deadline (3 s) and the lease (2 s + grace)
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await production;
  const delivered = (list) => list.every((id) => callsOf(fns.slow, id).length > 0);
  await waitFor(() => delivered(ids), { timeoutMs: 60000, intervalMs: 200, what: 'every slow event delivered' });
  // Late RESULTs must not have broken the per-function accounting: more
  // events than the function's concurrency limit still go through.
  const more = newIds('slow-after', 3 * FUNCTION_CONCURRENCY);
  await emit('rel.slow', more);
  await waitFor(() => delivered(more), { timeoutMs: 60000, intervalMs: 200, what: 'events after SIGCONT delivered' });
  await waitFor(() => sqliteRows("select count(*) from deliveries where function_id = 'slow'")[0] === '0',
    { timeoutMs: 10000, what: 'no pending slow deliveries left' });
  assert.deepEqual(await deadLetters('slow'), []);
}));

test('SIGTERM restarts of the router, the workers and the ingress lose nothing answered 202', g(async (t) => {
  const gw = ref.gw;
  await wire('steady', 'rel.steady', await startFunction());
  const ids = newIds('steady', 1500);
  let acceptedSoFar = 0;
  const production = produce({
    eventsUrl: gw.eventsUrl, ids, eventType: 'rel.steady', concurrency: 8, deadlineMs: 120000,
    onAccepted: () => acceptedSoFar++,
  });
  const restarts = [];
  for (const [at, program] of [[100, 'egw-router'], [500, 'egw-worker:*'], [900, 'egw-ingress:*']]) {
    await waitFor(() => acceptedSoFar >= at, { timeoutMs: 60000, what: `${at} events accepted` });
    const r = await ctl('restart', program);
    restarts.push(`${program}: ${r.code} ${r.stdout.trim().replace(/\n/g, '; ')}`);
    assert.equal(r.code, 0, `supervisorctl restart ${program}: ${r.stdout} ${r.stderr}`);
  }
  const sent = await production;
  t.diagnostic(`restarts: ${restarts.join(' | ')}; answers: ${JSON.stringify(sent.statuses)}`);
  assert.deepEqual(sent.unaccepted, []);
  const steady = fns.steady;
  const seen = () => new Set(steady.calls.map(eventIdOf));
  let missing = [];
  try {
    await waitFor(() => {
      const s = seen();
      missing = ids.filter((id) => !s.has(id));
      return missing.length === 0;
    }, { timeoutMs: 60000, intervalMs: 200, what: 'every accepted event delivered' });
  } catch (err) {
    throw new Error(`${missing.length} of ${ids.length} accepted events lost (first: ${missing.slice(0, 5).join(', ')}): ${err.message}`);
  }
  // Each process stopped on its SIGTERM within supervisord's stopwaitsecs:
  // none had to be SIGKILLed.
  const supervisorLog = require('node:fs').readFileSync(path.join(gw.logDir, 'supervisord.log'), 'utf8');
  assert.doesNotMatch(supervisorLog, /with SIGKILL/, 'a process ignored SIGTERM and was killed');
  for (const name of ['egw-router', 'egw-worker-0', 'egw-worker-1', 'egw-ingress-0', 'egw-ingress-1']) {
    assert.match(supervisorLog, new RegExp(`stopped: ${name} \\(exit status 0\\)`), `${name} exited 0 on SIGTERM`);
  }
}));

logsCleanTest(ref);
