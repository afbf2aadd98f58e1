/** The dashboard's calls to its server: the session, and tools answered as MCP answers them. */

export interface SessionInfo {
  user: string;
  role: 'admin' | 'member';
  csrf: string;
  expires_at: string;
  local: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let session: SessionInfo | undefined;
export const currentSession = (): SessionInfo | undefined => session;

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (session) headers['x-csrf-token'] = session.csrf;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (response.status === 204) return undefined as T;
  const data = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new ApiError(response.status, data.error ?? `${response.status} ${response.statusText}`);
  return data as T;
}

export async function loadSession(): Promise<SessionInfo | undefined> {
  try {
    session = await request<SessionInfo>('GET', '/api/session');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) session = undefined;
    else throw error;
  }
  return session;
}

export async function signIn(token: string): Promise<SessionInfo> {
  session = await request<SessionInfo>('POST', '/api/session', { token });
  return session;
}

export async function signOut(): Promise<void> {
  await request('DELETE', '/api/session');
  session = undefined;
}

export interface ToolAnswer<T> {
  structured: T;
  summary: string;
}

export function callTool<T = any>(name: string, args: Record<string, unknown>): Promise<ToolAnswer<T>> {
  return request<ToolAnswer<T>>('POST', `/api/tools/${encodeURIComponent(name)}`, args);
}
