#!/usr/bin/env node
// server.js - ferry's real SOAP peer for tests and benchmarks.
//
// A claims service generated from claims.wsdl by the node `soap` package
// (soap.listen): SOAP 1.1 at /claims, SOAP 1.2 at /claims12.  Behaviour is
// chosen by the claim's Reference so tests need no control channel:
//   good data                 -> SubmitClaimResponse/Receipt = "RCPT-<ref>",
//                                Status = "ACCEPTED"
//   Amount <= 0, ref "BAD*"   -> Client (1.1) / Sender (1.2) fault
//   ref "SRV*"                -> Server / Receiver fault "database unavailable"
//   ref "BUSY*"               -> Client fault "system busy, try again later"
//                                (a legacy service misusing Client: the
//                                mapping's fault override makes it RETRY)
//   ref "DUP*"                -> Server fault "duplicate reference" (override
//                                to FAIL)
//   ref "SLOW*"               -> sleeps --slow-ms (default 3000) then answers
//   any other ref             -> answers at once, or after --delay-ms
//                                (default 0) when given: a back end of a
//                                fixed service time, for the delivery
//                                benches
//   ref "H503*"               -> HTTP 503 with an HTML body (no SOAP fault)
//   ref "XXE*"                -> a response with a DOCTYPE and an external
//                                entity naming --xxe-file (must be refused)
//   any path /locked*         -> HTTP 401 (credentials refused, no fault)
//   Name "Det*" (SOAP 1.1)    -> Client fault "claimant not matched" with a
//                                detail: ErrorCode E042, Field Name, and
//                                Given echoing the Name (personal data a
//                                caller must not store)
// ClaimStatus(Reference) answers Status FOUND + Receipt for references that
// got a receipt, NOTFOUND otherwise (ferry's probe for in-doubt records).
// Every SubmitClaim is logged (reference per line) to --log FILE before any
// behaviour, so a test can count duplicates.  --idem-log FILE logs, per
// SubmitClaim, "Reference<TAB>X-Idempotency-Key header<TAB>RequestId
// element" ("-" where absent), to check what a caller used as its key.
//
// Usage: node server.js PORT [--log FILE] [--idem-log FILE] [--slow-ms N] [--delay-ms N] [--user U --password P]
//                            [--tls-cert F --tls-key F [--client-ca F]]
//                            [--xxe-file F]
// PORT 0 picks a free port; the chosen port is printed on stdout as one line.
// Listens on 127.0.0.1 only.
'use strict';
const fs = require('fs');
const path = require('path');
const http = require('http');
const https = require('https');
const crypto = require('crypto');
const soap = require('soap');

