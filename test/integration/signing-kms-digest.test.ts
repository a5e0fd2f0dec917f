// The KMS signer's DIGEST path (signing inputs over 4096 bytes) against local-kms, a KMS
// emulator built from the Go module proxy by .ci/install-tools.sh. moto (signing-kms.test.ts)
// does not implement MessageType DIGEST; local-kms does.
//
// local-kms listens on every interface (it binds ":PORT" and takes no host), so it runs in
// a network namespace of its own that has only a loopback; a small bridge in that namespace
// forwards a Unix socket to it, and this test forwards 127.0.0.1 to that socket.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { constants, createHash, createPublicKey, verify } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, SignCommand, type KMSClient, type KeySpec } from '@aws-sdk/client-kms';

import { StellaError } from '../../domain/errors.js';
import { signInTotoStatement, verifyDsse } from '../../signing/dsse.js';
import { verifyDetachedJws } from '../../signing/jws.js';
import { createKmsClient, loadKmsSigner } from '../../signing/kms-signer.js';

const LOCAL_KMS = path.resolve(
  '.tools/local-kms/v0.0.0-20260228092603-2a5e92d09ab6/local-kms',
);
const INNER_PORT = 4599; // inside the private namespace: nothing else listens there
const LARGE = 64 * 1024; // well over KMS's 4096-byte limit for RAW messages

const unshareWorks = spawnSync('unshare', ['-n', 'true']).status === 0;
const skipReason = !existsSync(LOCAL_KMS)
  ? `${LOCAL_KMS} is not built (run .ci/install-tools.sh)`
  : !unshareWorks && 'unshare -n (a private network namespace) is not permitted here';

// Runs inside the namespace: starts local-kms and forwards a Unix socket to it.
const BRIDGE = `
const net = require('node:net');
const { spawn } = require('node:child_process');
const [bin, socket, port] = process.argv.slice(1);
const kms = spawn(bin, { env: { ...process.env, PORT: port }, stdio: 'ignore' });
kms.on('exit', () => process.exit(1));
net.createServer((client) => {
  const upstream = net.connect(Number(port), '127.0.0.1');
  client.pipe(upstream).pipe(client);
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
}).listen(socket);
process.on('SIGTERM', () => { kms.kill(); process.exit(0); });
`;

let bridge: ChildProcess | undefined;
let forwarder: Server | undefined;
let workDir: string | undefined;
let client: KMSClient;

before(async () => {
  if (skipReason) return;

  workDir = await mkdtemp(path.join(os.tmpdir(), 'stella-local-kms-'));
  const socket = path.join(workDir, 'kms.sock');
  const inner = `ip link set lo up && exec "${process.execPath}" -e "$0" "$@"`;
  bridge = spawn('unshare', ['-n', 'sh', '-c', inner, BRIDGE, LOCAL_KMS, socket,
    String(INNER_PORT)], {
    env: { ...process.env, KMS_DATA_PATH: path.join(workDir, 'data'), KMS_REGION: 'us-east-1' },
    stdio: 'ignore',
  });
  const endpoint = await forwardLoopbackTo(socket);
  // Dummy credentials: local-kms accepts any, and nothing here may reach real AWS.
  process.env.AWS_ACCESS_KEY_ID = 'local-kms';
  process.env.AWS_SECRET_ACCESS_KEY = 'local-kms';
  client = createKmsClient({ endpoint, region: 'us-east-1' });
  await waitForKms(client);
});

after(async () => {
  bridge?.kill('SIGTERM');
  forwarder?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function forwardLoopbackTo(socket: string): Promise<string> {
  forwarder = createServer((incoming) => {
    const outgoing = connect(socket);
    incoming.pipe(outgoing).pipe(incoming);
    outgoing.on('error', () => incoming.destroy());
    incoming.on('error', () => outgoing.destroy());
  });
  await new Promise<void>((resolve) => forwarder!.listen(0, '127.0.0.1', resolve));
  const { port } = forwarder.address() as { port: number };

  return `http://127.0.0.1:${port}`;
}

async function waitForKms(kms: KMSClient): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const up = await kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY',
      KeySpec: 'ECC_NIST_P256' })).then(() => true, () => false);
    if (up) return;
    await sleep(100);
  }
  throw new Error('local-kms did not answer');
}

