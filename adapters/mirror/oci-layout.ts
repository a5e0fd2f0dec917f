import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, lstat, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { listFiles } from '../../bundle/archive.js';
import { canonicalJson } from '../../bundle/canonical-json.js';
import { digestFile, writeFileAtomic } from '../../bundle/files.js';
import { MANIFEST_PATH, type ExportManifest } from '../../bundle/manifest.js';
import { StellaError } from '../../domain/errors.js';
import { manifestPathProblem } from '../../signing/bundle-files.js';
import { MIRROR_SHARD_GROUPS, mirrorShardGroupOf } from './mirror-layout.js';

// A bundle as an OCI image layout (image-spec v1.1 "image-layout"): every file is a layer
// blob named by its path in the `org.opencontainers.image.title` annotation, so `oras pull`
// restores the folder. Blobs are content-addressed, so writing a delta into the layout that
// holds its base stores only the blobs the base does not already have. A bundle larger than
// `shardBytes` becomes one manifest per content type (meta, advisories, vex, sboms) under
// an image index, and a content type still larger than `shardBytes` becomes several
// numbered manifests of whole files. Each manifest names its shard in annotations; the
// index names the shard size. Content types follow the top-level folders manifest.yaml
// describes (its `sharding` entry); time is not a shard key: a mirror's time axis is its
// chain of deltas, each one bundle of its own.

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';
export const MIRROR_ARTIFACT_TYPE = 'application/vnd.stella.mirror.v1';
export const DEFAULT_SHARD_BYTES = 512 * 1024 * 1024;

const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
const TITLE = 'org.opencontainers.image.title';
const REF_NAME = 'org.opencontainers.image.ref.name';
const SHARD = 'com.stella.mirror.shard';
const SHARD_INDEX = 'com.stella.mirror.shard.index';
const SHARD_COUNT = 'com.stella.mirror.shard.count';
const SHARD_BYTES = 'com.stella.mirror.shard-bytes';
const SHARD_OF = 'com.stella.mirror.shard.of'; // on index.json's entries for single shards

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface OciWriteOptions {
  tag?: string; // default: the bundle's run id
  shardBytes?: number;
}

export interface OciWriteResult {
  tag: string;
  descriptor: Descriptor; // what index.json names under the tag
  manifests: Descriptor[]; // one per shard
  blobsWritten: number;
  blobsReused: number;
}

export async function writeOciLayout(
  bundleDir: string,
  layoutDir: string,
  options: OciWriteOptions = {},
): Promise<OciWriteResult> {
  const exportManifest = JSON.parse(await readFile(path.join(bundleDir, MANIFEST_PATH), 'utf8')) as ExportManifest;
  const annotations = exportAnnotations(exportManifest);
  const tag = options.tag ?? exportManifest.runId;
  const store = new BlobStore(layoutDir);
  await store.init();

  const mediaTypes = new Map(exportManifest.files.map((file) => [file.path, file.mediaType]));
  const layers = await layersOf(store, bundleDir, mediaTypes);
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  const { descriptor, manifests } = await putShards(store, layers, shardBytes, annotations);
  await store.tag(tag, descriptor, manifests.length > 1 ? manifests : []);

  return { tag, descriptor, manifests, blobsWritten: store.written, blobsReused: store.reused };
}

export async function isOciLayout(dir: string): Promise<boolean> {
  return stat(path.join(dir, OCI_LAYOUT_FILE)).then((s) => s.isFile(), () => false);
}

