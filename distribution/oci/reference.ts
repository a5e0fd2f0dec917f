import { StellaError } from '../../domain/errors.js';

export interface OciReference {
  registry: string; // host[:port]
  repository: string;
  tag?: string;
  digest?: string;
}

// Grammar of the OCI distribution spec (section "Pulling manifests"): repository path
// components and tags as the registry accepts them.
const REPOSITORY =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REGISTRY = /^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$/;

// `host[:port]/repo/path[:tag][@sha256:…]`; the registry part is mandatory because an
// export is never pushed to an implied default registry.
export function parseOciReference(text: string): OciReference {
  const [name, digest] = text.split('@', 2);
  const slash = name.indexOf('/');
  if (slash <= 0) {
    throw badReference(text, 'expected host[:port]/repository[:tag]');
  }

  const registry = name.slice(0, slash);
  const { repository, tag } = splitTag(name.slice(slash + 1));
  checkParts(text, { registry, repository, tag, digest });

  return { registry, repository, tag, digest };
}

export function formatOciReference(ref: OciReference): string {
  const tag = ref.tag ? `:${ref.tag}` : '';
  const digest = ref.digest ? `@${ref.digest}` : '';

  return `${ref.registry}/${ref.repository}${tag}${digest}`;
}

function splitTag(path: string): { repository: string; tag?: string } {
  const colon = path.lastIndexOf(':');
  if (colon < 0) {
    return { repository: path };
  }

  return { repository: path.slice(0, colon), tag: path.slice(colon + 1) };
}

// As container tools read it: the first component names a registry only when it has a dot
// or a port, or is localhost; `stella/db` would be a Docker Hub path, which we refuse.
function checkParts(text: string, ref: OciReference) {
  const looksLikeHost = /[.:]/.test(ref.registry) || ref.registry === 'localhost';
  if (!REGISTRY.test(ref.registry) || !looksLikeHost) {
    throw badReference(text, `invalid registry host ${ref.registry}`);
  }
  if (!REPOSITORY.test(ref.repository) || ref.repository.length > 255) {
    throw badReference(text, `invalid repository ${ref.repository}`);
  }
  if (ref.tag !== undefined && !TAG.test(ref.tag)) {
    throw badReference(text, `invalid tag ${ref.tag}`);
  }
  if (ref.digest !== undefined && !DIGEST.test(ref.digest)) {
    throw badReference(text, `invalid digest ${ref.digest}`);
  }
}

function badReference(text: string, why: string): StellaError {
  return new StellaError('bad_request', `OCI reference ${JSON.stringify(text)}: ${why}`);
}

// Loopback registries speak plain HTTP, as container tools assume for them; any other
// host must be listed explicitly (STELLA_OCI_PLAIN_HTTP) to be reached without TLS.
export function registryBaseUrl(registry: string, plainHttpHosts: readonly string[] = []): string {
  const host = registry.replace(/:[0-9]+$/, '');
  const plain =
    isLoopback(host) || plainHttpHosts.includes(registry) || plainHttpHosts.includes(host);

  return `${plain ? 'http' : 'https'}://${registry}`;
}

function isLoopback(host: string): boolean {
  return (
    host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '[::1]'
  );
}
