// Upload staging on S3, with every bit of state in the bucket so that any node can take the next chunk.
//
// Under <prefix>_uploads/<id>/:
//   started          empty marker written at creation: the upload exists while it does
//   multipart        the S3 UploadId of the multipart upload (created when the first part is full), targeting `data`
//   seg/<offset>     bytes not yet in a part (fewer than partSize in all), one object per chunk, keyed by offset
//   data             the assembled upload once sealed (readUpload/commit completed the multipart upload)
// Parts 1..n (each exactly partSize: S3's 5 MiB minimum and R2's equal-size rule) cover bytes [0, P); segments
// chain from P. A part is cut from the segments plus new bytes, so a segment never straddles a part boundary: a
// segment left behind by a crash after its part was uploaded starts below P and is ignored (then deleted).
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
  type _Object,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { NotFoundError, OffsetMismatchError } from '../driver.js';
import { isNotFound, isPreconditionFailed } from './client.js';

const uploadIdPattern = /^[A-Za-z0-9-]{1,100}$/;
const GiB = 1024 * 1024 * 1024;
/** CopyObject's limit; larger objects are copied part by part. */
const maxSingleCopy = 5 * GiB;

interface Part {
  readonly PartNumber: number;
  readonly ETag: string;
  readonly size: number;
}

interface Segment {
  readonly key: string;
  readonly offset: number;
  readonly size: number;
}

interface UploadState {
  readonly multipartId: string | null;
  readonly parts: Part[];
  readonly segments: Segment[];
  readonly sealed: boolean;
  readonly size: number;
  /** Objects that are no longer part of the upload (segments a part already holds). */
  readonly leftovers: string[];
}