// Restores the files of one tagged bundle into `targetDir`, checking every blob's digest
// and every title against the path rules of bundle manifests.
export async function extractOciLayout(layoutDir: string, targetDir: string, reference?: string) {
  const index = await readJson<{ manifests?: Descriptor[] }>(layoutDir, path.join(layoutDir, OCI_INDEX_FILE));
  const entries = index.manifests ?? [];
  // Entries for single shards are only chosen by their own tag.
  const bundles = entries.filter((entry) => !entry.annotations?.[SHARD_OF]);
  const chosen = reference
    ? entries.filter((entry) => entry.annotations?.[REF_NAME] === reference)
    : bundles;
  if (chosen.length !== 1) {
    const tags = bundles.map((entry) => entry.annotations?.[REF_NAME]).join(', ');
    throw new StellaError('bad_request', `name one bundle of this OCI layout with a tag (${tags})`);
  }

  const written = new Set<string>();
  for (const manifest of await manifestsUnder(layoutDir, chosen[0])) {
    for (const layer of manifest.layers ?? []) {
      await extractLayer(layoutDir, targetDir, layer, written);
    }
  }

  return [...written].sort();
}

// --- writing ------------------------------------------------------------------------------

interface Layer extends Descriptor {
  path: string;
  group: string;
}

async function layersOf(store: BlobStore, bundleDir: string, mediaTypes: Map<string, string>) {
  const layers: Layer[] = [];
  for (const relative of await listFiles(bundleDir)) {
    const blob = await store.putFile(path.join(bundleDir, relative));
    layers.push({
      mediaType: mediaTypes.get(relative) ?? 'application/octet-stream',
      ...blob,
      annotations: { [TITLE]: relative },
      path: relative,
      group: mirrorShardGroupOf(relative),
    });
  }

  return layers;
}

// The manifest of each shard, and what the tag names: that manifest when there is one,
// else an index over all of them that also records the shard size.
async function putShards(
  store: BlobStore,
  layers: Layer[],
  shardBytes: number,
  annotations: Record<string, string>,
): Promise<{ descriptor: Descriptor; manifests: Descriptor[] }> {
  const manifests: Descriptor[] = [];
  for (const shard of shardsOf(layers, shardBytes)) {
    manifests.push(await store.putManifest(shard.layers, { ...annotations, ...shard.annotations }));
  }
  if (manifests.length === 1) {
    return { descriptor: manifests[0], manifests };
  }

  const indexAnnotations = { ...annotations, [SHARD_BYTES]: String(shardBytes) };
  const index = imageIndex(manifests, indexAnnotations);

  return { descriptor: await store.putJson(INDEX_MEDIA_TYPE, index, indexAnnotations), manifests };
}

interface Shard {
  layers: Layer[];
  annotations: Record<string, string>;
}

// One shard for a bundle that fits; otherwise one per content type, each cut into runs of
// whole files of at most `shardBytes` (a file larger than that is a shard of its own).
function shardsOf(layers: Layer[], shardBytes: number): Shard[] {
  if (bytesOf(layers) <= shardBytes) {
    return [{ layers, annotations: { [SHARD]: 'all' } }];
  }

  return MIRROR_SHARD_GROUPS.flatMap((group) => {
    const runs = runsOf(layers.filter((layer) => layer.group === group), shardBytes);

    return runs.map((run, at) => ({
      layers: run,
      annotations: shardAnnotations(group, at, runs.length),
    }));
  });
}

function runsOf(layers: Layer[], shardBytes: number): Layer[][] {
  const runs: Layer[][] = [];
  let runBytes = 0;
  for (const layer of layers) {
    if (runs.length > 0 && runBytes + layer.size <= shardBytes) {
      runs.at(-1)!.push(layer);
      runBytes += layer.size;
    } else {
      runs.push([layer]);
      runBytes = layer.size;
    }
  }

  return runs;
}

function shardAnnotations(group: string, at: number, count: number): Record<string, string> {
  if (count === 1) {
    return { [SHARD]: group };
  }

  return { [SHARD]: group, [SHARD_INDEX]: String(at + 1), [SHARD_COUNT]: String(count) };
}

function bytesOf(layers: Layer[]): number {
  return layers.reduce((sum, layer) => sum + layer.size, 0);
}

function exportAnnotations(manifest: ExportManifest): Record<string, string> {
  return {
    'org.opencontainers.artifact.description': `Stella ${manifest.profile.kind} export ${manifest.runId}`,
    'com.stella.export.profile': `${manifest.profile.id} (${manifest.profile.kind})`,
    'com.stella.export.filters': canonicalJson(manifest.filters),
    'com.stella.export.run': manifest.runId,
    ...(manifest.base ? { 'com.stella.export.base': manifest.base.runId } : {}),
  };
}

