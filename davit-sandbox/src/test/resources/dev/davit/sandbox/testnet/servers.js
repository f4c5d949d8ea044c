// The servers of TestInternet (dev.davit.sandbox.testnet), run by it inside its network namespace:
//   node servers.js SUBNET CERT KEY
// serves, on each of 198.18.SUBNET.2, .3 and .4: DNS on UDP and TCP port 53, HTTP on 80, HTTPS on 443 (CERT, KEY),
// a TCP echo and a UDP echo on 7. Every DNS query, connection, HTTP request and UDP datagram is written to stdout
// as one JSON line before it is answered; {"kind":"ready"} once everything listens. Standard input takes commands,
// one a line: "sync ID" (answered {"kind":"sync","id":ID}: every record before it has been written), "dns NAME
// [ADDRESS...]" (NAME's A records from now on; none: NXDOMAIN). At the end of standard input (the JVM that started
// it is gone or closed it) the process exits.
'use strict';
const dgram = require('dgram');
const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const readline = require('readline');

const [subnet, certFile, keyFile] = process.argv.slice(2);
const prefix = `198.18.${subnet}.`;
const ADDRESSES = [prefix + '2', prefix + '3', prefix + '4'];
const TTL = 5;

// the zone: a lower-case name -> {a: [addresses]} or {cname: name}
const zone = new Map([
  ['allowed.test', {a: [prefix + '2']}],
  ['cdn.allowed.test', {a: [prefix + '2']}],
  ['denied.test', {a: [prefix + '3']}],
  ['other.test', {a: [prefix + '4']}],
  ['alias.allowed.test', {cname: 'allowed.test'}],
  ['loopback.test', {a: ['127.0.0.1']}],
  ['hostside.test', {a: [prefix + '1']}],
  ['metadata.test', {a: ['169.254.169.254']}],
  ['private.test', {a: ['10.1.2.3']}],
]);

function emit(record) {
  // stdout is a pipe: Node writes it synchronously on Linux, so records keep their order
  process.stdout.write(JSON.stringify(record) + '\n');
}

process.on('uncaughtException', (e) => process.stderr.write(`servers.js: ${e && e.stack || e}\n`));

// ---- DNS ----
const TYPES = {1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV',
  41: 'OPT', 64: 'SVCB', 65: 'HTTPS', 255: 'ANY'};
const A = 1;
const CNAME = 5;
const ANY = 255;

/** The question of a query: {name, type, end} (end: the offset after QTYPE and QCLASS), or null if malformed. */
function question(msg) {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) {
    return null;
  }
  const labels = [];
  let off = 12;
  for (;;) {
    if (off >= msg.length) {
      return null;
    }
    const len = msg[off];
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63 || off + 1 + len > msg.length) {
      return null; // compression pointers have no place in a question
    }
    labels.push(msg.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  if (off + 4 > msg.length) {
    return null;
  }
  const type = msg.readUInt16BE(off);
  return {name: labels.join('.'), type: TYPES[type] || `TYPE${type}`, code: type, end: off + 4};
}

function encodeName(name) {
  const parts = name.split('.').filter((l) => l.length > 0).map((l) => {
    const b = Buffer.from(l, 'latin1');
    return Buffer.concat([Buffer.from([b.length]), b]);
  });
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function record(owner, type, data) {
  const head = Buffer.alloc(10);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(1, 2); // IN
  head.writeUInt32BE(TTL, 4);
  head.writeUInt16BE(data.length, 8);
  return Buffer.concat([encodeName(owner), head, data]);
}

/** The answer to one DNS message, or null to drop it; records the query first. */
function answerDns(msg, protocol, server, client) {
  const q = question(msg);
  if (q === null) {
    emit({kind: 'dns', name: null, type: null, protocol, server, client});
    if (msg.length < 12) {
      return null;
    }
    const out = Buffer.alloc(12);
    msg.copy(out, 0, 0, 4);
    out.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7900) | 1, 2); // FORMERR, no question
    return out;
  }
  emit({kind: 'dns', name: q.name, type: q.type, protocol, server, client});
  const flags = msg.readUInt16BE(2);
  const opcode = (flags >> 11) & 0xf;
  const answers = [];
  let rcode = 0;
  if (opcode !== 0) {
    rcode = 4; // NOTIMP
  } else {
    let name = q.name.toLowerCase().replace(/\.$/, '');
    for (let hops = 0; hops < 8; hops++) {
      const entry = zone.get(name);
      if (entry === undefined) {
        rcode = hops === 0 ? 3 : 0; // NXDOMAIN; a dangling CNAME is answered with the CNAME alone
        break;
      }
      if (entry.cname !== undefined) {
        answers.push(record(name, CNAME, encodeName(entry.cname)));
        if (q.code === CNAME) {
          break;
        }
        name = entry.cname;
        continue;
      }
      if (q.code === A || q.code === ANY) {
        for (const a of entry.a) {
          answers.push(record(name, A, Buffer.from(a.split('.').map(Number))));
        }
      }
      break; // other types of a known name: no data
    }
  }
  const head = Buffer.alloc(12);
  msg.copy(head, 0, 0, 2);
  head.writeUInt16BE(0x8000 | (flags & 0x7900) | 0x0400 | rcode, 2); // QR, opcode and RD kept, AA
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  return Buffer.concat([head, msg.subarray(12, q.end), ...answers]);
}

