import { z } from 'zod';
import { UserInputError } from '../errors.js';
import { readJsonFile } from '../json-file.js';
import type { Caller, Role } from './caller.js';

const accessFileSchema = z.object({
  users: z.array(
    z.object({
      id: z.string().min(1),
      role: z.enum(['admin', 'member', 'ingest']),
      /** SHA-256 of the user's bearer token, hex. Tokens themselves are never stored. */
      token_sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'must be 64 hex characters (SHA-256)').optional(),
    }),
  ),
});

export type AccessFile = z.infer<typeof accessFileSchema>;

/** The users and roles of a deployment (`--access PATH`). */
export class AccessList {
  private constructor(private readonly file: AccessFile) {}

  static load(path: string): AccessList {
    return new AccessList(
      readJsonFile(path, accessFileSchema, 'access file', '{"users": [{"id": "u_root", "role": "admin", "token_sha256": "<hex>"}]}'),
    );
  }

  static fromUsers(users: AccessFile['users']): AccessList {
    return new AccessList({ users });
  }

  /** The caller for a stdio session: the named user with the role the file gives it. */
  callerFor(userId: string | undefined): Caller {
    if (!userId) {
      throw new UserInputError('An access file is in use, so the server must know who is calling: pass --as USER (or set MCP_BLACKBOX_USER).');
    }
    const user = this.file.users.find((u) => u.id === userId);
    if (!user) {
      throw new UserInputError(`User ${JSON.stringify(userId)} is not in the access file; known users: ${this.file.users.map((u) => u.id).join(', ')}.`);
    }
    return { id: user.id, role: user.role as Role };
  }

  /** How many users can sign in with a bearer token (the others exist for stdio's --as only). */
  get usersWithTokens(): number {
    return this.file.users.filter((u) => u.token_sha256 !== undefined).length;
  }

  /** The caller whose token hashes to `sha256Hex`, if any. */
  callerByTokenHash(sha256Hex: string): Caller | undefined {
    const user = this.file.users.find((u) => u.token_sha256?.toLowerCase() === sha256Hex.toLowerCase());
    return user ? { id: user.id, role: user.role as Role } : undefined;
  }
}
