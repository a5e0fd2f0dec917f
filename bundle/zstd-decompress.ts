import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { Duplex } from 'node:stream';

type WriteCallback = (err?: Error | null) => void;

// Kept short: only the end of zstd's complaint is worth showing to a user.
const STDERR_LIMIT = 2048;

// A Duplex that pipes its input through `zstd -dc`. It exists because simple-zstd leaves
// its child running when its stream is destroyed: a reader that stops early (a refused
// tar entry, a consumer that breaks out of a loop) then kept the process alive forever.
// Here destroying the stream, for any reason, kills the child and closes its pipes.
export class ZstdDecompressStream extends Duplex {
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';
  private exited = false;

  constructor() {
    super();
    this.child = spawn('zstd', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.listenToChild();
  }

  // Resolves once the stream is destroyed or ended and the child has exited.
  async whenClosed(): Promise<void> {
    if (this.closed) {
      return;
    }
    await once(this, 'close');
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback) {
    // The callback waits for the pipe to take the chunk: backpressure reaches our writer.
    this.child.stdin.write(chunk, (err) => callback(isBrokenPipe(err) ? null : err));
  }

  override _final(callback: WriteCallback) {
    this.child.stdin.end(callback);
  }

  override _read() {
    this.child.stdout.resume();
  }

  // Waits for the child to be gone, so a caller that awaits the stream's teardown (or the
  // pipeline it sits in) leaves no zstd process behind, not even an unreaped one.
  override _destroy(err: Error | null, callback: WriteCallback) {
    this.child.stdin.destroy();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    if (this.exited || this.child.pid === undefined) {
      callback(err);
      return;
    }
    this.child.once('close', () => callback(err));
    this.child.kill('SIGKILL');
  }

  private listenToChild() {
    const { child } = this;
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) {
        child.stdout.pause();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_LIMIT);
    });
    // A broken pipe means zstd stopped reading; its exit status says why.
    child.stdin.on('error', (err) => {
      if (!isBrokenPipe(err)) this.destroy(err);
    });
    child.on('error', (err) => {
      // Without a pid zstd never started (not installed): there is nothing to wait for.
      if (child.pid === undefined) this.exited = true;
      this.destroy(err);
    });
    child.on('close', (code, signal) => this.onChildClosed(code, signal));
  }

  // 'close' comes after zstd's stdout has ended, so every decompressed byte was pushed.
  private onChildClosed(code: number | null, signal: NodeJS.Signals | null) {
    this.exited = true;
    if (this.destroyed) {
      return;
    }
    if (code === 0) {
      this.push(null);
      return;
    }
    const reason = this.stderr.trim() || `exited with ${signal ?? `code ${code}`}`;
    this.destroy(new Error(`zstd -d failed: ${reason}`));
  }
}

export function createZstdDecompressStream(): ZstdDecompressStream {
  return new ZstdDecompressStream();
}

function isBrokenPipe(err: Error | null | undefined): boolean {
  return (err as NodeJS.ErrnoException | null | undefined)?.code === 'EPIPE';
}
