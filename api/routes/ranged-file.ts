import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import parseRange from 'range-parser';
import { StellaError } from '../../domain/errors.js';

export interface RangedFileOptions {
  etag: string; // the file's sha256: strong, so clients can resume with If-Range
  contentType: string;
  fileName: string;
}

// Streams a file with HTTP range support (RFC 9110 §14): one range per request, 206 with
// Content-Range, 416 for a range past the end, and If-Range against the strong ETag.
export async function sendFileWithRanges(
  req: Request,
  res: Response,
  filePath: string,
  options: RangedFileOptions,
): Promise<void> {
  const size = await stat(filePath).then(
    (s) => s.size,
    (err: unknown) => {
      throw new StellaError('not_found', 'the bundle archive is missing', { cause: err });
    },
  );
  const etag = `"${options.etag}"`;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Content-Type', options.contentType);
  res.setHeader('Content-Disposition', `attachment; filename="${options.fileName}"`);

  const range = requestedRange(req, size, etag);
  if (range === 'unsatisfiable') {
    res.status(416).setHeader('Content-Range', `bytes */${size}`).end();

    return;
  }

  const { start, end } = range ?? { start: 0, end: size - 1 };
  if (range) {
    res.status(206).setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  }
  res.setHeader('Content-Length', String(size === 0 ? 0 : end - start + 1));
  if (req.method === 'HEAD' || size === 0) {
    res.end();

    return;
  }
  await pipeline(createReadStream(filePath, { start, end }), res);
}

function requestedRange(
  req: Request,
  size: number,
  etag: string,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const header = req.header('range');
  if (!header) {
    return undefined;
  }
  const ifRange = req.header('if-range');
  if (ifRange && ifRange !== etag) {
    return undefined;
  }
  const ranges = parseRange(size, header, { combine: true });
  if (ranges === -1) {
    return 'unsatisfiable';
  }
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) {
    return undefined;
  }

  return ranges[0];
}