async function createSigningKey(keySpec: KeySpec): Promise<string> {
  const command = new CreateKeyCommand({ KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' });

  return (await client.send(command)).KeyMetadata!.KeyId!;
}

function largePayload(): Buffer {
  const pattern = Buffer.from('{"id":"GHSA-xxxx-yyyy-zzzz","summary":"padding"}\n');

  return Buffer.concat(Array.from({ length: Math.ceil(LARGE / pattern.length) }, () => pattern));
}

describe('loadKmsSigner', { skip: skipReason }, () => {
  describe('when the emulator is asked for RAW over 4096 bytes', () => {
    it('throws: the limit the DIGEST path exists for is enforced', async () => {
      const keyId = await createSigningKey('ECC_NIST_P256');
      const command = new SignCommand({ KeyId: keyId, Message: largePayload(),
        MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' });

      await assert.rejects(client.send(command), (err: Error) => /Validation/.test(err.name));
    });
  });

  describe('when an ECC_NIST_P256 key signs a payload over 4 KiB', () => {
    it('returns a detached JWS that verifies with the public key alone', async () => {
      const signer = await loadKmsSigner({ keyId: await createSigningKey('ECC_NIST_P256'),
        client });
      const payload = largePayload();

      const jws = await signer.signDetached(payload);

      const verdict = await verifyDetachedJws(jws, payload, { keys: [await signer.publicJwk()] });
      assert.deepEqual([verdict.ok, verdict.keyId], [true, signer.keyId]);
    });

    it('returns a DSSE envelope over a large statement that verifyDsse accepts', async () => {
      const signer = await loadKmsSigner({ keyId: await createSigningKey('ECC_NIST_P256'),
        client });
      const subject = Array.from({ length: 400 }, (_, index) => ({
        name: `advisories/part-${index}.jsonl.zst`,
        digest: { sha256: createHash('sha256').update(String(index)).digest('hex') },
      }));

      const envelope = await signInTotoStatement(signer, { _type: 'x', subject });

      assert.ok(Buffer.from(envelope.payload, 'base64').length > 4096);
      const result = await verifyDsse(envelope, { keys: [await signer.publicJwk()] });
      assert.deepEqual([result.ok, result.keyIds], [true, [signer.keyId]]);
    });

    it('returns signatures over the bytes, not over some other input', async () => {
      const signer = await loadKmsSigner({ keyId: await createSigningKey('ECC_NIST_P256'),
        client });
      const payload = largePayload();
      const jws = await signer.signDetached(payload);
      payload[payload.length - 2] ^= 1;

      const verdict = await verifyDetachedJws(jws, payload, { keys: [await signer.publicJwk()] });

      assert.equal(verdict.ok, false);
    });
  });

  describe('when an RSA_2048 key signs a payload over 4 KiB with RSASSA-PSS', () => {
    it('returns a PS256 signature that verifies with the public key alone', async () => {
      const signer = await loadKmsSigner({ keyId: await createSigningKey('RSA_2048'), client });
      const payload = largePayload();

      const signature = await signer.signRaw(payload);

      assert.equal(signer.algorithm, 'PS256');
      // local-kms signs PSS with Go's default salt (as long as the modulus allows), where
      // AWS KMS and PS256 use 32 bytes; the salt length is therefore auto-detected here.
      const key = createPublicKey({ key: (await signer.publicJwk()) as never, format: 'jwk' });
      const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_AUTO };
      assert.ok(verify('sha256', payload, options, signature));
      assert.equal(verify('sha256', payload.subarray(1), options, signature), false);
    });
  });

  describe('when the key is ENCRYPT_DECRYPT', () => {
    it('throws bad_request', async () => {
      const command = new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
      const keyId = (await client.send(command)).KeyMetadata!.KeyId!;

      await assert.rejects(
        loadKmsSigner({ keyId, client }),
        (err: unknown) => err instanceof StellaError && err.code === 'bad_request',
      );
    });
  });
});