function segmentKey(dir: string, offset: number): string {
  return `${dir}seg/${String(offset).padStart(16, '0')}`;
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body as Readable) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export class S3Staging {
  /** UploadIds never change once created: caching them saves a GET per chunk. */
  private readonly multipartIds = new Map<string, string>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    /** `<prefix>_uploads/` */
    private readonly root: string,
    private readonly partSize: number,
  ) {}

  private dir(id: string): string {
    if (!uploadIdPattern.test(id)) throw new NotFoundError(id);
    return `${this.root}${id}/`;
  }

  private async *objects(prefix: string): AsyncIterable<_Object> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      yield* page.Contents ?? [];
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async getBytes(key: string): Promise<Buffer> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return bodyBytes(out.Body);
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async create(id: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${this.dir(id)}started`, Body: Buffer.alloc(0), ContentLength: 0, IfNoneMatch: '*' }));
  }

  private async multipartId(dir: string, present: boolean): Promise<string | null> {
    const cached = this.multipartIds.get(dir);
    if (cached || !present) return cached ?? null;
    const id = (await this.getBytes(`${dir}multipart`).catch((err: unknown) => (isNotFound(err) ? null : Promise.reject(err))))?.toString();
    if (id) this.multipartIds.set(dir, id);
    return id ?? null;
  }

  private async listParts(dir: string, uploadId: string): Promise<Part[]> {
    const parts: Part[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: `${dir}data`, UploadId: uploadId, PartNumberMarker: marker }));
      for (const p of page.Parts ?? []) parts.push({ PartNumber: p.PartNumber!, ETag: p.ETag!, size: p.Size ?? 0 });
      if (!page.IsTruncated) break;
      marker = page.NextPartNumberMarker;
    }
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    // Parts uploaded after a gap (a failed part with a later one in flight) are not staged bytes.
    const contiguous = parts.findIndex((p, i) => p.PartNumber !== i + 1);
    return contiguous === -1 ? parts : parts.slice(0, contiguous);
  }

  /** Everything one upload has staged, read from the bucket: one LIST, plus a ListParts once parts exist. */
  private async state(id: string): Promise<UploadState | null> {
    const dir = this.dir(id);
    const found = new Map<string, number>();
    for await (const o of this.objects(dir)) found.set(o.Key!.slice(dir.length), o.Size ?? 0);
    if (!found.has('started')) return null;
    if (found.has('data')) return { multipartId: null, parts: [], segments: [], sealed: true, size: found.get('data')!, leftovers: [] };
    const multipartId = await this.multipartId(dir, found.has('multipart'));
    const parts = multipartId ? await this.listParts(dir, multipartId) : [];
    let size = parts.reduce((sum, p) => sum + p.size, 0);
    const segments: Segment[] = [];
    const leftovers: string[] = [];
    const staged = [...found].filter(([name]) => name.startsWith('seg/')).map(([name, bytes]) => ({ key: dir + name, offset: Number(name.slice(4)), size: bytes }));
    for (const seg of staged.sort((a, b) => a.offset - b.offset)) {
      if (seg.offset === size) {
        segments.push(seg);
        size += seg.size;
      } else leftovers.push(seg.key);
    }
    return { multipartId, parts, segments, sealed: false, size, leftovers };
  }

  async size(id: string): Promise<number | null> {
    try {
      return (await this.state(id))?.size ?? null;
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  private async ensureMultipart(dir: string): Promise<string> {
    const known = await this.multipartId(dir, true);
    if (known) return known;
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: `${dir}data` }));
    try {
      // Written only if absent: two nodes racing to start the multipart upload agree on the first one.
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${dir}multipart`, Body: Buffer.from(created.UploadId!), IfNoneMatch: '*' }));
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err;
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: `${dir}data`, UploadId: created.UploadId! }));
      return (await this.multipartId(dir, true))!;
    }
    this.multipartIds.set(dir, created.UploadId!);
    return created.UploadId!;
  }

  private async uploadPart(dir: string, number: number, body: Buffer): Promise<Part> {
    const uploadId = await this.ensureMultipart(dir);
    const out = await this.client.send(
      new UploadPartCommand({ Bucket: this.bucket, Key: `${dir}data`, UploadId: uploadId, PartNumber: number, Body: body, ContentLength: body.length }),
    );
    return { PartNumber: number, ETag: out.ETag!, size: body.length };
  }

  private async putSegment(dir: string, offset: number, body: Buffer): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: segmentKey(dir, offset), Body: body, ContentLength: body.length, IfNoneMatch: '*' }));
    } catch (err) {
      // Another node staged bytes at this offset meanwhile.
      if (isPreconditionFailed(err)) throw new OffsetMismatchError(offset, offset + body.length);
      throw err;
    }
  }

  /**
   * Stages the source after the current bytes: full parts go up as they fill (one in flight while the next fills,
   * so memory stays at about two parts), the remainder becomes a segment. Segments staged earlier are read back
   * once, when the part they start is full: each small chunk's bytes cross the network three times in all.
   */
  async append(id: string, offset: number, source: Readable): Promise<number> {
    const dir = this.dir(id);
    const st = await this.state(id);
    if (!st) throw new NotFoundError(id);
    if (st.sealed) throw new Error(`upload ${id} was sealed for its final read; it takes no more bytes`);
    if (st.size !== offset) throw new OffsetMismatchError(offset, st.size);
    let partNumber = st.parts.length;
    let partsEnd = offset - st.segments.reduce((sum, s) => sum + s.size, 0);
    let pending = st.segments;
    let pendingSize = offset - partsEnd;
    let buffered: Buffer[] = [];
    let bufferedSize = 0;
    let inflight: Promise<unknown> = Promise.resolve();
    const consumed: string[] = [...st.leftovers];

    const cutPart = async (): Promise<void> => {
      const head = pending.length > 0 ? await Promise.all(pending.map((s) => this.getBytes(s.key))) : [];
      const all = Buffer.concat([...head, ...buffered]);
      const body = all.subarray(0, this.partSize);
      const rest = all.subarray(this.partSize);
      consumed.push(...pending.map((s) => s.key));
      pending = [];
      pendingSize = 0;
      buffered = rest.length > 0 ? [rest] : [];
      bufferedSize = rest.length;
      await inflight;
      inflight = this.uploadPart(dir, ++partNumber, body);
      inflight.catch(() => undefined);
      partsEnd += body.length;
    };

    try {
      for await (const chunk of source) {
        buffered.push(chunk as Buffer);
        bufferedSize += (chunk as Buffer).length;
        while (pendingSize + bufferedSize >= this.partSize) await cutPart();
      }
    } catch (err) {
      // Keep what the client did deliver, so it can resume from there (best effort: S3 may be what failed).
      await inflight.then(
        () => (bufferedSize > 0 ? this.putSegment(dir, partsEnd + pendingSize, Buffer.concat(buffered)) : undefined),
        () => undefined,
      ).catch(() => undefined);
      throw err;
    }
    await inflight;
    if (bufferedSize > 0) await this.putSegment(dir, partsEnd + pendingSize, Buffer.concat(buffered));
    await this.deleteKeys(consumed).catch(() => undefined);
    return partsEnd + pendingSize + bufferedSize;
  }

  /** Completes the multipart upload into `data`, the segments as its last part; the upload takes no more bytes. */
  private async seal(dir: string, st: UploadState): Promise<void> {
    if (st.sealed) return;
    const tail = Buffer.concat(await Promise.all(st.segments.map((s) => this.getBytes(s.key))));
    if (st.multipartId && st.parts.length > 0) {
      const parts = tail.length > 0 ? [...st.parts, await this.uploadPart(dir, st.parts.length + 1, tail)] : st.parts;
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: `${dir}data`,
          UploadId: st.multipartId,
          MultipartUpload: { Parts: parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
        }),
      );
    } else {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${dir}data`, Body: tail, ContentLength: tail.length }));
    }
    this.multipartIds.delete(dir);
    await this.deleteKeys([`${dir}multipart`, ...st.segments.map((s) => s.key), ...st.leftovers]).catch(() => undefined);
  }

  /** Small uploads (no part yet) are read from their segments; larger ones are sealed first (S3 cannot read parts). */
  async read(id: string): Promise<Readable> {
    const dir = this.dir(id);
    const st = await this.state(id);
    if (!st) throw new NotFoundError(id);
    if (!st.sealed && st.parts.length === 0) {
      const keys = st.segments.map((s) => s.key);
      const get = (key: string): Promise<Readable> => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })).then((o) => o.Body as Readable);
      return Readable.from(
        (async function* () {
          for (const key of keys) yield* await get(key);
        })(),
      );
    }
    await this.seal(dir, st);
    return (await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${dir}data` }))).Body as Readable;
  }

  /** Moves the staged bytes to `target` (a full key), atomically for readers, then removes the upload. */
  async commit(id: string, target: string, targetExists: () => Promise<boolean>): Promise<void> {
    const dir = this.dir(id);
    const st = await this.state(id);
    if (!st) throw new NotFoundError(id);
    if (!(await targetExists())) {
      if (st.sealed || st.parts.length > 0) {
        await this.seal(dir, st);
        await this.copy(`${dir}data`, target, st.size);
      } else if (st.segments.length === 1) {
        await this.copy(st.segments[0]!.key, target, st.size);
      } else {
        const body = Buffer.concat(await Promise.all(st.segments.map((s) => this.getBytes(s.key))));
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: target, Body: body, ContentLength: body.length }));
      }
    }
    await this.abort(id);
  }

  private async copy(from: string, to: string, size: number): Promise<void> {
    const source = `${this.bucket}/${encodeURI(from)}`;
    if (size <= maxSingleCopy) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
      return;
    }
    const step = this.partSize * Math.ceil(GiB / this.partSize);
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }));
    try {
      const parts: { PartNumber: number; ETag: string }[] = [];
      for (let start = 0, n = 1; start < size; start += step, n++) {
        const range = `bytes=${start}-${Math.min(start + step, size) - 1}`;
        const out = await this.client.send(
          new UploadPartCopyCommand({ Bucket: this.bucket, Key: to, UploadId: created.UploadId!, PartNumber: n, CopySource: source, CopySourceRange: range }),
        );
        parts.push({ PartNumber: n, ETag: out.CopyPartResult!.ETag! });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId: created.UploadId!, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId: created.UploadId! })).catch(() => undefined);
      throw err;
    }
  }

  /** Removes every object and multipart upload of the upload; `started` goes first, so it reads as gone at once. */
  async abort(id: string): Promise<void> {
    let dir: string;
    try {
      dir = this.dir(id);
    } catch {
      return;
    }
    const keys: string[] = [];
    for await (const o of this.objects(dir)) keys.push(o.Key!);
    keys.sort((a, b) => Number(b.endsWith('/started')) - Number(a.endsWith('/started')));
    await this.deleteKeys(keys);
    for await (const upload of this.multipartUploads(dir)) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.key, UploadId: upload.uploadId }))
        .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
    }
    this.multipartIds.delete(dir);
  }

  private async *multipartUploads(prefix: string): AsyncIterable<{ key: string; uploadId: string; initiated: number }> {
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: idMarker }),
      );
      for (const u of page.Uploads ?? []) yield { key: u.Key!, uploadId: u.UploadId!, initiated: u.Initiated?.getTime() ?? 0 };
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      idMarker = page.NextUploadIdMarker;
    }
  }

  /** Every upload with anything in the bucket, including multipart uploads a crash left without their objects. */
  async *list(): AsyncIterable<{ id: string; modifiedAt: number }> {
    const latest = new Map<string, number>();
    const note = (key: string, time: number): void => {
      const id = key.slice(this.root.length).split('/')[0]!;
      latest.set(id, Math.max(latest.get(id) ?? 0, time));
    };
    for await (const o of this.objects(this.root)) note(o.Key!, o.LastModified?.getTime() ?? 0);
    for await (const u of this.multipartUploads(this.root)) note(u.key, u.initiated);
    for (const [id, modifiedAt] of latest) yield { id, modifiedAt };
  }
}
