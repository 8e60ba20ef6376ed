// System events (issue 5): eventgateway.event.received,
// eventgateway.function.invoking, eventgateway.function.invoked and
// eventgateway.function.invocationFailed, CloudEvents 0.1 with the data fields
// of the reference docs/system-events-and-plugin-system.md, delivered to
// async subscriptions like any event (exact types and the "eventgateway.*"
// pattern); deliveries of system events cause no further system events, and
// nobody outside can emit one.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, test } = require('node:test');
const {
  HANG, assertErrorBody, logsCleanTest, raw, sleep, startFunction, useGateway, waitFor, withLogs,
} = require('./harness.js');

const RECEIVED = 'eventgateway.event.received';
const INVOKING = 'eventgateway.function.invoking';
const INVOKED = 'eventgateway.function.invoked';
const FAILED = 'eventgateway.function.invocationFailed';
const fns = {};

const ref = useGateway({ env: { EGW_RETRY_BASE_MS: '50', EGW_RETRY_CAP_MS: '100' } }, async (gw) => {
  fns.work = await startFunction((event) => ({ statusCode: 200, body: `done-${event.data.params.id}` }));
  fns.thanks = await startFunction(() => raw({ status: 200, body: 'thanks' }));
  fns.broken = await startFunction(() => raw({ status: 500, body: 'kaput' }));
  // Never answers its first call: the worker making it is killed meanwhile.
  let slowCalls = 0;
  fns.slow = await startFunction(() => (++slowCalls === 1 ? HANG : {}));
  for (const id of ['sysReceived', 'sysInvoking', 'sysInvoked', 'sysFailed', 'sysAll']) {
    fns[id] = await startFunction(() => ({}));
  }
  for (const [id, f] of Object.entries(fns)) await gw.createFunction(id, f.url);
  for (const t of ['http.request', 'user.created', 'order.placed', 'job.slow', RECEIVED, INVOKING, INVOKED,
    FAILED, 'eventgateway.*']) {
    await gw.createEventType(t);
  }
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'work',
    method: 'GET', path: '/work/:id' });
  await gw.subscribe({ type: 'async', eventType: 'user.created', functionId: 'thanks' });
  await gw.subscribe({ type: 'async', eventType: 'order.placed', functionId: 'broken',
    retry: { maxAttempts: 2 } });
  await gw.subscribe({ type: 'async', eventType: 'job.slow', functionId: 'slow' });
  await gw.subscribe({ type: 'async', eventType: RECEIVED, functionId: 'sysReceived' });
  await gw.subscribe({ type: 'async', eventType: INVOKING, functionId: 'sysInvoking' });
  await gw.subscribe({ type: 'async', eventType: INVOKED, functionId: 'sysInvoked' });
  await gw.subscribe({ type: 'async', eventType: FAILED, functionId: 'sysFailed' });
  await gw.subscribe({ type: 'async', eventType: 'eventgateway.*', functionId: 'sysAll' });
});
after(async () => {
  for (const f of Object.values(fns)) await f.close();
});

const g = (f) => withLogs(() => ref.gw, f);

function v01(eventType, extra = {}) {
  return {
    cloudEventsVersion: '0.1', eventType, eventID: crypto.randomUUID(), source: '/test',
    eventTime: new Date().toISOString(), contentType: 'application/json',
    data: { n: 1 }, ...extra,
  };
}

async function emit(event, headers = {}) {
  const res = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents+json', ...headers },
    body: JSON.stringify(event),
  });
  assert.equal(res.status, 202, `emit: ${res.status} ${res.text}`);
}

// The system events a function received about the event with this id.
function about(fn, id, pred = () => true) {
  return fn.calls.map((c) => c.event)
    .filter((e) => e && e.data && e.data.event && (e.data.event.eventID === id || e.data.event.id === id))
    .filter(pred);
}

function waitAbout(fn, id, pred, what) {
  return waitFor(() => about(fn, id, pred).length > 0 && about(fn, id, pred),
    { what, timeoutMs: 8000 });
}

function assertEnvelope(e, type) {
  assert.equal(e.eventType, type);
  assert.equal(e.cloudEventsVersion, '0.1');
  assert.equal(e.contentType, 'application/json');
  assert.match(e.eventID, /^[0-9a-f-]{36}$/);
  assert.ok(!Number.isNaN(Date.parse(e.eventTime)), `eventTime ${e.eventTime}`);
  assert.equal(typeof e.source, 'string');
}

test('an accepted event emits eventgateway.event.received {path, event, headers}', g(async () => {
  const event = v01('user.created');
  await emit(event, { 'X-Trace': 'abc-1' });
  const [rec] = await waitAbout(fns.sysReceived, event.eventID, () => true, 'event.received');
  assertEnvelope(rec, RECEIVED);
  assert.deepEqual(Object.keys(rec.data).sort(), ['event', 'headers', 'path']);
  assert.equal(rec.data.path, '/');
  assert.deepEqual(rec.data.event, event);
  assert.equal(rec.data.headers['X-Trace'], 'abc-1');
  assert.equal(rec.data.headers['Content-Type'], 'application/cloudevents+json');
}));

