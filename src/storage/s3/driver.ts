import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { destinationClosed, NotFoundError, type BlobDriver, type ByteRange, type StoredObject } from '../driver.js';
import { createS3Client, isNotFound } from './client.js';
import type { S3Config } from './config.js';
import { S3Staging } from './staging.js';

/** How long a redirect's presigned URL is valid: S3 checks it when the download starts, not while it runs. */
const presignedTtlSeconds = 15 * 60;

/**
 * Blobs as objects in an S3-compatible bucket. Everything, upload staging included (see staging.ts), lives in the
 * bucket, so several Wharf nodes can share it. Commits are CopyObject/PutObject/CompleteMultipartUpload, which S3
 * makes visible atomically.
 */
export class S3Driver implements BlobDriver {
  readonly name = 's3';
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly staging: S3Staging;

  constructor(
    private readonly config: S3Config,
    private readonly client: S3Client = createS3Client(config),
  ) {
    if (!config.bucket) throw new Error('storage.s3.bucket is required');
    this.bucket = config.bucket;
    this.prefix = config.prefix === '' || config.prefix.endsWith('/') ? config.prefix : `${config.prefix}/`;
    this.staging = new S3Staging(client, this.bucket, `${this.prefix}_uploads/`, config.partSize);
  }

  private key(key: string): string {
    if (key.includes('..') || key.startsWith('/')) throw new Error(`invalid storage key: ${key}`);
    return this.prefix + key;
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return { size: head.ContentLength ?? 0, modifiedAt: head.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async open(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      return out.Body as Readable;
    } catch (err) {
      throw isNotFound(err) ? new NotFoundError(key) : err;
    }
  }

  read(key: string, range?: ByteRange): Promise<Readable> {
    return this.open(key, range);
  }

  async send(key: string, range: ByteRange | undefined, destination: Writable, onOpen?: () => void): Promise<void> {
    const body = await this.open(key, range);
    if (destination.destroyed) {
      body.destroy();
      throw destinationClosed();
    }
    onOpen?.();
    await pipeline(body, destination);
  }

  /** A short-lived URL the client can fetch the blob from directly, when `storage.s3.redirect` is on. */
  async redirectUrl(key: string): Promise<string | null> {
    if (!this.config.redirect) return null;
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }), { expiresIn: presignedTtlSeconds });
  }

  async delete(key: string): Promise<boolean> {
    // DeleteObject succeeds whether or not the key existed; the caller wants to know.
    if (!(await this.stat(key))) return false;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    return true;
  }

  async *list(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(prefix), ContinuationToken: token }));
      for (const o of page.Contents ?? []) yield o.Key!.slice(this.prefix.length);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  createUpload(uploadId: string): Promise<void> {
    return this.staging.create(uploadId);
  }

  uploadSize(uploadId: string): Promise<number | null> {
    return this.staging.size(uploadId);
  }

  appendUpload(uploadId: string, offset: number, source: Readable): Promise<number> {
    return this.staging.append(uploadId, offset, source);
  }

  readUpload(uploadId: string): Promise<Readable> {
    return this.staging.read(uploadId);
  }

  async commitUpload(uploadId: string, key: string): Promise<void> {
    await this.staging.commit(uploadId, this.key(key), async () => (await this.stat(key)) !== null);
  }

  abortUpload(uploadId: string): Promise<void> {
    return this.staging.abort(uploadId);
  }

  listUploads(): AsyncIterable<{ id: string; modifiedAt: number }> {
    return this.staging.list();
  }
}
