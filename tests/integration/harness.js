// Integration harness: starts a real gateway the way the README does
// (deploy/egw up -> supervisord -> deploy/supervisord.conf) on free ports with
// a temporary data folder, runs function servers on 127.0.0.1 inside the test
// process, and always stops what it started, even when a test fails.
'use strict';

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const { after, before, test } = require('node:test');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const EGW = path.join(ROOT, 'deploy', 'egw');
const BUILD_DIR = path.resolve(process.env.EGW_BUILD_DIR || path.join(ROOT, 'build-test'));

// Sanitizer reports that must never appear in a process log, and the
// supervisord lines that tell of a process dying on its own (a SIGKILL is
// what the tests themselves send, so that one is expected).
const BAD_PROCESS_LINES = [/ERROR: AddressSanitizer/, /ERROR: LeakSanitizer/, /runtime error:/];
const BAD_SUPERVISOR_LINES = [/not expected/];
const OK_SUPERVISOR_LINES = [/terminated by SIGKILL/];

const live = new Set();

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls fn until it returns a truthy value or timeoutMs passes; returns the
// value, or throws with the last error or value seen.
async function waitFor(fn, { timeoutMs = 5000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await sleep(intervalMs);
  }
}

// Distinct free TCP ports on 127.0.0.1; all are held open until every one is
// picked, so the same port is never handed out twice.
async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      servers.push(server);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