function imageIndex(manifests: Descriptor[], annotations: Record<string, string>) {
  return {
    schemaVersion: 2,
    mediaType: INDEX_MEDIA_TYPE,
    artifactType: MIRROR_ARTIFACT_TYPE,
    manifests,
    annotations,
  };
}

class BlobStore {
  written = 0;
  reused = 0;

  constructor(private readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(path.join(this.root, 'blobs', 'sha256'), { recursive: true });
    const layout = path.join(this.root, OCI_LAYOUT_FILE);
    if (!(await isOciLayout(this.root))) {
      await writeFileAtomic(layout, canonicalJson({ imageLayoutVersion: '1.0.0' }));
    }
  }

  async putFile(file: string): Promise<{ digest: string; size: number }> {
    const { sha256, size } = await digestFile(file);
    const target = this.blobPath(sha256);
    if (await exists(target)) {
      this.reused += 1;
    } else {
      await copyFile(file, target);
      this.written += 1;
    }

    return { digest: `sha256:${sha256}`, size };
  }

  async putJson(mediaType: string, value: unknown, annotations?: Record<string, string>) {
    const bytes = Buffer.from(canonicalJson(value), 'utf8');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (!(await exists(this.blobPath(sha256)))) {
      await writeFileAtomic(this.blobPath(sha256), bytes);
      this.written += 1;
    }
    const descriptor: Descriptor = { mediaType, digest: `sha256:${sha256}`, size: bytes.length };

    return { ...descriptor, artifactType: MIRROR_ARTIFACT_TYPE, ...(annotations ? { annotations } : {}) };
  }

  async putManifest(layers: Layer[], annotations: Record<string, string>): Promise<Descriptor> {
    const config = await this.putJson(EMPTY_MEDIA_TYPE, {});
    const manifest = {
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      artifactType: MIRROR_ARTIFACT_TYPE,
      config: { mediaType: EMPTY_MEDIA_TYPE, digest: config.digest, size: config.size },
      layers: layers.map(({ mediaType, digest, size, annotations: a }) => ({ mediaType, digest, size, annotations: a })),
      annotations,
    };

    return this.putJson(MANIFEST_MEDIA_TYPE, manifest, annotations);
  }

  // index.json names each tagged bundle once, and each shard of a sharded one as
  // `<tag>.<shard>`: tools pull an untagged manifest of a layout as a plain blob, so a shard
  // needs a name of its own to be pulled alone. Tagging again replaces all of them.
  async tag(tag: string, descriptor: Descriptor, shards: Descriptor[] = []): Promise<void> {
    const file = path.join(this.root, OCI_INDEX_FILE);
    const current = (await exists(file))
      ? (JSON.parse(await readFile(file, 'utf8')) as { manifests?: Descriptor[] })
      : {};
    const others = (current.manifests ?? []).filter((entry) => !taggedFor(entry, tag));
    const entries = [named(descriptor, tag), ...shards.map((shard) => shardEntry(shard, tag))];
    assertTagsFree(this.root, others, entries);
    const manifests = [...others, ...entries].sort((a, b) =>
      (a.annotations?.[REF_NAME] ?? '').localeCompare(b.annotations?.[REF_NAME] ?? ''),
    );
    await writeFileAtomic(file, canonicalJson({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests }));
  }

  private blobPath(sha256: string): string {
    return path.join(this.root, 'blobs', 'sha256', sha256);
  }
}

function named(descriptor: Descriptor, ref: string, extra: Record<string, string> = {}) {
  return { ...descriptor, annotations: { ...descriptor.annotations, ...extra, [REF_NAME]: ref } };
}

function shardEntry(shard: Descriptor, tag: string): Descriptor {
  const group = shard.annotations?.[SHARD] ?? 'shard';
  const index = shard.annotations?.[SHARD_INDEX];

  return named(shard, `${tag}.${group}${index ? `-${index}` : ''}`, { [SHARD_OF]: tag });
}

