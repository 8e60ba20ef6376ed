// Just enough ZeroMQ for the robustness tests, with no native module: a ZMTP
// 3.0 DEALER peer (NULL security) over a plain TCP socket, and a msgpack
// codec for the small maps the gateway puts in its header frames. It lets a
// test send the router frames that no real egw process would ever send.
'use strict';

const net = require('node:net');

const FLAG_MORE = 0x01;
const FLAG_LONG = 0x02;
const FLAG_COMMAND = 0x04;

function greeting() {
  const g = Buffer.alloc(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3; // ZMTP 3.0
  g[11] = 0;
  g.write('NULL', 12, 'ascii');
  return g; // as-server = 0 and filler stay zero
}

function frame(body, flags) {
  if (body.length > 255) {
    const head = Buffer.alloc(9);
    head[0] = flags | FLAG_LONG;
    head.writeBigUInt64BE(BigInt(body.length), 1);
    return Buffer.concat([head, body]);
  }
  return Buffer.concat([Buffer.from([flags, body.length]), body]);
}

function readyCommand(socketType) {
  const name = Buffer.from('Socket-Type');
  const value = Buffer.from(socketType);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(value.length);
  const body = Buffer.concat([Buffer.from([5]), Buffer.from('READY'), Buffer.from([name.length]), name, len, value]);
  return frame(body, FLAG_COMMAND);
}

class ZmtpDealer {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.greeted = false;
    this.ready = false;
    this.parts = [];
    this.messages = [];
    this.waiters = [];
    this.closed = false;
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }

  // Connects and completes the handshake; rejects after timeoutMs.
  static connect(host, port, timeoutMs = 3000) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, host);
      const peer = new ZmtpDealer(sock);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`ZMTP handshake with ${host}:${port} timed out`));
      }, timeoutMs);
      sock.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      sock.once('connect', () => sock.write(greeting()));
      peer.onReady = () => {
        clearTimeout(timer);
        resolve(peer);
      };
    });
  }

  parse() {
    if (!this.greeted) {
      if (this.buf.length < 64) return;
      this.buf = this.buf.subarray(64);
      this.greeted = true;
      this.sock.write(readyCommand('DEALER'));
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const flags = this.buf[0];
      let size;
      let off;
      if (flags & FLAG_LONG) {
        if (this.buf.length < 9) return;
        size = Number(this.buf.readBigUInt64BE(1));
        off = 9;
      } else {
        size = this.buf[1];
        off = 2;
      }
      if (this.buf.length < off + size) return;
      const body = this.buf.subarray(off, off + size);
      this.buf = this.buf.subarray(off + size);
      if (flags & FLAG_COMMAND) {
        const nameLen = body[0];
        const name = body.subarray(1, 1 + nameLen).toString('ascii');
        if (name === 'READY' && !this.ready) {
          this.ready = true;
          if (this.onReady) this.onReady();
        }
        continue; // PING and others need no answer from a short-lived peer
      }
      this.parts.push(Buffer.from(body));
      if (!(flags & FLAG_MORE)) {
        this.messages.push(this.parts);
        this.parts = [];
        this.wake();
      }
    }
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  // Sends one multipart message; frames are Buffers.
  send(frames) {
    const out = frames.map((f, i) => frame(f, i < frames.length - 1 ? FLAG_MORE : 0));
    this.sock.write(Buffer.concat(out));
  }

  // Next message (array of Buffers), or null after timeoutMs or on close.
  async recv(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length === 0) {
      if (this.closed || Date.now() >= deadline) return null;
      await new Promise((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.messages.shift();
  }

  // Waits until written data has left, then closes.
  close() {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.sock.end(() => {
        this.sock.destroy();
        resolve();
      });
      setTimeout(() => {
        this.sock.destroy();
        resolve();
      }, 500);
    });
  }
}