function parseArgs(argv) {
  const o = { port: 0, log: null, idemLog: null, slowMs: 3000, delayMs: 0, user: null, password: null,
              cert: null, key: null, clientCa: null, xxeFile: '/etc/hostname' };
  if (argv.length > 0) o.port = parseInt(argv[0], 10);
  for (let i = 1; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error('missing value for ' + k);
    switch (k) {
      case '--log': o.log = v; break;
      case '--idem-log': o.idemLog = v; break;
      case '--slow-ms': o.slowMs = parseInt(v, 10); break;
      case '--delay-ms': o.delayMs = parseInt(v, 10); break;
      case '--user': o.user = v; break;
      case '--password': o.password = v; break;
      case '--tls-cert': o.cert = v; break;
      case '--tls-key': o.key = v; break;
      case '--client-ca': o.clientCa = v; break;
      case '--xxe-file': o.xxeFile = v; break;
      default: throw new Error('unknown option ' + k);
    }
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
    throw new Error('bad port');
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const wsdlXml = fs.readFileSync(path.join(__dirname, 'claims.wsdl'), 'utf8');
const receipts = new Map();
let logFd = null;
if (opt.log) logFd = fs.openSync(opt.log, 'a');
const idemFd = opt.idemLog ? fs.openSync(opt.idemLog, 'a') : null;

function text(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object' && '$value' in v) return String(v.$value);
  return String(v);
}

function fault(v12, sender, msg, code11) {
  if (v12) {
    return { Fault: {
      Code: { Value: sender ? 'soap:Sender' : 'soap:Receiver' },
      Reason: { Text: msg },
      statusCode: sender ? 400 : 500 } };
  }
  return { Fault: { faultcode: code11 || (sender ? 'soap:Client' : 'soap:Server'),
                    faultstring: msg, statusCode: 500 } };
}

function rawReply(res, status, ctype, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', ctype);
  res.end(body);
}

function submitClaim(v12) {
  return function (args, cb, headers, req, res) {
    const ref = text(args.Reference);
    if (logFd !== null) fs.writeSync(logFd, ref + '\n');
    if (idemFd !== null)
      fs.writeSync(idemFd, ref + '\t' + (req.headers['x-idempotency-key'] || '-') +
                   '\t' + (text(args.RequestId) || '-') + '\n');
    const amount = text(args.Amount);
    const name = text(args.Name);
    if (!v12 && name.startsWith('Det'))
      throw { Fault: { faultcode: 'soap:Client', faultstring: 'claimant not matched',
                       detail: { ErrorCode: 'E042', Field: 'Name', Given: name },
                       statusCode: 500 } };
    if (ref.startsWith('BAD'))
      throw fault(v12, true, 'reference ' + ref + ' rejected: unknown claimant');
    if (!/^-?[0-9]+(\.[0-9]+)?$/.test(amount) || !(/[1-9]/.test(amount)) ||
        amount.startsWith('-'))
      throw fault(v12, true, 'Amount must be greater than zero (got "' + amount + '")');
    if (ref.startsWith('SRV'))
      throw fault(v12, false, 'database unavailable');
    if (ref.startsWith('BUSY'))
      throw fault(v12, true, 'system busy, try again later');
    if (ref.startsWith('DUP'))
      throw fault(v12, false, 'duplicate reference ' + ref);
    if (ref.startsWith('H503')) {
      rawReply(res, 503, 'text/html', '<html><body>Service Unavailable</body></html>');
      return new Promise(() => {});   // never answered through soap
    }
    if (ref.startsWith('XXE')) {
      const env = v12 ? 'http://www.w3.org/2003/05/soap-envelope'
                      : 'http://schemas.xmlsoap.org/soap/envelope/';
      rawReply(res, 200, v12 ? 'application/soap+xml' : 'text/xml',
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://' +
        opt.xxeFile + '">]>\n<soap:Envelope xmlns:soap="' + env + '">' +
        '<soap:Body><SubmitClaimResponse xmlns="urn:ferry:test:claims">' +
        '<Receipt>&xxe;</Receipt></SubmitClaimResponse></soap:Body></soap:Envelope>');
      return new Promise(() => {});
    }
    const answer = () => {
      const receipt = 'RCPT-' + ref;
      receipts.set(ref, receipt);
      return { Receipt: receipt, Status: 'ACCEPTED' };
    };
    if (ref.startsWith('SLOW'))
      return new Promise((resolve) => setTimeout(() => resolve(answer()), opt.slowMs));
    if (opt.delayMs > 0)
      return new Promise((resolve) => setTimeout(() => resolve(answer()), opt.delayMs));
    return answer();
  };
}

function claimStatus(args) {
  const ref = text(args.Reference);
  const r = receipts.get(ref);
  return r ? { Status: 'FOUND', Receipt: r } : { Status: 'NOTFOUND' };
}

// authenticate - WS-Security UsernameToken, PasswordText or PasswordDigest
function authenticate(security, done, req) {
  if (!opt.user) return true;
  const v12 = new URL(req.url, 'http://127.0.0.1').pathname.startsWith('/claims12');
  const deny = (why) => { throw fault(v12, true, 'authentication failed: ' + why); };
  const tok = security && security.UsernameToken;
  if (!tok) deny('no UsernameToken');
  if (text(tok.Username) !== opt.user) deny('unknown user');
  const pw = tok.Password;
  const type = (pw && pw.attributes && pw.attributes.Type) || '';
  const given = text(pw);
  if (type.endsWith('#PasswordDigest')) {
    const nonce = Buffer.from(text(tok.Nonce), 'base64');
    const created = text(tok.Created);
    const want = crypto.createHash('sha1')
      .update(Buffer.concat([nonce, Buffer.from(created + opt.password, 'utf8')]))
      .digest('base64');
    if (want !== given) deny('bad digest');
  } else if (given !== opt.password) {
    deny('bad password');
  }
  return true;
}

// notFound - every other path; /locked* answers 401 as a gateway that
// refuses the caller's HTTP credentials would (no SOAP fault)
function notFound(req, res) {
  if (req.url.startsWith('/locked')) {
    res.setHeader('WWW-Authenticate', 'Basic realm="claims"');
    rawReply(res, 401, 'text/plain', 'unauthorized\n');
    return;
  }
  rawReply(res, 404, 'text/plain', 'not found\n');
}

const server = opt.cert
  ? https.createServer({
      cert: fs.readFileSync(opt.cert), key: fs.readFileSync(opt.key),
      ca: opt.clientCa ? fs.readFileSync(opt.clientCa) : undefined,
      requestCert: !!opt.clientCa, rejectUnauthorized: !!opt.clientCa,
    }, notFound)
  : http.createServer(notFound);
server.keepAliveTimeout = 30000;

const services = {
  ClaimsService: {
    ClaimsPort: { SubmitClaim: submitClaim(false), ClaimStatus: claimStatus },
    ClaimsPort12: { SubmitClaim: submitClaim(true), ClaimStatus: claimStatus },
  },
};

server.listen(opt.port, '127.0.0.1', () => {
  const s11 = soap.listen(server, { path: '/claims', services, xml: wsdlXml,
                                    suppressStack: true });
  const s12 = soap.listen(server, { path: '/claims12', services, xml: wsdlXml,
                                    forceSoap12Headers: true, suppressStack: true });
  s11.authenticate = authenticate;
  s12.authenticate = authenticate;
  process.stdout.write(server.address().port + '\n');
});

function stop() { server.close(); if (logFd !== null) fs.closeSync(logFd); process.exit(0); }
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
