// A fake AWS endpoint on 127.0.0.1 for the AWS function types: it answers
// Lambda Invoke, SQS SendMessage (JSON protocol), Kinesis PutRecord and
// Firehose PutRecord the way AWS does, and checks every request's SigV4
// signature with an independent implementation (the npm package aws4):
// the signature is recomputed from the received method, path, signed
// headers and body with the secret of the access key named in the
// Authorization header, and a mismatch is refused with 403
// SignatureDoesNotMatch, as AWS refuses it. Accepted requests are recorded
// in `requests`, refused ones in `rejected`, so tests can assert what the
// gateway sent and that nothing unsigned got through.
'use strict';

const aws4 = require('aws4');
const crypto = require('node:crypto');
const http = require('node:http');

// AWS refuses a request whose X-Amz-Date is further than this from its clock.
const MAX_SKEW_MS = 15 * 60 * 1000;
// aws4 never signs these unless told to; a client may have signed them.
const AWS4_IGNORED = ['authorization', 'connection', 'x-amzn-trace-id', 'user-agent', 'expect',
  'presigned-expires', 'range'];
// aws4 adds these when absent; they must then stay out of the signature.
const AWS4_ADDED = ['content-type', 'content-length', 'x-amz-security-token'];

const TARGETS = {
  'AmazonSQS.SendMessage': { service: 'sqs', contentType: 'application/x-amz-json-1.0' },
  'Kinesis_20131202.PutRecord': { service: 'kinesis', contentType: 'application/x-amz-json-1.1' },
  'Firehose_20150804.PutRecord': { service: 'firehose', contentType: 'application/x-amz-json-1.1' },
};

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// Strict standard base64 (what AWS's JSON APIs take for blobs).
function decodeBase64(text) {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    return undefined;
  }
  return Buffer.from(text, 'base64');
}