function dnsUdp(address) {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const reply = answerDns(msg, 'udp', address, rinfo.address);
    if (reply !== null) {
      socket.send(reply, rinfo.port, rinfo.address);
    }
  });
  return bindUdp(socket, address, 53);
}

function dnsTcp(address) {
  const server = net.createServer((s) => {
    connection('dns', s);
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const reply = answerDns(msg, 'tcp', address, s.remoteAddress);
        if (reply !== null) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(reply.length);
          s.write(Buffer.concat([len, reply]));
        }
      }
    });
  });
  return listen(server, address, 53);
}

// ---- HTTP and HTTPS ----
const PATTERN = Buffer.alloc(65536);
for (let i = 0; i < PATTERN.length; i++) {
  PATTERN[i] = i & 0xff;
}

/** Bytes from..from+len of the streams' content, whose byte i is i mod 256. */
function content(from, len) {
  if (from % 256 === 0 && len <= PATTERN.length) {
    return PATTERN.subarray(0, len);
  }
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    b[i] = (from + i) & 0xff;
  }
  return b;
}

/** Sends n bytes of content: as fast as the client reads them, or (ms > 0) spread over about ms milliseconds. */
function stream(res, n, ms) {
  res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': n});
  res.flushHeaders();
  let sent = 0;
  if (ms <= 0) {
    const pump = () => {
      while (sent < n && !res.destroyed) {
        const k = Math.min(PATTERN.length, n - sent);
        const ok = res.write(content(sent, k));
        sent += k;
        if (!ok) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
    return;
  }
  const steps = Math.max(1, Math.min(n, Math.ceil(ms / 20)));
  const start = Date.now();
  let step = 0;
  const tick = () => {
    if (res.destroyed) {
      return;
    }
    step++;
    const upTo = Math.floor(n * step / steps);
    if (upTo > sent) {
      res.write(content(sent, upTo - sent));
      sent = upTo;
    }
    if (step >= steps) {
      res.end();
    } else {
      setTimeout(tick, Math.max(0, start + ms * (step + 1) / steps - Date.now()));
    }
  };
  setTimeout(tick, ms / steps);
}

function handler(scheme) {
  return (req, res) => {
    const headers = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i].toLowerCase();
      headers[name] = name in headers ? `${headers[name]}, ${req.rawHeaders[i + 1]}` : req.rawHeaders[i + 1];
    }
    const seen = {
      scheme,
      server: req.socket.localAddress,
      port: req.socket.localPort,
      client: req.socket.remoteAddress,
      host: req.headers.host === undefined ? null : req.headers.host,
      sni: scheme === 'https' && req.socket.servername ? req.socket.servername : null,
      method: req.method,
      path: req.url,
      headers,
    };
    emit({kind: 'http', ...seen});
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url, 'http://path.invalid');
      const bytes = /^\/bytes\/(\d+)$/.exec(url.pathname);
      const slow = /^\/slow\/(\d+)$/.exec(url.pathname);
      if (bytes !== null) {
        stream(res, Number(bytes[1]), 0);
      } else if (slow !== null) {
        stream(res, Number(slow[1]), Number(url.searchParams.get('ms') || 1000));
      } else {
        const body = JSON.stringify(seen);
        res.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)});
        res.end(body);
      }
    });
  };
}

// ---- echo ----
function echoTcp(address) {
  const server = net.createServer((s) => {
    connection('echo', s);
    s.pipe(s);
  });
  return listen(server, address, 7);
}

function echoUdp(address) {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    emit({kind: 'udp', server: address, port: 7, client: rinfo.address, data: msg.toString('base64')});
    socket.send(msg, rinfo.port, rinfo.address);
  });
  return bindUdp(socket, address, 7);
}

// ---- listening ----
function connection(service, s) {
  s.on('error', () => {});
  emit({kind: 'connection', service, server: s.localAddress, port: s.localPort, client: s.remoteAddress});
}

function listen(server, address, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({host: address, port}, () => {
      server.off('error', reject);
      server.on('error', (e) => process.stderr.write(`servers.js: ${address}:${port}: ${e}\n`));
      resolve();
    });
  });
}

function bindUdp(socket, address, port) {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      socket.on('error', (e) => process.stderr.write(`servers.js: udp ${address}:${port}: ${e}\n`));
      resolve();
    });
  });
}

const tls = {cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile)};
const listening = [];
for (const address of ADDRESSES) {
  const plain = http.createServer(handler('http'));
  plain.on('connection', (s) => connection('http', s));
  const secure = https.createServer(tls, handler('https'));
  secure.on('connection', (s) => connection('https', s));
  secure.on('tlsClientError', () => {});
  listening.push(dnsUdp(address), dnsTcp(address), listen(plain, address, 80), listen(secure, address, 443),
      echoTcp(address), echoUdp(address));
}

Promise.all(listening).then(() => emit({kind: 'ready'}), (e) => {
  process.stderr.write(`servers.js: cannot listen: ${e}\n`);
  process.exit(1);
});

const commands = readline.createInterface({input: process.stdin});
commands.on('line', (line) => {
  const [command, ...args] = line.trim().split(/\s+/);
  if (command === 'sync') {
    emit({kind: 'sync', id: args[0]});
  } else if (command === 'dns' && args.length >= 1) {
    const name = args[0].toLowerCase();
    if (args.length === 1) {
      zone.delete(name);
    } else {
      zone.set(name, {a: args.slice(1)});
    }
  } else {
    process.stderr.write(`servers.js: unknown command: ${line}\n`);
  }
});
commands.on('close', () => process.exit(0));