// Runs a command with a hard time limit; resolves {code, stdout, stderr}.
function run(cmd, args, { env, timeoutMs = 60000, input } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[harness] ${cmd} ${args.join(' ')} killed after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      stderr += `\n[harness] ${err.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code === null ? `signal ${signal}` : code, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // a child that exits without reading its stdin
    child.stdin.end(input || '');
  });
}

function sqlite(dbPath, sql) {
  // .timeout waits for the router's write lock instead of failing with SQLITE_BUSY.
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', dbPath, sql], {
    encoding: 'utf8',
    timeout: 15000,
  });
  if (r.status !== 0) {
    throw new Error(`sqlite3 ${dbPath} "${sql}" failed: ${r.stderr || r.error}`);
  }
  return r.stdout;
}

// An HTTP exchange with fetch, bounded in time; the body is parsed as JSON
// when it is JSON, else left as text.
async function request(url, { method = 'GET', headers = {}, body, timeoutMs = 20000 } = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(timeoutMs) };
  if (body !== undefined) {
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      if (!Object.keys(init.headers).some((k) => k.toLowerCase() === 'content-type')) {
        init.headers['Content-Type'] = 'application/json';
      }
    }
  }
  const started = Date.now();
  const res = await fetch(url, init);
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, ms: Date.now() - started };
}

// Checks the error body shape every API uses: {"errors":[{"message":"..."}]}.
function assertErrorBody(res, what) {
  assert.ok(res.json && Array.isArray(res.json.errors) && res.json.errors.length > 0,
    `${what}: expected {"errors":[{"message":...}]}, got ${res.status} ${res.text}`);
  for (const e of res.json.errors) {
    assert.equal(typeof e.message, 'string', `${what}: error without a message: ${res.text}`);
    assert.ok(e.message.length > 0, `${what}: empty error message`);
  }
}

class Gateway {
  constructor(dir, ports, settings) {
    this.dir = dir;
    this.dataDir = path.join(dir, 'data');
    this.dbPath = path.join(this.dataDir, 'egw.db');
    this.logDir = path.join(this.dataDir, 'logs');
    this.eventsPort = ports[0];
    this.configPort = ports[1];
    this.eventsUrl = `http://127.0.0.1:${ports[0]}`;
    this.configUrl = `http://127.0.0.1:${ports[1]}`;
    this.frontend = { host: '127.0.0.1', port: ports[2] };
    this.backend = { host: '127.0.0.1', port: ports[3] };
    this.env = { ...process.env };
    // Settings from the caller's shell must not leak into a test gateway.
    for (const k of Object.keys(this.env)) if (k.startsWith('EGW_')) delete this.env[k];
    Object.assign(this.env, {
      EGW_BUILD_DIR: BUILD_DIR,
      EGW_DATA_DIR: this.dataDir,
      EGW_EVENTS_PORT: String(ports[0]),
      EGW_CONFIG_PORT: String(ports[1]),
      EGW_FRONTEND: `tcp://127.0.0.1:${ports[2]}`,
      EGW_BACKEND: `tcp://127.0.0.1:${ports[3]}`,
      EGW_INGRESS: String(settings.ingress ?? 2),
      EGW_WORKERS: String(settings.workers ?? 2),
      EGW_FUNCTION_TIMEOUT_MS: String(settings.functionTimeoutMs ?? 10000),
      EGW_REQUEST_TIMEOUT_MS: String(settings.requestTimeoutMs ?? 15000),
      EGW_BODY_LIMIT: String(settings.bodyLimit ?? 1048576),
      EGW_LOG_LEVEL: settings.logLevel ?? 'info',
      EGW_START_TIMEOUT: '60',
      EGW_NO_BUILD: '1',
      EGW_NO_INSTALL: '1',
    });
    // Extra settings (e.g. EGW_RETRY_BASE_MS) reach every process: deploy/egw
    // runs supervisord with this environment and supervisord passes it on.
    Object.assign(this.env, settings.env || {});
    this.stopped = false;
  }

  // Starts a gateway; settings: functionTimeoutMs, bodyLimit, workers,
  // ingress, requestTimeoutMs, logLevel, env (extra environment variables).
  static async start(settings = {}) {
    for (const bin of ['router/egw-router', 'ingress/egw-ingress', 'workers/egw-worker']) {
      const p = path.join(BUILD_DIR, bin);
      assert.ok(fs.existsSync(p), `${p} is missing: build first (tests/run.sh does)`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egw-it-'));
    const gw = new Gateway(dir, await freePorts(4), settings);
    live.add(gw);
    const up = await run(EGW, ['up'], { env: gw.env, timeoutMs: 90000 });
    if (up.code !== 0) {
      const logs = gw.logTail(40);
      await gw.stop();
      throw new Error(`deploy/egw up failed (${up.code}):\n${up.stdout}\n${up.stderr}\n${logs}`);
    }
    return gw;
  }

  ctl(...args) {
    return spawnSync(EGW, ['ctl', ...args], { env: this.env, encoding: 'utf8', timeout: 20000 });
  }

  // {name: {state, pid}} from supervisorctl status.
  processes() {
    const out = this.ctl('status').stdout || '';
    const procs = {};
    for (const line of out.split('\n')) {
      const m = /^(\S+)\s+(\S+)(?:\s+pid (\d+))?/.exec(line);
      if (m) procs[m[1]] = { state: m[2], pid: m[3] ? Number(m[3]) : null };
    }
    return procs;
  }

  // Sends signal to a supervised program (e.g. 'egw-router',
  // 'egw-worker:egw-worker-1') found with `supervisorctl pid`, then waits until
  // supervisord runs it again under a new pid; returns {before, after} pids.
  // Runs supervisorctl asynchronously: the test's own servers keep serving.
  async kill(name, { signal = 'SIGKILL', timeoutMs = 30000 } = {}) {
    const ctl = (...args) => run(EGW, ['ctl', ...args], { env: this.env, timeoutMs: 20000 });
    const before = Number((await ctl('pid', name)).stdout.trim());
    assert.ok(before > 0, `supervisorctl pid ${name}: no pid`);
    process.kill(before, signal);
    const after = await waitFor(async () => {
      const m = /^\S+\s+RUNNING\s+pid (\d+)/m.exec((await ctl('status', name)).stdout);
      return m && Number(m[1]) !== before && Number(m[1]);
    }, { timeoutMs, intervalMs: 100, what: `${name} restarted by supervisord` });
    return { before, after };
  }

  logFiles() {
    try {
      return fs.readdirSync(this.logDir).filter((f) => f.endsWith('.log'))
        .map((f) => path.join(this.logDir, f));
    } catch {
      return [];
    }
  }

  logTail(lines = 30) {
    let out = '';
    for (const f of this.logFiles()) {
      const text = fs.readFileSync(f, 'utf8').split('\n');
      out += `==> ${f} <==\n${text.slice(-lines - 1).join('\n')}\n`;
    }
    return out;
  }

  // Lines of the process logs that show a sanitizer report or a crash.
  badLogLines() {
    const bad = [];
    for (const f of this.logFiles()) {
      const supervisor = path.basename(f) === 'supervisord.log';
      for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
        const isBad = supervisor
          ? BAD_SUPERVISOR_LINES.some((re) => re.test(line)) &&
            !OK_SUPERVISOR_LINES.some((re) => re.test(line))
          : BAD_PROCESS_LINES.some((re) => re.test(line));
        if (isBad) bad.push(`${path.basename(f)}: ${line}`);
      }
    }
    return bad;
  }

  // Stops supervisord and every process; kills survivors. Returns the lines
  // of the logs that show sanitizer reports or crashes (read after the
  // processes exit, so leak reports are included). Safe to call twice.
  async stop() {
    if (this.stopped) return this.badLogLines();
    this.stopped = true;
    const pids = Object.values(this.processes()).map((p) => p.pid).filter(Boolean);
    await run(EGW, ['down'], { env: this.env, timeoutMs: 45000 });
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
    live.delete(this);
    const bad = this.badLogLines();
    if (bad.length === 0 && !process.env.EGW_KEEP_TMP) {
      fs.rmSync(this.dir, { recursive: true, force: true });
    } else {
      process.stderr.write(`[harness] gateway files kept in ${this.dir}\n`);
    }
    return bad;
  }

  // Synchronous last-resort cleanup for process exit.
  stopSync() {
    if (this.stopped) return;
    this.stopped = true;
    spawnSync(EGW, ['down'], { env: this.env, timeout: 30000 });
  }

  config(method, urlPath, body, opts = {}) {
    return request(this.configUrl + urlPath, { method, body, ...opts });
  }

  events(method, urlPath, opts = {}) {
    return request(this.eventsUrl + urlPath, { method, ...opts });
  }

  // Registers an event type / function / subscription in space "default"
  // and insists on 201; returns the response body.
  async createEventType(name, extra = {}) {
    const r = await this.config('POST', '/v1/spaces/default/eventtypes', { name, ...extra });
    assert.equal(r.status, 201, `create event type ${name}: ${r.status} ${r.text}`);
    return r.json;
  }

  async createFunction(functionId, url, extra = {}) {
    const r = await this.config('POST', '/v1/spaces/default/functions',
      { functionId, type: 'http', provider: { url }, ...extra });
    assert.equal(r.status, 201, `create function ${functionId}: ${r.status} ${r.text}`);
    return r.json;
  }

  async subscribe(sub) {
    const r = await this.config('POST', '/v1/spaces/default/subscriptions', sub);
    assert.equal(r.status, 201, `subscribe ${JSON.stringify(sub)}: ${r.status} ${r.text}`);
    return r.json;
  }
}