// What both fakes share: an HTTP server (this.server, made by the subclass)
// on a free 127.0.0.1 port, whose base URL is this.url once listening.
class FakeServer {
  async listen() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

class FakeAws extends FakeServer {
  // keys: {accessKeyId: {secret, token}}; a key with a token is a temporary
  // credential that is only valid together with that X-Amz-Security-Token.
  constructor(keys) {
    super();
    this.keys = new Map(Object.entries(keys));
    this.requests = [];
    this.rejected = [];
    this.lambdas = new Map(); // name -> handler(event, request) -> {payload, functionError, delayMs}
    this.queues = new Set(); // queue URLs that exist
    this.streams = new Set(); // Kinesis stream names
    this.deliveryStreams = new Set(); // Firehose delivery stream names
    this.throttle = new Map(); // Kinesis stream name -> PutRecords still to refuse as throttled
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, Buffer.concat(chunks), res).catch((err) => {
          res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ message: `fake-aws bug: ${err.stack}` }));
        });
      });
    });
  }

  static start(keys) {
    return new FakeAws(keys).listen();
  }

  // The requests accepted so far for one service ('lambda', 'sqs', ...).
  of(service) {
    return this.requests.filter((r) => r.service === service);
  }

  // Answers with AWS's JSON error shape; records the refusal.
  fail(res, req, status, code, message, extra = {}) {
    this.rejected.push({ status, code, message, method: req.method, url: req.url,
      headers: req.headers, ...extra });
    res.writeHead(status, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': code,
      'x-amzn-RequestId': crypto.randomUUID() });
    res.end(JSON.stringify({ __type: code, message }));
  }

  // Checks the signature the way AWS does; returns the signing details, or
  // undefined after answering 403.
  verify(req, body, res, expectedService) {
    const auth = req.headers.authorization;
    if (!auth) {
      this.fail(res, req, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      return undefined;
    }
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/
      .exec(auth);
    if (!m) {
      this.fail(res, req, 403, 'IncompleteSignatureException', `Authorization header malformed: ${auth}`);
      return undefined;
    }
    const [, accessKeyId, date, region, service, signedList] = m;
    const signed = signedList.split(';');
    const amzDate = req.headers['x-amz-date'];
    if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || !signed.includes('x-amz-date') ||
        !signed.includes('host')) {
      this.fail(res, req, 403, 'IncompleteSignatureException',
        'X-Amz-Date and Host must be present and signed');
      return undefined;
    }
    const when = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T` +
      `${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    if (!(Math.abs(Date.now() - when) <= MAX_SKEW_MS) || amzDate.slice(0, 8) !== date) {
      this.fail(res, req, 403, 'InvalidSignatureException', 'Signature expired or date mismatch');
      return undefined;
    }
    if (service !== expectedService) {
      this.fail(res, req, 403, 'InvalidSignatureException',
        `Credential should be scoped to correct service: '${expectedService}', not '${service}'`);
      return undefined;
    }
    const key = this.keys.get(accessKeyId);
    if (!key) {
      this.fail(res, req, 403, 'UnrecognizedClientException',
        'The security token included in the request is invalid.', { accessKeyId });
      return undefined;
    }
    const token = req.headers['x-amz-security-token'];
    if ((key.token || token) && (token !== key.token || !signed.includes('x-amz-security-token'))) {
      this.fail(res, req, 403, 'UnrecognizedClientException',
        'The security token included in the request is invalid.', { accessKeyId, token });
      return undefined;
    }
    for (const name of signed) {
      if (req.headers[name] === undefined) {
        this.fail(res, req, 403, 'IncompleteSignatureException', `signed header ${name} is missing`);
        return undefined;
      }
    }
    // Recompute with aws4 from what arrived: exactly the signed headers.
    const headers = {};
    for (const name of signed) headers[name] = req.headers[name];
    const opts = {
      host: req.headers.host,
      method: req.method,
      path: req.url,
      headers,
      body,
      service,
      region,
      extraHeadersToIgnore: Object.fromEntries(AWS4_ADDED.filter((h) => !signed.includes(h))
        .map((h) => [h, true])),
      extraHeadersToInclude: Object.fromEntries(AWS4_IGNORED.filter((h) => signed.includes(h))
        .map((h) => [h, true])),
    };
    aws4.sign(opts, { accessKeyId, secretAccessKey: key.secret });
    if (opts.headers.Authorization !== auth) {
      this.fail(res, req, 403, 'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method.',
        { accessKeyId, expected: opts.headers.Authorization, got: auth });
      return undefined;
    }
    return { accessKeyId, region, service, sessionToken: token, signedHeaders: signed };
  }

  async handle(req, body, res) {
    const url = new URL(req.url, 'http://fake');
    const lambda = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || (!lambda && !(url.pathname === '/' && TARGETS[target]))) {
      this.fail(res, req, 400, 'UnknownOperationException', `no such operation ${req.method} ${req.url} ${target}`);
      return;
    }
    const service = lambda ? 'lambda' : TARGETS[target].service;
    const sig = this.verify(req, body, res, service);
    if (!sig) return;
    const record = { ...sig, path: url.pathname, query: Object.fromEntries(url.searchParams),
      headers: req.headers, target, text: body.toString('utf8') };
    if (lambda) {
      await this.invoke(decodeURIComponent(lambda[1]), record, res);
      return;
    }
    if (req.headers['content-type'] !== TARGETS[target].contentType) {
      this.fail(res, req, 400, 'SerializationException', `Content-Type must be ${TARGETS[target].contentType}`);
      return;
    }
    const input = parseJson(record.text);
    if (!input || typeof input !== 'object') {
      this.fail(res, req, 400, 'SerializationException', 'body is not a JSON object');
      return;
    }
    record.input = input;
    if (service === 'sqs') this.sendMessage(record, res);
    else if (service === 'kinesis') this.putRecord(record, res);
    else this.putFirehoseRecord(record, res);
  }

  async invoke(name, record, res) {
    const handler = this.lambdas.get(name);
    if (!handler) {
      this.fail(res, { method: 'POST', url: record.path, headers: record.headers }, 404,
        'ResourceNotFoundException', `Function not found: arn:aws:lambda:${record.region}:123456789012:function:${name}`);
      return;
    }
    record.functionName = name;
    record.qualifier = record.query.Qualifier;
    record.event = parseJson(record.text);
    this.requests.push(record);
    const out = (await handler(record.event, record)) ?? {};
    if (out.delayMs) await new Promise((resolve) => setTimeout(resolve, out.delayMs));
    const headers = { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST',
      'x-amzn-RequestId': crypto.randomUUID() };
    if (out.functionError) headers['X-Amz-Function-Error'] = out.functionError;
    res.writeHead(200, headers);
    res.end(JSON.stringify(out.payload ?? null));
  }

  sendMessage(record, res) {
    const { QueueUrl, MessageBody } = record.input;
    if (!this.queues.has(QueueUrl)) {
      this.fail(res, { method: 'POST', url: '/', headers: record.headers }, 400,
        'com.amazonaws.sqs#QueueDoesNotExist', 'The specified queue does not exist.');
      return;
    }
    if (typeof MessageBody !== 'string' || MessageBody.length === 0) {
      this.fail(res, { method: 'POST', url: '/', headers: record.headers }, 400,
        'com.amazonaws.sqs#MissingParameter', 'The request must contain the parameter MessageBody.');
      return;
    }
    record.event = parseJson(MessageBody);
    this.requests.push(record);
    res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify({
      MD5OfMessageBody: crypto.createHash('md5').update(MessageBody).digest('hex'),
      MessageId: crypto.randomUUID(),
    }));
  }

  putRecord(record, res) {
    const { StreamName, Data, PartitionKey } = record.input;
    const data = decodeBase64(Data);
    if (!this.streams.has(StreamName)) {
      this.fail(res, { method: 'POST', url: '/', headers: record.headers }, 400,
        'ResourceNotFoundException', `Stream ${StreamName} under account 123456789012 not found.`);
      return;
    }
    if (this.throttle.get(StreamName) > 0) {
      // Kinesis throttles with HTTP 400, not 429.
      this.throttle.set(StreamName, this.throttle.get(StreamName) - 1);
      this.fail(res, { method: 'POST', url: '/', headers: record.headers }, 400,
        'ProvisionedThroughputExceededException', 'Rate exceeded for shard shardId-000000000000 in stream ' +
        `${StreamName} under account 123456789012.`);
      return;
    }
    if (!data || typeof PartitionKey !== 'string' || PartitionKey.length < 1 ||
        PartitionKey.length > 256) {
      this.fail(res, { method: 'POST', url: '/', headers: record.headers }, 400,
        'ValidationException', 'Data must be base64 and PartitionKey 1 to 256 characters');
      return;
    }
    record.event = parseJson(data.toString('utf8'));
    this.requests.push(record);
    res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({
      SequenceNumber: String(49500000000000000000000000000n + BigInt(this.requests.length)),
      ShardId: 'shardId-000000000000',
    }));
  }

  putFirehoseRecord(record, res) {
    const { DeliveryStreamName, Record } = record.input;
    const data = decodeBase64(Record && Record.Data);
    if (!this.deliveryStreams.has(DeliveryStreamName)) {
      this.fail(res, { method: 'POST', url: '/', headers: record.headers }, 400,
        'ResourceNotFoundException', `Firehose ${DeliveryStreamName} under account 123456789012 not found.`);
      return;
    }
    if (!data) {
      this.fail(res, { method: 'POST', url: '/', headers: record.headers }, 400,
        'ValidationException', 'Record.Data must be base64');
      return;
    }
    record.event = parseJson(data.toString('utf8'));
    this.requests.push(record);
    res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({ RecordId: crypto.randomBytes(32).toString('hex'), Encrypted: false }));
  }
}