// msgpack: nil, bool, integers, strings, Buffers (bin), arrays, plain objects.
function mpEncode(v) {
  if (v === null || v === undefined) return Buffer.from([0xc0]);
  if (v === true) return Buffer.from([0xc3]);
  if (v === false) return Buffer.from([0xc2]);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) {
      const b = Buffer.alloc(9);
      b[0] = 0xcb;
      b.writeDoubleBE(v, 1);
      return b;
    }
    if (v >= 0 && v < 128) return Buffer.from([v]);
    if (v < 0 && v >= -32) return Buffer.from([0x100 + v]);
    if (v >= 0 && v <= 0xffffffff) {
      const b = Buffer.alloc(5);
      b[0] = 0xce;
      b.writeUInt32BE(v, 1);
      return b;
    }
    const b = Buffer.alloc(9);
    if (v >= 0) {
      b[0] = 0xcf;
      b.writeBigUInt64BE(BigInt(v), 1);
    } else {
      b[0] = 0xd3;
      b.writeBigInt64BE(BigInt(v), 1);
    }
    return b;
  }
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const isStr = typeof v === 'string';
    const data = isStr ? Buffer.from(v, 'utf8') : v;
    let head;
    if (isStr && data.length < 32) head = Buffer.from([0xa0 | data.length]);
    else if (data.length < 256) head = Buffer.from([isStr ? 0xd9 : 0xc4, data.length]);
    else if (data.length < 65536) {
      head = Buffer.alloc(3);
      head[0] = isStr ? 0xda : 0xc5;
      head.writeUInt16BE(data.length, 1);
    } else {
      head = Buffer.alloc(5);
      head[0] = isStr ? 0xdb : 0xc6;
      head.writeUInt32BE(data.length, 1);
    }
    return Buffer.concat([head, data]);
  }
  if (Array.isArray(v)) {
    if (v.length >= 16) throw new Error('mpEncode: arrays up to 15 items');
    return Buffer.concat([Buffer.from([0x90 | v.length]), ...v.map(mpEncode)]);
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length >= 16) throw new Error('mpEncode: maps up to 15 keys');
    return Buffer.concat([Buffer.from([0x80 | keys.length]),
      ...keys.flatMap((k) => [mpEncode(k), mpEncode(v[k])])]);
  }
  throw new Error(`mpEncode: cannot encode ${typeof v}`);
}

function mpDecode(buf) {
  let off = 0;
  const need = (n) => {
    if (off + n > buf.length) throw new Error('mpDecode: truncated');
  };
  const u = (n) => {
    need(n);
    let x = 0;
    for (let i = 0; i < n; i++) x = x * 256 + buf[off + i];
    off += n;
    return x;
  };
  const bytes = (n) => {
    need(n);
    const b = buf.subarray(off, off + n);
    off += n;
    return b;
  };
  const arr = (n) => Array.from({ length: n }, () => one());
  const map = (n) => {
    const o = {};
    for (let i = 0; i < n; i++) {
      const k = one();
      o[k] = one();
    }
    return o;
  };
  function one() {
    const b = u(1);
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x80) return map(b & 0x0f);
    if ((b & 0xf0) === 0x90) return arr(b & 0x0f);
    if ((b & 0xe0) === 0xa0) return bytes(b & 0x1f).toString('utf8');
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return Buffer.from(bytes(u(1)));
      case 0xc5: return Buffer.from(bytes(u(2)));
      case 0xc6: return Buffer.from(bytes(u(4)));
      case 0xcc: return u(1);
      case 0xcd: return u(2);
      case 0xce: return u(4);
      case 0xcf: return u(8);
      case 0xd0: { const x = u(1); return x >= 0x80 ? x - 0x100 : x; }
      case 0xd1: { const x = u(2); return x >= 0x8000 ? x - 0x10000 : x; }
      case 0xd2: { const x = u(4); return x >= 0x80000000 ? x - 0x100000000 : x; }
      case 0xd3: { need(8); const x = Number(buf.readBigInt64BE(off)); off += 8; return x; }
      case 0xcb: { need(8); const x = buf.readDoubleBE(off); off += 8; return x; }
      case 0xd9: return bytes(u(1)).toString('utf8');
      case 0xda: return bytes(u(2)).toString('utf8');
      case 0xdb: return bytes(u(4)).toString('utf8');
      case 0xdc: return arr(u(2));
      case 0xdd: return arr(u(4));
      case 0xde: return map(u(2));
      case 0xdf: return map(u(4));
      default: throw new Error(`mpDecode: unsupported byte 0x${b.toString(16)}`);
    }
  }
  return one();
}

module.exports = { ZmtpDealer, mpEncode, mpDecode };
