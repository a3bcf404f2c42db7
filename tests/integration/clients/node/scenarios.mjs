// Scenarios of the AWS SDK for JavaScript v3 (@aws-sdk/client-s3, lib-storage, s3-request-presigner
// from npm, pinned by package-lock.json) against a mamute S3 endpoint, with the SDK's default
// settings: since 2025 these send a CRC32 checksum on every PutObject/UploadPart (a header for
// string/Buffer bodies, an aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER body with an
// x-amz-checksum-crc32 trailer for streams) and validate response checksums on GetObject.
//
// Run by tests/integration/test_clients_node.py, one process for the whole module:
//   node scenarios.mjs '{"endpoint": "...", "bucket": "...", "ak": "...", "sk": "...", "foreign": "..."}'
// prints one JSON line per scenario: {"name", "ok", "error", "info"}.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";

import {
  S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command,
  DeleteObjectCommand, DeleteObjectsCommand, CopyObjectCommand, HeadBucketCommand, CreateBucketCommand,
  ListBucketsCommand, GetBucketLocationCommand, paginateListObjectsV2, NoSuchKey, NotFound,
  BucketAlreadyOwnedByYou,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const cfg = JSON.parse(process.argv[2]);
const B = cfg.bucket;
const MiB = 1024 * 1024;

// Every request the SDK puts on the wire, as (command, headers), so the scenarios can prove what
// the SDK actually sent (aws-chunked trailer, checksum mode) rather than assume it.
let sent = [];
function recorder(client) {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: context.commandName, headers: { ...args.request.headers } });
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "mamuteRecorder" },
  );
  return client;
}

function makeClient(extra = {}) {
  return recorder(new S3Client({
    endpoint: cfg.endpoint, region: "us-east-1", forcePathStyle: true, maxAttempts: 1,
    credentials: { accessKeyId: cfg.ak, secretAccessKey: cfg.sk }, ...extra,
  }));
}

const s3 = makeClient();
const md5 = (b) => createHash("md5").update(b).digest();
const quotedMd5 = (b) => `"${md5(b).toString("hex")}"`;

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function getBytes(key, extra = {}, client = s3) {
  const out = await client.send(new GetObjectCommand({ Bucket: B, Key: key, ...extra }));
  return [Buffer.from(await out.Body.transformToByteArray()), out];
}

function lastSent(command) {
  const all = sent.filter((r) => r.command === command);
  return all[all.length - 1]?.headers ?? {};
}

// A stream in pieces of `piece` bytes, so the aws-chunked body has several chunks.
function streamOf(buf, piece = 64 * 1024) {
  const parts = [];
  for (let i = 0; i < buf.length; i += piece) parts.push(buf.subarray(i, i + piece));
  return Readable.from(parts);
}

async function expectError(promise, check_) {
  try {
    await promise;
  } catch (e) {
    check_(e);
    return e;
  }
  throw new Error("the call succeeded; an error was expected");
}