// A shard tag (`<tag>.vex`) may already name a bundle someone tagged so by hand.
function assertTagsFree(root: string, others: Descriptor[], entries: Descriptor[]): void {
  const taken = new Set(others.map((entry) => entry.annotations?.[REF_NAME]));
  const clash = entries.find((entry) => taken.has(entry.annotations?.[REF_NAME]));
  if (clash) {
    const ref = clash.annotations?.[REF_NAME];
    throw new StellaError('conflict', `tag ${ref} already names another bundle in ${root}`);
  }
}

function taggedFor(entry: Descriptor, tag: string): boolean {
  return entry.annotations?.[REF_NAME] === tag || entry.annotations?.[SHARD_OF] === tag;
}

// --- reading ------------------------------------------------------------------------------

interface ImageManifest {
  mediaType?: string;
  manifests?: Descriptor[];
  layers?: Descriptor[];
}

async function manifestsUnder(layoutDir: string, descriptor: Descriptor): Promise<ImageManifest[]> {
  const document = await readBlobJson<ImageManifest>(layoutDir, descriptor);
  if (descriptor.mediaType !== INDEX_MEDIA_TYPE) {
    return [document];
  }
  const nested: ImageManifest[] = [];
  for (const child of document.manifests ?? []) {
    nested.push(...(await manifestsUnder(layoutDir, child)));
  }

  return nested;
}

async function extractLayer(layoutDir: string, targetDir: string, layer: Descriptor, written: Set<string>) {
  const title = layer.annotations?.[TITLE];
  const problem = typeof title === 'string' ? manifestPathProblem(title) : 'a layer has no title';
  if (problem || written.has(title!)) {
    const message = `OCI layer ${JSON.stringify(title)}: ${problem ?? 'the path appears twice'}`;
    throw new StellaError('integrity_failed', message);
  }
  const target = path.join(targetDir, title!);
  await mkdir(path.dirname(target), { recursive: true });
  await copyVerified(await blobFile(layoutDir, layer), target, layer);
  written.add(title!);
}

async function copyVerified(source: string, target: string, descriptor: Descriptor): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(createReadStream(source), hashing, createWriteStream(target, { flags: 'wx' }));
  if (`sha256:${hash.digest('hex')}` !== descriptor.digest || size !== descriptor.size) {
    throw new StellaError('integrity_failed', `OCI blob ${descriptor.digest} does not match its digest`);
  }
}

async function readBlobJson<T>(layoutDir: string, descriptor: Descriptor): Promise<T> {
  const bytes = await readFile(await blobFile(layoutDir, descriptor));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (digest !== descriptor.digest) {
    throw new StellaError('integrity_failed', `OCI blob ${descriptor.digest} does not match its digest`);
  }

  return JSON.parse(bytes.toString('utf8')) as T;
}

// Blob paths come from digests; anything but sha256 hex, or a blob that is a link, is refused.
async function blobFile(layoutDir: string, descriptor: Descriptor): Promise<string> {
  const match = /^sha256:([0-9a-f]{64})$/.exec(String(descriptor.digest));
  if (!match) {
    throw new StellaError('integrity_failed', `OCI digest ${JSON.stringify(descriptor.digest)} is not sha256`);
  }
  const file = path.join(layoutDir, 'blobs', 'sha256', match[1]);
  const info = await lstat(file).catch((err: unknown) => {
    throw new StellaError('integrity_failed', `OCI blob ${descriptor.digest} is missing`, { cause: err });
  });
  if (!info.isFile()) {
    throw new StellaError('integrity_failed', `OCI blob ${descriptor.digest} is not a regular file`);
  }

  return file;
}

async function readJson<T>(layoutDir: string, file: string): Promise<T> {
  const info = await lstat(file).catch(() => undefined);
  if (!info?.isFile()) {
    throw new StellaError('bad_request', `${layoutDir} has no ${OCI_INDEX_FILE}`);
  }

  return JSON.parse(await readFile(file, 'utf8')) as T;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}
