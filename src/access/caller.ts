/** Who is asking. Every MCP request has one; visibility decisions are made from it alone. */
export type Role = 'admin' | 'member' | 'ingest';

export interface Caller {
  id: string;
  role: Role;
}

/** With no access file the server runs for one person: `local`, an admin (still masked by default). */
export const LOCAL_CALLER: Caller = { id: 'local', role: 'admin' };
