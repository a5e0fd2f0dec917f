import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { transform } from 'esbuild';
import { Router, type RequestHandler } from 'express';
import { StellaError } from '../../domain/errors.js';
import { packageRoot } from '../../platform/package-root.js';

export interface ConsoleRouteOptions {
  root?: string; // the folder holding index.html, console.css and src/ (default <package>/console)
}

export interface ConsoleAsset {
  contentType: string;
  body: Buffer;
}

// The console is a static shell: it carries no data and every data call goes through the API
// with the user's bearer token. The policy forbids inline script, eval and any origin but
// this one; Trusted Types make an innerHTML assignment throw, so API data can only ever be
// set as text.
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  'trusted-types',
].join('; ');

const HTML = 'text/html; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';

// GET /console/ (the shell), /console/console.css and /console/assets/<module>.js, the
// browser modules compiled from console/src/*.ts when first asked for.
export function consoleRoutes(options: ConsoleRouteOptions = {}): Router {
  const root = options.root ?? path.join(packageRoot(), 'console');
  const assets = cachedAssets(root);
  const router = Router();

  router.use('/console', consoleHeaders);
  // Routes are not case or slash strict (Express defaults): '/console' also answers '/console/'.
  router.get('/console', sendAsset(assets, 'index.html'));
  router.get('/console/index.html', sendAsset(assets, 'index.html'));
  router.get('/console/console.css', sendAsset(assets, 'console.css'));
  router.get('/console/assets/:module', (req, res, next) => {
    sendAsset(assets, `assets/${String(req.params.module)}`)(req, res, next);
  });

  return router;
}

// Every answer under /console carries the policy, errors included.
const consoleHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cache-Control', 'no-cache');
  next();
};

type AssetLoader = () => Promise<Map<string, ConsoleAsset>>;

function sendAsset(assets: AssetLoader, name: string): RequestHandler {
  return (_req, res, next) => {
    assets().then((loaded) => {
      // Only names found when loading are served: a request cannot reach any other file.
      const asset = loaded.get(name);
      if (!asset) {
        throw new StellaError('not_found', `no console file ${name}`);
      }
      res.type(asset.contentType).send(asset.body);
    }).catch(next);
  };
}

// Loaded and compiled once per process; a failed load is retried on the next request.
// Edited sources show only after a restart (no file watching).
function cachedAssets(root: string): AssetLoader {
  let loading: Promise<Map<string, ConsoleAsset>> | undefined;

  return () => {
    loading ??= loadConsoleAssets(root).catch((err: unknown) => {
      loading = undefined;
      throw err;
    });

    return loading;
  };
}

export async function loadConsoleAssets(root: string): Promise<Map<string, ConsoleAsset>> {
  const assets = new Map<string, ConsoleAsset>();
  const shell = await readFile(path.join(root, 'index.html'));
  const styles = await readFile(path.join(root, 'console.css'));
  assets.set('index.html', { contentType: HTML, body: shell });
  assets.set('console.css', { contentType: CSS, body: styles });
  for (const [name, body] of await compiledModules(path.join(root, 'src'))) {
    assets.set(`assets/${name}`, { contentType: JS, body });
  }

  return assets;
}

async function compiledModules(sourceDir: string): Promise<Map<string, Buffer>> {
  const modules = new Map<string, Buffer>();
  const files = (await readdir(sourceDir)).filter((file) => /^[a-z0-9-]+\.ts$/.test(file));
  for (const file of files) {
    const source = await readFile(path.join(sourceDir, file), 'utf8');
    const compiled = await compileModule(file, source);
    modules.set(file.replace(/\.ts$/, '.js'), Buffer.from(compiled));
  }

  return modules;
}

async function compileModule(file: string, source: string): Promise<string> {
  try {
    const result = await transform(source, {
      loader: 'ts',
      format: 'esm',
      target: 'es2022',
      sourcefile: file,
    });

    return result.code;
  } catch (err) {
    throw new StellaError('internal', `console/src/${file} does not compile`, { cause: err });
  }
}