// Wraps a test body: on failure the gateway's log tails are attached to the
// test output before the error propagates.
function withLogs(gwRef, fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const gw = typeof gwRef === 'function' ? gwRef() : gwRef;
      if (gw) t.diagnostic(`gateway logs (${gw.dir}):\n${gw.logTail(25)}`);
      throw err;
    }
  };
}

// A function server: an HTTP endpoint on 127.0.0.1 that records every call
// and answers with handler(event, call)'s result, serialised as JSON (the
// {statusCode, headers, body} object a sync function returns). The handler
// may return HANG to never answer, or raw({status, body, contentType, headers}).
// opts.port listens on a given port (a function that comes back).
const HANG = Symbol('hang');
const RAW = Symbol('raw');
function raw(spec) {
  return { [RAW]: true, ...spec };
}

async function startFunction(handler = () => ({ statusCode: 200, body: 'ok' }), { port = 0 } = {}) {
  const calls = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let event;
      try {
        event = JSON.parse(text);
      } catch {
        event = undefined;
      }
      const call = { method: req.method, url: req.url, headers: req.headers, text, event };
      calls.push(call);
      let out;
      try {
        out = await handler(event, call);
      } catch (err) {
        out = raw({ status: 500, body: String(err) });
      }
      if (out === HANG) return;
      if (out && out[RAW]) {
        res.writeHead(out.status ?? 200,
          { 'Content-Type': out.contentType ?? 'text/plain', ...(out.headers || {}) });
        res.end(out.body ?? '');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(out ?? {}));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}/`;
  return {
    url,
    calls,
    waitForCalls(n, timeoutMs = 5000) {
      return waitFor(() => calls.length >= n && calls, { timeoutMs, what: `${n} call(s) to ${url}` });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// A gateway per test file: started before its tests, then setup(gw) runs
// in the same hook (the test runner does not wait for one root hook before
// starting the next); stopped after, its logs checked by logsCleanTest.
function useGateway(settings = {}, setup = null) {
  const ref = { gw: null };
  before(async () => {
    ref.gw = await Gateway.start(settings);
    if (setup) await setup(ref.gw);
  }, { timeout: 150000 });
  after(async () => {
    if (ref.gw && !ref.gw.stopped) await ref.gw.stop();
  }, { timeout: 90000 });
  return ref;
}

// The closing test of a file: stops the gateway and fails if any process
// printed a sanitizer report or crashed.
function logsCleanTest(ref) {
  test('gateway processes printed no sanitizer report and did not crash', async () => {
    assert.ok(ref.gw, 'gateway was not started');
    const bad = await ref.gw.stop();
    assert.deepEqual(bad, [], `bad lines in gateway logs (kept in ${ref.gw.dir}):\n${bad.join('\n')}`);
  });
}

function cleanupAll() {
  for (const gw of live) gw.stopSync();
  live.clear();
}
process.on('exit', cleanupAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanupAll();
    process.exit(130);
  });
}

module.exports = {
  ROOT,
  BUILD_DIR,
  Gateway,
  HANG,
  assertErrorBody,
  freePorts,
  logsCleanTest,
  raw,
  request,
  run,
  sleep,
  sqlite,
  startFunction,
  useGateway,
  waitFor,
  withLogs,
};
