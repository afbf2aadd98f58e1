import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { AccessList } from '../access/access-file.js';
import type { Caller, Role } from '../access/caller.js';

export interface JwtOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Claim naming the user (default `sub`). */
  userClaim?: string;
  /** Claim carrying the role (default `role`); values other than admin/member/ingest count as member. */
  roleClaim?: string;
}

export interface HttpAuthOptions {
  /** Static bearer tokens (by SHA-256) and roles. */
  access?: AccessList;
  /** OAuth 2.1 resource server mode: JWT access tokens checked against a JWKS. */
  jwt?: JwtOptions;
  /**
   * The token of the owner file (cli/owner.ts): a bridge on this machine that holds it names its
   * caller (the X-Blackbox-As header), and `callerFor` gives that caller its role, as `--as` does
   * for a stdio server. `required`: a listener that exists only for those bridges, which then
   * answers nobody else (never local mode).
   */
  owner?: { token: string; callerFor: (asserted: string | undefined) => Caller; required?: boolean };
}

/** Why a request was refused; `status` is 401 (who are you?) or 403 (not allowed). */
export class HttpAuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Turns an `Authorization: Bearer` header into a caller. Static tokens are compared by their
 * SHA-256 (the access file never holds a token); JWTs are verified against the JWKS with issuer
 * and audience checks. The token is never logged and never forwarded anywhere.
 */
export class HttpAuth {
  private readonly jwks;

  constructor(private readonly options: HttpAuthOptions) {
    this.jwks = options.jwt ? createRemoteJWKSet(new URL(options.jwt.jwksUrl)) : undefined;
  }

  get configured(): boolean {
    return Boolean(this.options.access || this.options.jwt || this.options.owner?.required);
  }

  /**
   * How a caller of /mcp can prove who it is: static tokens (only users that have one) and JWTs.
   * Empty when nobody can: then only loopback may serve, as the local admin.
   */
  get callerMethods(): string[] {
    const methods: string[] = [];
    const withTokens = this.options.access?.usersWithTokens ?? 0;
    if (withTokens > 0) methods.push(`a bearer token from the access file (${withTokens} user${withTokens === 1 ? '' : 's'} with tokens)`);
    if (this.options.jwt) methods.push(`a JWT from ${this.options.jwt.issuer} for audience ${this.options.jwt.audience}`);
    if (this.options.owner?.required) methods.push('the owner token (beside the database, readable by this OS user only)');
    return methods;
  }

  get jwtIssuer(): string | undefined {
    return this.options.jwt?.issuer;
  }

  /** The caller, or undefined when the request carries no bearer token. `asserted`: X-Blackbox-As, honoured with the owner token only. */
  async authenticate(authorization: string | undefined, asserted?: string): Promise<Caller | undefined> {
    return (await this.verify(authorization, asserted))?.caller;
  }

  /**
   * The caller of a token and, for a JWT, when it expires (epoch ms): a session opened with a JWT
   * must not outlive it.
   */
  async verify(authorization: string | undefined, asserted?: string): Promise<{ caller: Caller; expiresAt?: number } | undefined> {
    if (!authorization) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new HttpAuthError(401, 'Authorization must be "Bearer <token>".');
    const token = match[1]!;
    const owner = this.options.owner;
    if (owner && sameSecret(token, owner.token)) {
      try {
        return { caller: owner.callerFor(asserted || undefined) };
      } catch (error) {
        throw new HttpAuthError(403, error instanceof Error ? error.message : String(error));
      }
    }
    const byHash = this.options.access?.callerByTokenHash(createHash('sha256').update(token).digest('hex'));
    if (byHash) return { caller: byHash };
    if (this.jwks && this.options.jwt && token.split('.').length === 3) return this.verifyJwt(token, this.options.jwt);
    throw new HttpAuthError(401, 'The bearer token is not valid.');
  }

  private async verifyJwt(token: string, jwt: JwtOptions): Promise<{ caller: Caller; expiresAt?: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks!, { issuer: jwt.issuer, audience: jwt.audience }));
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      const why =
        code === 'ERR_JWT_EXPIRED' ? 'the token has expired'
        : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? `the token's ${(error as { claim?: string }).claim ?? 'claims'} claim does not match this server`
        : 'the token signature or format is not valid';
      throw new HttpAuthError(401, `The bearer token was refused: ${why}.`);
    }
    const user = payload[jwt.userClaim ?? 'sub'];
    if (typeof user !== 'string' || user === '') throw new HttpAuthError(401, `The token has no ${jwt.userClaim ?? 'sub'} claim naming the user.`);
    const roleValue = payload[jwt.roleClaim ?? 'role'];
    const role: Role = roleValue === 'admin' || roleValue === 'ingest' ? roleValue : 'member';
    return { caller: { id: user, role }, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined };
  }
}

/** Compares two secrets in time that does not depend on where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
