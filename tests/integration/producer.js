// Load tools for the reliability tests: a producer that emits async
// CloudEvents over keep-alive connections and, like a real producer, sends an
// event again (same ID) until it is answered 202; a subscriber that only
// counts deliveries per event ID (harness.js startFunction keeps every call,
// too heavy for tens of thousands); and a /metrics reader.
'use strict';

const http = require('node:http');
const { request, sleep } = require('./harness.js');

// A structured CloudEvent (0.1) with the given ID.
function cloudEvent(eventType, id, data = {}) {
  return {
    cloudEventsVersion: '0.1',
    eventType,
    eventID: id,
    eventTime: new Date().toISOString(),
    source: '/egw-reliability-tests',
    contentType: 'application/json',
    data: { id, ...data },
  };
}

// One POST over the agent; resolves {status, retryAfter, text} or
// {status: 'error', error} for a connection error or a timeout.
function post(agent, url, body, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'Content-Type': 'application/cloudevents+json', 'Content-Length': body.length },
      timeout: timeoutMs,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode,
        retryAfter: res.headers['retry-after'],
        text: Buffer.concat(chunks).toString('utf8'),
      }));
      res.on('error', (error) => resolve({ status: 'error', error }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ status: 'error', error }));
    req.end(body);
  });
}

// Emits one event per id to eventsUrl with `concurrency` requests in flight
// over keep-alive connections. With retry, an event answered anything but
// 202 (503, 500, a connection error) is sent again with the same ID after
// a short pause (Retry-After when given, at most 2 s) until it gets 202 or
// deadlineMs passes. Only a 202 makes an event accepted.
// Returns {accepted: Set of ids, unaccepted: [ids], statuses: {status: n},
// refusals: [{id, status, retryAfter, text}] (non-202 answers, first 1000),
// requests}. data is merged into every event's data. minDurationMs paces
// first attempts evenly over at least that long (so that a fast machine
// does not finish before the chaos it is meant to meet).
async function produce({
  eventsUrl, ids, eventType, concurrency = 32, retry = true, deadlineMs = 120000,
  timeoutMs = 20000, retryPauseMs = 50, onAccepted = null, data = {}, minDurationMs = 0,
}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL('/', eventsUrl);
  const started = Date.now();
  const deadline = started + deadlineMs;
  const out = { accepted: new Set(), unaccepted: [], statuses: {}, refusals: [], requests: 0 };
  let next = 0;

  async function lane() {
    while (next < ids.length) {
      const index = next++;
      const id = ids[index];
      const due = started + (index / ids.length) * minDurationMs;
      if (Date.now() < due) await sleep(due - Date.now());
      const body = Buffer.from(JSON.stringify(cloudEvent(eventType, id, data)));
      for (;;) {
        const r = await post(agent, url, body, timeoutMs);
        out.requests++;
        out.statuses[r.status] = (out.statuses[r.status] || 0) + 1;
        if (r.status === 202) {
          out.accepted.add(id);
          if (onAccepted) onAccepted(id);
          break;
        }
        if (out.refusals.length < 1000) {
          out.refusals.push({ id, status: r.status, retryAfter: r.retryAfter, text: r.text ?? String(r.error) });
        }
        if (!retry || Date.now() >= deadline) {
          out.unaccepted.push(id);
          break;
        }
        const ra = Number(r.retryAfter);
        await sleep(Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 2000) : retryPauseMs);
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    agent.destroy();
  }
  return out;
}

// A subscriber that answers 200 and counts deliveries per X-Egw-Event-Id.
// It also counts calls whose headers break the contract: no event ID header,
// an ID that differs from the body's eventID, or no attempt number.
async function startCounter() {
  const counts = new Map();
  const bad = { noEventId: 0, idMismatch: 0, noAttempt: 0, examples: [] };
  let calls = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      calls++;
      const id = req.headers['x-egw-event-id'];
      const attempt = Number(req.headers['x-egw-delivery-attempt']);
      let bodyId;
      try {
        bodyId = JSON.parse(Buffer.concat(chunks).toString('utf8')).eventID;
      } catch {
        bodyId = undefined;
      }
      if (!id) bad.noEventId++;
      else if (id !== bodyId) bad.idMismatch++;
      if (!(Number.isInteger(attempt) && attempt >= 1)) bad.noAttempt++;
      if ((!id || id !== bodyId || !(attempt >= 1)) && bad.examples.length < 5) {
        bad.examples.push({ headers: req.headers, bodyId });
      }
      const key = id || bodyId;
      if (key) counts.set(key, (counts.get(key) || 0) + 1);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    counts,
    bad,
    get calls() {
      return calls;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// The gateway's /metrics as {name: value}: labelled samples are summed
// under their name, and a metric declared (# TYPE) without any sample yet,
// as a labelled counter is until its first increment, is 0.
async function metrics(gw) {
  const res = await request(`${gw.configUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.text}`);
  const m = {};
  for (const line of res.text.split('\n')) {
    const declared = /^# TYPE (\S+)/.exec(line);
    if (declared && !(declared[1] in m)) m[declared[1]] = 0;
    const x = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (x) m[x[1]] = (m[x[1]] || 0) + Number(x[3]);
  }
  return m;
}

module.exports = { cloudEvent, metrics, produce, startCounter };