test('an async call emits invoking and invoked {space, functionId, event, result}', g(async () => {
  const event = v01('user.created');
  await emit(event);
  await fns.thanks.waitForCalls(1);
  const [ing] = await waitAbout(fns.sysInvoking, event.eventID, () => true, 'function.invoking');
  assertEnvelope(ing, INVOKING);
  assert.deepEqual(Object.keys(ing.data).sort(), ['event', 'functionId', 'space']);
  assert.equal(ing.data.space, 'default');
  assert.equal(ing.data.functionId, 'thanks');
  assert.deepEqual(ing.data.event, event);

  const [ed] = await waitAbout(fns.sysInvoked, event.eventID, () => true, 'function.invoked');
  assertEnvelope(ed, INVOKED);
  assert.deepEqual(Object.keys(ed.data).sort(), ['event', 'functionId', 'result', 'space']);
  assert.equal(ed.data.functionId, 'thanks');
  // The function's response, base64-encoded as the reference sent []byte.
  assert.equal(Buffer.from(ed.data.result, 'base64').toString(), 'thanks');
}));

test('a sync call emits them too, about the http.request event', g(async () => {
  const res = await ref.gw.events('GET', '/work/10?x=1');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'done-10');
  const call = fns.work.calls.at(-1);
  const id = call.event.eventID;
  const [rec] = await waitAbout(fns.sysReceived, id, () => true, 'event.received (http)');
  assert.equal(rec.data.path, '/work/10');
  assert.equal(rec.data.event.eventType, 'http.request');
  const [ed] = await waitAbout(fns.sysInvoked, id, () => true, 'function.invoked (sync)');
  assert.equal(ed.data.functionId, 'work');
  assert.equal(ed.data.event.data.params.id, '10');
  assert.deepEqual(ed.data.event.data.query, { x: ['1'] });
  assert.equal(Buffer.from(ed.data.result, 'base64').toString(), 'done-10');
}));

test('a failed call emits invocationFailed {space, functionId, event, error}, per attempt', g(async () => {
  const event = v01('order.placed');
  await emit(event);
  const failed = await waitFor(() => about(fns.sysFailed, event.eventID).length >= 2 &&
    about(fns.sysFailed, event.eventID), { what: 'two invocationFailed', timeoutMs: 8000 });
  const f = failed[0];
  assertEnvelope(f, FAILED);
  assert.deepEqual(Object.keys(f.data).sort(), ['error', 'event', 'functionId', 'space']);
  assert.equal(f.data.functionId, 'broken');
  assert.equal(f.data.space, 'default');
  assert.match(f.data.error.message, /500/);
  assert.deepEqual(f.data.event, event);
  // Two attempts (retry.maxAttempts 2), each invoking and failing.
  assert.equal(about(fns.sysInvoking, event.eventID).length, 2);
  assert.equal(about(fns.sysInvoked, event.eventID).length, 0);
}));

test('"eventgateway.*" gets every system type, and system events never beget more', g(async () => {
  const event = v01('user.created');
  await emit(event);
  await waitFor(() => {
    const types = new Set(about(fns.sysAll, event.eventID).map((e) => e.eventType));
    return types.has(RECEIVED) && types.has(INVOKING) && types.has(INVOKED);
  }, { what: 'all three system events at sysAll', timeoutMs: 8000 });
  await sleep(500); // let any stray (recursive) system event arrive
  for (const f of ['sysReceived', 'sysInvoking', 'sysInvoked', 'sysFailed', 'sysAll']) {
    for (const c of fns[f].calls) {
      const e = c.event;
      assert.ok(e.eventType.startsWith('eventgateway.'), `${f} got ${e.eventType}`);
      // A system event is never about a system event or about a call
      // delivering one.
      assert.ok(!String(e.data.event.eventType).startsWith('eventgateway.'),
        `${f} got a system event about ${e.data.event.eventType}`);
      assert.ok(!String(e.data.functionId || '').startsWith('sys'),
        `${f} got a system event about the call of ${e.data.functionId}`);
    }
  }
  // Each system event reached its exact subscriber once (at-least-once
  // allows duplicates only after failures, and none failed here).
  assert.equal(about(fns.sysInvoked, event.eventID).length, 1);
}));

test('a call lost with its worker emits invocationFailed, and the retry invoked', g(async () => {
  const event = v01('job.slow');
  await emit(event);
  await fns.slow.waitForCalls(1);
  // One of the two workers holds the call; losing both loses it for sure.
  await ref.gw.kill('egw-worker:egw-worker-0');
  await ref.gw.kill('egw-worker:egw-worker-1');
  const [f] = await waitAbout(fns.sysFailed, event.eventID,
    (e) => /worker lost/.test(e.data.error.message), 'invocationFailed (worker lost)');
  assert.equal(f.data.functionId, 'slow');
  await waitAbout(fns.sysInvoked, event.eventID, () => true, 'function.invoked (the retry)');
  assert.equal(fns.slow.calls.length, 2);
}));

test('system event types cannot be emitted from outside', g(async () => {
  const res = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents+json' },
    body: JSON.stringify(v01(INVOKED)),
  });
  assert.equal(res.status, 400, res.text);
  assertErrorBody(res, 'system type');
}));

logsCleanTest(ref);