// A fake of the two places AWS hands out role credentials, on 127.0.0.1:
// the container credentials endpoint (ECS/EKS agent: GET <containerPath>,
// with an Authorization header when authToken is set) and the EC2 instance
// metadata service (IMDSv2: PUT /latest/api/token, then GET
// /latest/meta-data/iam/security-credentials/[<role>] with the token).
// Each credential it issues is registered with the FakeAws given, so that
// fake accepts signatures made with it. `hits` counts requests per path;
// `failWith` (an HTTP status) makes every credentials request fail.
class FakeCredentials extends FakeServer {
  constructor(aws) {
    super();
    this.aws = aws;
    this.containerPath = '/v2/credentials/task-1';
    this.authToken = null;
    this.role = 'egw-instance-role';
    this.lifetimeMs = 6 * 3600 * 1000; // Expiration of the next issued credential
    this.failWith = 0;
    this.silent = false; // true: take requests and never answer (an unreachable service)
    this.hits = new Map();
    this.seen = []; // {method, path, headers} of every request
    this.issued = []; // access key ids, in issue order
    this.imdsTokens = new Set();
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => this.handle(req, res));
    });
  }

  static start(aws) {
    return new FakeCredentials(aws).listen();
  }

  count(p) {
    return this.hits.get(p) ?? 0;
  }

  // A new temporary credential, known to the FakeAws from now on.
  issue(extra = {}) {
    const id = `ASIAROLE${String(this.issued.length + 1).padStart(4, '0')}`;
    const secret = crypto.randomBytes(20).toString('base64');
    const token = crypto.randomBytes(48).toString('base64');
    this.aws.keys.set(id, { secret, token });
    this.issued.push(id);
    return { AccessKeyId: id, SecretAccessKey: secret, Token: token,
      Expiration: new Date(Date.now() + this.lifetimeMs).toISOString(), ...extra };
  }

  answer(res, status, body, type = 'application/json') {
    res.writeHead(status, { 'Content-Type': type });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  handle(req, res) {
    const p = new URL(req.url, 'http://fake').pathname;
    this.hits.set(p, this.count(p) + 1);
    this.seen.push({ method: req.method, path: p, headers: req.headers });
    if (this.silent) return; // close() ends the connection
    if (this.failWith) {
      this.answer(res, this.failWith, { message: 'fake credentials endpoint told to fail' });
      return;
    }
    if (p === this.containerPath && req.method === 'GET') {
      if (this.authToken !== null && req.headers.authorization !== this.authToken) {
        this.answer(res, 401, { message: 'authorization token missing or wrong' });
        return;
      }
      this.answer(res, 200, this.issue({ RoleArn: 'arn:aws:iam::123456789012:role/task' }));
      return;
    }
    if (p === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (req.method !== 'PUT' || !(ttl >= 1 && ttl <= 21600)) {
        this.answer(res, 400, 'PUT with X-aws-ec2-metadata-token-ttl-seconds 1..21600', 'text/plain');
        return;
      }
      const token = crypto.randomBytes(32).toString('base64');
      this.imdsTokens.add(token);
      this.answer(res, 200, token, 'text/plain');
      return;
    }
    const base = '/latest/meta-data/iam/security-credentials/';
    if (p.startsWith(base) && req.method === 'GET') {
      // IMDSv2 only: IMDSv1 (no token) is refused as on a hardened instance.
      if (!this.imdsTokens.has(req.headers['x-aws-ec2-metadata-token'])) {
        this.answer(res, 401, '', 'text/plain');
        return;
      }
      if (p === base) this.answer(res, 200, `${this.role}\n`, 'text/plain');
      else if (p === base + this.role) {
        this.answer(res, 200, this.issue({ Code: 'Success', LastUpdated: new Date().toISOString(),
          Type: 'AWS-HMAC' }));
      } else this.answer(res, 404, '', 'text/plain');
      return;
    }
    this.answer(res, 404, { message: `no such path ${req.method} ${p}` });
  }
}

module.exports = { FakeAws, FakeCredentials };
