#!/usr/bin/env node
// An S3-compatible server for pg_scribe's tests: s3rver (objects on disk),
// plus the check of AWS Signature V4 that s3rver 3.7 skips ("V4 signatures
// have incomplete support": it accepts any signature).  Every request must
// be signed with the one key pair given here, in the region given here, as
// real S3 checks it: the canonical request is rebuilt from the request as
// received (the path decoded, then encoded the way S3 encodes a key) and
// signed by the AWS SDK's own signer, and a hex x-amz-content-sha256 must
// be the SHA-256 of the body.  A failure is S3's error document.
//
// Usage: node s3-server.js --port N --directory DIR --bucket NAME
//          --access-key ID --secret-key SECRET [--region us-east-1] [--address 127.0.0.1]
'use strict';

const crypto = require('crypto');
const { Readable } = require('stream');
const fs = require('fs');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const AWSAccount = require('s3rver/lib/models/account');
const S3Error = require('s3rver/lib/models/error');
const { SignatureV4 } = require('@smithy/signature-v4');

// Parse --name value pairs; every option but those with defaults is required
function parseArgs(argv) {
  const options = { region: 'us-east-1', address: '127.0.0.1' };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
      throw new Error(`bad argument ${argv[i]}`);
    }
    options[argv[i].slice(2)] = argv[i + 1];
  }
  for (const required of ['port', 'directory', 'bucket', 'access-key', 'secret-key']) {
    if (!(required in options)) throw new Error(`--${required} is required`);
  }
  return options;
}

// SHA-256 and HMAC-SHA-256 in the shape the signer takes
class Sha256 {
  constructor(secret) {
    this.hash = secret ? crypto.createHmac('sha256', Buffer.from(secret)) : crypto.createHash('sha256');
  }
  update(data) {
    this.hash.update(data);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

// The path as S3 signs it: each segment decoded, then encoded but for A-Z a-z 0-9 - _ . ~
function canonicalPath(rawPath) {
  return rawPath
    .split('/')
    .map(segment =>
      encodeURIComponent(decodeURIComponent(segment)).replace(
        /[!'()*]/g,
        ch => '%' + ch.charCodeAt(0).toString(16).toUpperCase(),
      ),
    )
    .join('/');
}

// "20240102T030405Z" as a Date
function parseAmzDate(value) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value || '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

// An S3 error with the status real S3 gives it
function s3Error(code, message, status) {
  const err = new S3Error(code, message);
  if (status) err.status = status;
  return err;
}

// The middleware that checks every request's signature before s3rver sees it
function verifySigV4(options) {
  return async function verify(ctx, next) {
    const auth = ctx.get('authorization');
    if (!auth) throw s3Error('AccessDenied', 'Access Denied', 403);
    const m = /^AWS4-HMAC-SHA256 Credential=([^/,]+)\/(\d{8})\/([^/,]+)\/([^/,]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw s3Error('AuthorizationHeaderMalformed', 'The authorization header is malformed.', 400);
    const [, accessKey, scopeDate, region, service, signedHeaderList, signature] = m;
    if (accessKey !== options['access-key']) {
      throw s3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403);
    }
    if (region !== options.region || service !== 's3') {
      throw s3Error('AuthorizationHeaderMalformed',
        `The authorization header is malformed; the region '${region}' is wrong; expecting '${options.region}'`, 400);
    }
    const amzDate = ctx.get('x-amz-date');
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate || amzDate.slice(0, 8) !== scopeDate) {
      throw s3Error('AccessDenied', 'AWS authentication requires a valid x-amz-date header matching the credential scope', 403);
    }
    const signedHeaders = signedHeaderList.split(';');
    for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
      if (!signedHeaders.includes(required)) {
        throw s3Error('AccessDenied', `The header ${required} must be signed`, 403);
      }
    }
    const headers = {};
    for (const name of signedHeaders) {
      if (ctx.req.headers[name] === undefined) {
        throw s3Error('AccessDenied', `The signed header ${name} is missing`, 403);
      }
      headers[name] = ctx.req.headers[name];
    }

    const [rawPath, rawQuery = ''] = ctx.req.url.split('?');
    let path;
    try {
      path = canonicalPath(rawPath);
    } catch (e) {
      throw s3Error('InvalidURI', 'Could not parse the specified URI.', 400);
    }
    const query = {};
    for (const [name, value] of new URLSearchParams(rawQuery)) query[name] = value;

    const signer = new SignatureV4({
      credentials: { accessKeyId: accessKey, secretAccessKey: options['secret-key'] },
      region: options.region,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
    const signed = await signer.sign(
      { method: ctx.method, protocol: 'http:', hostname: ctx.hostname, path, query, headers },
      { signingDate },
    );
    const expected = /SignedHeaders=([^,]+), Signature=([0-9a-f]+)/.exec(signed.headers.authorization);
    if (expected[1] !== signedHeaderList || expected[2] !== signature) {
      throw s3Error('SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.', 403);
    }

    // the body must be the one whose hash was signed
    const payloadHash = ctx.get('x-amz-content-sha256');
    if (/^[0-9a-f]{64}$/.test(payloadHash)) {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      if (crypto.createHash('sha256').update(body).digest('hex') !== payloadHash) {
        throw s3Error('XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.", 400);
      }
      // s3rver reads the body from ctx.req
      const replay = Readable.from([body]);
      replay.headers = ctx.req.headers;
      ctx.req = replay;
    } else if (payloadHash !== 'UNSIGNED-PAYLOAD') {
      throw s3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 in hex', 400);
    }
    ctx.state.sigv4Verified = true;
    return next();
  };
}

// s3rver answers a PUT once the body has gone through its MD5, while its
// file may still be being written: a GET right after it (or a look at the
// disk) could find part of the object.  S3 reads its writes; so does this
// server: a PUT is answered once the whole object is in its file.
const putObject = FilesystemStore.prototype.putObject;
FilesystemStore.prototype.putObject = async function putWholeObject(object) {
  const result = await putObject.call(this, object);
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  const giveUp = Date.now() + 60000;
  while ((await fs.promises.stat(objectPath)).size < result.size) {
    if (Date.now() > giveUp) throw new Error(`${objectPath}: not written in a minute`);
    await new Promise(resolve => setTimeout(resolve, 5));
  }
  return result;
};

// Start s3rver with the check in front of its routes
async function main() {
  const options = parseArgs(process.argv.slice(2));
  // s3rver's built-in key pair S3RVER/S3RVER must not work
  AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(options['access-key'], options['secret-key']);
  const server = new S3rver({
    address: options.address,
    port: Number(options.port),
    directory: options.directory,
    configureBuckets: [{ name: options.bucket }],
    vhostBuckets: false,
    allowMismatchedSignatures: false,
  });
  // after the request logger, before everything else s3rver does
  server.middleware.splice(1, 0, verifySigV4(options));
  const { address, port } = await server.run();
  console.log(`s3-server: listening on http://${address}:${port}, bucket ${options.bucket}, ` +
    `region ${options.region}, SigV4 checked`);
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => server.close(() => process.exit(0)));
  }
}

main().catch(err => {
  console.error(`s3-server: ${err.message}`);
  process.exit(1);
});
