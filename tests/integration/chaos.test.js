// Chaos: no event answered 202 is ever lost. Producers send EGW_CHAOS_EVENTS
// (default 20000) async CloudEvents with unique IDs over 32 keep-alive
// connections to a gateway with 2 ingress and 2 workers and two async
// subscribers, while a chaos loop SIGKILLs the router, a worker and an ingress
// in turn, several times each (supervisord restarts them). A producer sends
// an event again with the same ID until it gets 202, as a real one would;
// only 202s count as accepted. Afterwards every accepted event must reach
// both subscribers at least once (bounded wait). Prints one summary line:
//   chaos: accepted=N delivered=N duplicates=N lost=N kills=router:X,worker:Y,ingress:Z
// accepted: event IDs answered 202; delivered: accepted events seen by both
// subscribers; duplicates: deliveries beyond the first per subscriber and
// event; lost: accepted events that one subscriber or both never saw.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, test } = require('node:test');
const { logsCleanTest, sleep, sqlite, useGateway, waitFor, withLogs } = require('./harness.js');
const { metrics, produce, startCounter } = require('./producer.js');

const EVENTS = Number(process.env.EGW_CHAOS_EVENTS || 20000);
const MIN_KILLS = 3; // of each kind
const MAX_ROUNDS = 8; // bounds the chaos loop when production is slow
const DRAIN_MS = 120000;
// Production lasts at least this long, so the kills (a round of three takes
// about 8 s) meet events being accepted even on a fast machine.
const MIN_PRODUCTION_MS = 30000;
const EVENT_TYPE = 'chaos.happened';

const subs = {};

const ref = useGateway({
  ingress: 2,
  workers: 2,
  // A killed router leaves requests unanswered; ingress answers 500 after
  // this and the producer sends them again.
  requestTimeoutMs: 5000,
  // Bounds the lease of a call lost with a killed worker.
  functionTimeoutMs: 3000,
  env: { EGW_RETRY_BASE_MS: '50', EGW_RETRY_CAP_MS: '1000' },
}, async (gw) => {
  subs.a = await startCounter();
  subs.b = await startCounter();
  await gw.createEventType(EVENT_TYPE);
  for (const [name, s] of Object.entries(subs)) {
    await gw.createFunction(`chaos-${name}`, s.url);
    await gw.subscribe({ type: 'async', eventType: EVENT_TYPE, functionId: `chaos-${name}` });
  }
});
after(async () => {
  for (const s of Object.values(subs)) await s.close();
});

// SIGKILLs router, a worker and an ingress in turn (waiting for each restart,
// then letting traffic flow a moment) until production is over and each kind
// was killed MIN_KILLS times, or MAX_ROUNDS rounds were done.
async function chaosLoop(gw, isProducing, log) {
  const kills = { router: 0, worker: 0, ingress: 0 };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (!isProducing() && round >= MIN_KILLS) break;
    for (const [kind, name] of [
      ['router', 'egw-router'],
      ['worker', `egw-worker:egw-worker-${round % 2}`],
      ['ingress', `egw-ingress:egw-ingress-${round % 2}`],
    ]) {
      const { before, after: now } = await gw.kill(name);
      kills[kind]++;
      log(`killed ${name} (pid ${before}, now ${now})`);
      await sleep(1500);
    }
  }
  return kills;
}

test(`chaos: ${EVENTS} async events to 2 subscribers while router, workers and ingress are SIGKILLed`,
  { timeout: 420000 }, withLogs(() => ref.gw, async (t) => {
    const gw = ref.gw;
    const ids = Array.from({ length: EVENTS }, (_, i) => `chaos-${i}-${crypto.randomUUID()}`);
    let producing = true;
    let producedMs = 0;
    const started = Date.now();
    const production = produce({
      eventsUrl: gw.eventsUrl, ids, eventType: EVENT_TYPE, concurrency: 32, deadlineMs: 150000,
      minDurationMs: MIN_PRODUCTION_MS,
    }).finally(() => {
      producing = false;
      producedMs = Date.now() - started;
    });
    const kills = await chaosLoop(gw, () => producing, (line) => t.diagnostic(line));
    const sent = await production;
    t.diagnostic(`production took ${producedMs} ms; answers: ${JSON.stringify(sent.statuses)}`);
    const reasons = {};
    for (const r of sent.refusals) {
      const key = `${r.status} ${String(r.text).slice(0, 100)}`;
      reasons[key] = (reasons[key] || 0) + 1;
    }
    t.diagnostic(`refusals (first ${sent.refusals.length}): ${JSON.stringify(reasons)}`);

    // Every accepted event at both subscribers, or the drain time is up.
    const accepted = [...sent.accepted];
    const missing = () => accepted.filter((id) => !subs.a.counts.has(id) || !subs.b.counts.has(id));
    let left = missing();
    const drainDeadline = Date.now() + DRAIN_MS;
    while (left.length > 0 && Date.now() < drainDeadline) {
      await sleep(500);
      left = missing();
    }

    let duplicates = 0;
    for (const s of Object.values(subs)) for (const n of s.counts.values()) duplicates += n - 1;
    const lost = left.length;
    const summary = `chaos: accepted=${accepted.length} delivered=${accepted.length - lost} ` +
      `duplicates=${duplicates} lost=${lost} ` +
      `kills=router:${kills.router},worker:${kills.worker},ingress:${kills.ingress}`;
    console.log(summary);
    t.diagnostic(summary);

    if (lost > 0) {
      const show = left.slice(0, 10).map((id) => `${id} (a:${subs.a.counts.get(id) || 0}, b:${subs.b.counts.get(id) || 0})`);
      let rows = '';
      try {
        rows = sqlite(gw.dbPath, 'select count(*) from deliveries') +
          sqlite(gw.dbPath, 'select count(*) from dead_letters');
      } catch (err) {
        rows = err.message;
      }
      t.diagnostic(`lost events (first 10): ${show.join(', ')}\ndeliveries, dead_letters rows: ${rows}`);
    }
    assert.equal(lost, 0, `${lost} accepted events never reached both subscribers within ${DRAIN_MS / 1000} s`);
    assert.deepEqual(sent.unaccepted, [],
      `${sent.unaccepted.length} events were never answered 202 in 150 s of retrying`);
    assert.equal(accepted.length, EVENTS);
    for (const kind of ['router', 'worker', 'ingress']) {
      assert.ok(kills[kind] >= MIN_KILLS, `${kind} killed ${kills[kind]} times`);
    }
    for (const [name, s] of Object.entries(subs)) {
      assert.equal(s.bad.noEventId + s.bad.idMismatch + s.bad.noAttempt, 0,
        `subscriber ${name}: calls without a correct X-Egw-Event-Id / X-Egw-Delivery-Attempt: ` +
        `${JSON.stringify(s.bad)}`);
    }

    // Nothing stays pending once everything arrived (a row left behind
    // would be delivered again forever), nothing went to dead letters, and
    // nothing was dropped.
    await waitFor(() => sqlite(gw.dbPath, 'select count(*) from deliveries').trim() === '0',
      { timeoutMs: 30000, intervalMs: 500, what: 'the deliveries table to empty' });
    assert.equal(sqlite(gw.dbPath, 'select count(*) from dead_letters').trim(), '0');
    const m = await metrics(gw);
    assert.equal(m.eventgateway_events_dropped_total, 0, 'eventgateway_events_dropped_total');
  }));

logsCleanTest(ref);
