import path from 'node:path';
import { StellaError } from '../../domain/errors.js';

// Which issuer the API trusts. `local` (the default) is the embedded issuer whose key lives
// under $STELLA_DATA_DIR/auth/; `jwks` trusts one external issuer, its public keys fetched
// from a JWKS URL or read from a JWKS file. The two modes never mix.
export type AuthConfig = LocalAuthConfig | JwksAuthConfig;

interface CommonAuthConfig {
  issuer: string;
  audience: string;
  tenantClaim: string;
  rolesClaim: string;
}

export interface LocalAuthConfig extends CommonAuthConfig {
  mode: 'local';
  keyDir: string;
}

export interface JwksAuthConfig extends CommonAuthConfig {
  mode: 'jwks';
  jwksUrl?: string;
  jwksFile?: string;
}

export const LOCAL_ISSUER = 'stella-local';
export const LOCAL_AUDIENCE = 'stella-export-center';

export function loadAuthConfig(dataDir: string, env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const mode = env.STELLA_AUTH ?? 'local';
  const claims = {
    tenantClaim: env.STELLA_AUTH_TENANT_CLAIM ?? 'tenant',
    rolesClaim: env.STELLA_AUTH_ROLES_CLAIM ?? 'roles',
  };
  if (mode === 'local') {
    return {
      mode,
      issuer: LOCAL_ISSUER,
      audience: LOCAL_AUDIENCE,
      keyDir: localKeyDir(dataDir),
      ...claims,
    };
  }
  if (mode !== 'jwks') {
    throw new StellaError(
      'bad_request',
      `STELLA_AUTH must be local or jwks, not ${JSON.stringify(mode)}`,
    );
  }

  return { mode, ...requiredJwksSettings(env), ...claims };
}

export function localKeyDir(dataDir: string): string {
  return path.join(dataDir, 'auth');
}

function requiredJwksSettings(env: NodeJS.ProcessEnv) {
  const issuer = env.STELLA_AUTH_ISSUER;
  const audience = env.STELLA_AUTH_AUDIENCE;
  const jwksUrl = env.STELLA_AUTH_JWKS_URL;
  const jwksFile = env.STELLA_AUTH_JWKS_FILE;
  if (!issuer || !audience || (!jwksUrl && !jwksFile)) {
    throw new StellaError(
      'bad_request',
      'STELLA_AUTH=jwks needs STELLA_AUTH_ISSUER, STELLA_AUTH_AUDIENCE and ' +
        'STELLA_AUTH_JWKS_URL or STELLA_AUTH_JWKS_FILE',
    );
  }

  return { issuer, audience, jwksUrl, jwksFile: jwksFile ? path.resolve(jwksFile) : undefined };
}