const scenarios = {
  async put_string(info) {
    const body = "a string body from the JS SDK v3 ✓";
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: "js/string.txt", Body: body,
      ContentType: "text/plain; charset=utf-8", Metadata: { origin: "node" } }));
    const h = lastSent("PutObjectCommand");
    check(h["x-amz-checksum-crc32"] === crc32(Buffer.from(body)), `sent headers ${JSON.stringify(h)}`);
    check(put.ETag === quotedMd5(Buffer.from(body)), `ETag ${put.ETag}`);
    check(put.ChecksumCRC32 === h["x-amz-checksum-crc32"], `PUT answered CRC32 ${put.ChecksumCRC32}`);
    const [got, out] = await getBytes("js/string.txt");
    check(got.toString() === body, "body differs");
    check(out.ContentType === "text/plain; charset=utf-8" && out.Metadata.origin === "node",
      `GET headers ${out.ContentType} ${JSON.stringify(out.Metadata)}`);
    info.checksum_header = h["x-amz-checksum-crc32"];
  },

  async put_buffer(info) {
    const body = randomBytes(200 * 1024 + 3);
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: "js/buffer.bin", Body: body }));
    check(put.ETag === quotedMd5(body), `ETag ${put.ETag}`);
    const [got, out] = await getBytes("js/buffer.bin");
    check(got.equals(body), "body differs");
    // The default responseChecksumValidation asks for the checksum and validates the body.
    check(lastSent("GetObjectCommand")["x-amz-checksum-mode"] === "ENABLED", "no x-amz-checksum-mode sent");
    check(out.ChecksumCRC32 === crc32(body), `GET CRC32 ${out.ChecksumCRC32}`);
    info.type = out.ChecksumType;
  },

  async put_stream_unsigned_trailer(info) {
    const body = randomBytes(1 * MiB + 12345);
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: "js/stream.bin", Body: streamOf(body),
      ContentLength: body.length }));
    const h = lastSent("PutObjectCommand");
    check(h["x-amz-content-sha256"] === "STREAMING-UNSIGNED-PAYLOAD-TRAILER", `sha256 ${h["x-amz-content-sha256"]}`);
    check(h["x-amz-trailer"] === "x-amz-checksum-crc32" && /aws-chunked/.test(h["content-encoding"]),
      `headers ${JSON.stringify(h)}`);
    check(h["transfer-encoding"] === "chunked" && h["content-length"] === undefined, "not chunked transfer");
    check(put.ETag === quotedMd5(body), `ETag ${put.ETag}`);
    check(put.ChecksumCRC32 === crc32(body), `PUT CRC32 ${put.ChecksumCRC32}`);
    const [got, out] = await getBytes("js/stream.bin");
    check(got.equals(body), "body differs (framing stored?)");
    check(out.ContentLength === body.length && out.ChecksumCRC32 === crc32(body), "GET length/checksum");
    info.headers = Object.keys(h).sort().join(",");
  },

  async put_file_stream(info) {
    const dir = mkdtempSync(join(tmpdir(), "mamute-node-"));
    try {
      const body = randomBytes(3 * MiB + 7);
      const file = join(dir, "f.bin");
      writeFileSync(file, body);
      // A file stream: the SDK finds its length itself.
      const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: "js/file.bin", Body: createReadStream(file) }));
      check(lastSent("PutObjectCommand")["x-amz-content-sha256"] === "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "not a trailer");
      check(put.ETag === quotedMd5(body), `ETag ${put.ETag}`);
      const [got] = await getBytes("js/file.bin");
      check(got.equals(body), "body differs");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },

  async checksum_algorithms(info) {
    const body = randomBytes(300 * 1024);
    for (const alg of ["CRC32C", "CRC64NVME", "SHA1", "SHA256"]) {
      for (const [how, make] of [["buffer", () => body], ["stream", () => streamOf(body)]]) {
        const key = `js/sum/${alg}/${how}`;
        const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: make(), ContentLength: body.length,
          ChecksumAlgorithm: alg }));
        const h = lastSent("PutObjectCommand");
        const name = `x-amz-checksum-${alg.toLowerCase()}`;
        check(how === "buffer" ? h[name] !== undefined : h["x-amz-trailer"] === name, `${key}: sent ${JSON.stringify(h)}`);
        const [got, out] = await getBytes(key, { ChecksumMode: "ENABLED" });
        check(got.equals(body), `${key}: body differs`);
        check(out[`Checksum${alg}`] && out[`Checksum${alg}`] === put[`Checksum${alg}`],
          `${key}: PUT answered ${put[`Checksum${alg}`]}, GET returned ${out[`Checksum${alg}`]}`);
        info[key] = out[`Checksum${alg}`];
      }
    }
  },

  async corrupted_trailer_refused(info) {
    // A real SDK request whose trailer value is altered on the wire (after the SDK computed it):
    // the server must answer BadDigest and store nothing.
    const body = randomBytes(256 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "js/corrupt", Body: "the original" }));
    const bad = makeClient();
    bad.middlewareStack.add(
      (next) => async (args) => {
        const orig = args.request.body;
        let tail = "";
        const rewrite = new Transform({
          transform(chunk, _enc, cb) {
            // The trailer is the last few bytes; hold back enough to rewrite it whole.
            const s = tail + chunk.toString("latin1");
            tail = s.slice(-128);
            cb(null, Buffer.from(s.slice(0, -128), "latin1"));
          },
          flush(cb) {
            const fixed = tail.replace(/x-amz-checksum-crc32:([A-Za-z0-9+/]{6})==/,
              (_m, v) => `x-amz-checksum-crc32:${v === "AAAAAA" ? "AAAAAB" : "AAAAAA"}==`);
            info.rewritten = String(fixed !== tail);
            cb(null, Buffer.from(fixed, "latin1"));
          },
        });
        args.request.body = orig.pipe(rewrite);
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "corruptTrailer" },
    );
    await expectError(bad.send(new PutObjectCommand({ Bucket: B, Key: "js/corrupt", Body: streamOf(body),
      ContentLength: body.length })), (e) => check(e.name === "BadDigest", `error ${e.name}: ${e.message}`));
    check(info.rewritten === "true", "the trailer was not found on the wire");
    const [got] = await getBytes("js/corrupt");
    check(got.toString() === "the original", "the refused PUT replaced the object");
  },

  async head_object(info) {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "js/head", Body: "0123456789", CacheControl: "no-cache",
      ContentDisposition: "attachment; filename=x", Metadata: { "two-words": "v" } }));
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "js/head" }));
    check(h.ContentLength === 10 && h.ETag === quotedMd5(Buffer.from("0123456789")), `head ${h.ContentLength} ${h.ETag}`);
    check(h.CacheControl === "no-cache" && h.ContentDisposition === "attachment; filename=x", "content headers");
    check(h.Metadata["two-words"] === "v", `metadata ${JSON.stringify(h.Metadata)}`);
    check(h.LastModified instanceof Date && Math.abs(Date.now() - h.LastModified) < 3600e3, `LastModified ${h.LastModified}`);
    await expectError(s3.send(new HeadObjectCommand({ Bucket: B, Key: "js/nope" })),
      (e) => check(e instanceof NotFound || e.$metadata?.httpStatusCode === 404, `head missing: ${e.name}`));
  },

  async list_v2_pagination(info) {
    const want = [];
    for (let i = 0; i < 11; i++) {
      const k = `js/list/${String(i).padStart(2, "0")}`;
      want.push(k);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: k, Body: k }));
    }
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "js/list/dir/a", Body: "a" }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "js/list/key with space+plus", Body: "s" }));
    want.push("js/list/key with space+plus");
    const got = [], prefixes = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: 4 },
      { Bucket: B, Prefix: "js/list/", Delimiter: "/" })) {
      pages++;
      for (const o of page.Contents ?? []) got.push(o.Key);
      for (const p of page.CommonPrefixes ?? []) prefixes.push(p.Prefix);
    }
    check(JSON.stringify(got) === JSON.stringify(want), `keys ${JSON.stringify(got)}`);
    check(JSON.stringify(prefixes) === '["js/list/dir/"]', `prefixes ${JSON.stringify(prefixes)}`);
    check(pages >= 3, `${pages} pages`);
    const sa = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "js/list/", StartAfter: "js/list/09" }));
    check(sa.Contents.map((o) => o.Key).join() === "js/list/10,js/list/dir/a,js/list/key with space+plus",
      `start-after ${sa.Contents.map((o) => o.Key)}`);
    info.pages = pages;
  },

  async delete_objects(info) {
    const keys = [];
    for (let i = 0; i < 6; i++) {
      keys.push(`js/del/${i}`);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: `js/del/${i}`, Body: `${i}` }));
    }
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "js/del/0" }));
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: B,
      Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    const h = lastSent("DeleteObjectsCommand");
    info.integrity = Object.keys(h).filter((k) => /checksum|content-md5/.test(k)).join(",");
    check((out.Deleted ?? []).length === 6 && !(out.Errors ?? []).length, `deleted ${JSON.stringify(out)}`);
    const l = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: "js/del/" }));
    check(l.KeyCount === 0, `${l.KeyCount} keys left`);
  },

  async copy_object(info) {
    const body = randomBytes(70000);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "js/src", Body: body, Metadata: { a: "1" } }));
    const out = await s3.send(new CopyObjectCommand({ Bucket: B, Key: "js/dst", CopySource: `${B}/js/src` }));
    check(out.CopyObjectResult.ETag === quotedMd5(body), `copy ETag ${out.CopyObjectResult.ETag}`);
    const [got, g] = await getBytes("js/dst");
    check(got.equals(body) && g.Metadata.a === "1", "copy differs");
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: "js/dst", CopySource: `${B}/js/src`,
      MetadataDirective: "REPLACE", Metadata: { b: "2" }, ContentType: "application/x-replaced" }));
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "js/dst" }));
    check(h.Metadata.b === "2" && !h.Metadata.a && h.ContentType === "application/x-replaced", "REPLACE");
  },

  async multipart_lib_storage(info) {
    const body = randomBytes(12 * MiB + 999);
    const up = new Upload({ client: s3, params: { Bucket: B, Key: "js/mpu.bin", Body: body, ContentType: "application/x-mpu" },
      partSize: 5 * MiB, queueSize: 2 });
    const res = await up.done();
    const parts = [0, 5 * MiB, 10 * MiB].map((o) => md5(body.subarray(o, o + 5 * MiB)));
    const want = `"${md5(Buffer.concat(parts)).toString("hex")}-3"`;
    check(res.ETag === want, `ETag ${res.ETag}, want ${want}`);
    const up1 = lastSent("UploadPartCommand");
    info.upload_part_checksum = Object.keys(up1).filter((k) => k.startsWith("x-amz-checksum")).join(",");
    info.create_algorithm = lastSent("CreateMultipartUploadCommand")["x-amz-checksum-algorithm"] ?? "";
    const [got, out] = await getBytes("js/mpu.bin");
    check(got.equals(body), "body differs");
    check(out.ContentType === "application/x-mpu", `type ${out.ContentType}`);
    info.get_checksum_type = out.ChecksumType ?? "";
    // A stream body of unknown length goes through the same multipart path.
    const up2 = new Upload({ client: s3, params: { Bucket: B, Key: "js/mpu-stream.bin", Body: streamOf(body, 1 * MiB) },
      partSize: 5 * MiB, queueSize: 2 });
    const res2 = await up2.done();
    check(res2.ETag === want, `stream ETag ${res2.ETag}`);
    const [got2] = await getBytes("js/mpu-stream.bin");
    check(got2.equals(body), "stream body differs");
    // A small body: lib-storage sends one PutObject.
    const small = await new Upload({ client: s3, params: { Bucket: B, Key: "js/small", Body: Buffer.from("tiny") } }).done();
    check(small.ETag === quotedMd5(Buffer.from("tiny")), `small ETag ${small.ETag}`);
  },

  async presigned_get_put(info) {
    // Presigned GET with the default client.
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "js/pre-get", Body: "presigned body" }));
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: "js/pre-get" }), { expiresIn: 300 });
    let r = await fetch(getUrl);
    check(r.status === 200 && (await r.text()) === "presigned body", `presigned GET ${r.status}`);
    // Presigned PUT. The default client may bake x-amz-checksum-crc32 of an *empty* body into
    // the URL (JS v3 >= 3.729); AWS then refuses the upload of any other body, and so do we.
    // The documented client fix is requestChecksumCalculation: "WHEN_REQUIRED".
    const payload = "uploaded through a presigned URL";
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: B, Key: "js/pre-put" }), { expiresIn: 300 });
    info.default_url_has_checksum = String(/x-amz-checksum-crc32=/.test(putUrl));
    r = await fetch(putUrl, { method: "PUT", body: payload });
    if (info.default_url_has_checksum === "true") {
      const text = await r.text();
      check(r.status === 400 && text.includes("<Code>BadDigest</Code>"), `default presigned PUT: ${r.status} ${text}`);
    } else {
      check(r.status === 200, `default presigned PUT: ${r.status}`);
    }
    const plain = makeClient({ requestChecksumCalculation: "WHEN_REQUIRED" });
    const putUrl2 = await getSignedUrl(plain, new PutObjectCommand({ Bucket: B, Key: "js/pre-put" }), { expiresIn: 300 });
    r = await fetch(putUrl2, { method: "PUT", body: payload });
    check(r.status === 200, `WHEN_REQUIRED presigned PUT: ${r.status} ${await r.text()}`);
    const [got] = await getBytes("js/pre-put");
    check(got.toString() === payload, "presigned PUT content");
  },

  async bucket_probes(info) {
    await s3.send(new HeadBucketCommand({ Bucket: B }));
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: B }));
    check(!loc.LocationConstraint, `location ${loc.LocationConstraint}`);
    const lb = await s3.send(new ListBucketsCommand({}));
    check(lb.Buckets.length === 1 && lb.Buckets[0].Name === B, `buckets ${JSON.stringify(lb.Buckets)}`);
    await expectError(s3.send(new CreateBucketCommand({ Bucket: B })),
      (e) => check(e instanceof BucketAlreadyOwnedByYou, `CreateBucket: ${e.name}`));
  },

  async errors(info) {
    await expectError(s3.send(new GetObjectCommand({ Bucket: B, Key: "js/missing" })),
      (e) => check(e instanceof NoSuchKey && e.$metadata.httpStatusCode === 404, `missing: ${e.name}`));
    await expectError(s3.send(new PutObjectCommand({ Bucket: cfg.foreign, Key: "x", Body: "x" })),
      (e) => check(e.name === "AccessDenied", `foreign PUT: ${e.name}`));
    await expectError(s3.send(new GetObjectCommand({ Bucket: cfg.foreign, Key: "x" })),
      (e) => check(e.name === "AccessDenied", `foreign GET: ${e.name}`));
    await expectError(s3.send(new CopyObjectCommand({ Bucket: B, Key: "js/stolen", CopySource: `${cfg.foreign}/x` })),
      (e) => check(e.name === "AccessDenied", `foreign copy: ${e.name}`));
    const wrong = makeClient({ credentials: { accessKeyId: cfg.ak, secretAccessKey: "wrong" + cfg.sk.slice(5) } });
    await expectError(wrong.send(new PutObjectCommand({ Bucket: B, Key: "js/wrong", Body: "x" })),
      (e) => check(e.name === "SignatureDoesNotMatch", `wrong secret: ${e.name}`));
  },
};

const only = cfg.only ? new Set(cfg.only) : null;
let failed = 0;
for (const [name, fn] of Object.entries(scenarios)) {
  if (only && !only.has(name)) continue;
  const info = {};
  const result = { name, ok: true, info };
  try {
    await fn(info);
  } catch (e) {
    failed++;
    result.ok = false;
    result.error = `${e.name}: ${e.message}`;
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}
process.exitCode = failed ? 1 : 0;
