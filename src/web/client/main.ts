import './dashboard.css';
import { ApiError, currentSession, loadSession, signIn, signOut } from './api.js';
import { h } from './dom.js';
import { PAGES, type PageContext } from './pages.js';

const app = document.getElementById('app')!;
const NAV = ['overview', 'drill', 'spike', 'cost', 'failures', 'unused', 'alerts', 'audit'] as const;
const WINDOWS = ['24h', '7d', '30d'];
let generation = 0;

function go(path: string, params: Record<string, string | undefined> = {}): void {
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const url = `${path}${query.size ? `?${query}` : ''}`;
  history.pushState(null, '', url);
  void render();
}

/** Links inside the app move without a reload; the URL is the whole state, so back, forward and sharing work. */
function link(path: string, params: Record<string, string | undefined>, label: string, active = false): HTMLElement {
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  return h('a', { href: `${path}${query.size ? `?${query}` : ''}`, class: active ? 'active' : undefined, onclick: (e: Event) => (e.preventDefault(), go(path, params)) }, label);
}

function header(pageName: string, params: URLSearchParams): HTMLElement {
  const session = currentSession()!;
  const keep = { window: params.get('window') ?? undefined, from: params.get('from') ?? undefined, to: params.get('to') ?? undefined, tz: params.get('tz') ?? undefined };
  const nav = NAV.filter((name) => !PAGES[name]!.adminOnly || session.role === 'admin').map((name) => link(`/${name}`, keep, PAGES[name]!.title, name === pageName));
  return h(
    'header',
    {},
    h('strong', { class: 'brand' }, 'mcp-blackbox'),
    h('nav', { class: 'pages' }, ...nav),
    h(
      'span',
      { class: 'who', 'data-testid': 'who' },
      `${session.user} (${session.role})`,
      session.local ? null : h('button', { class: 'link', onclick: async () => (await signOut(), go('/sign-in')) }, 'Sign out'),
    ),
  );
}

function windowPicker(params: URLSearchParams, path: string, defaultWindow: string): HTMLElement {
  const current = params.get('from') ? 'custom' : (params.get('window') ?? defaultWindow);
  const from = h('input', { type: 'date', value: params.get('from')?.slice(0, 10) ?? '', 'aria-label': 'from' });
  const to = h('input', { type: 'date', value: params.get('to')?.slice(0, 10) ?? '', 'aria-label': 'to (exclusive)' });
  const filters = [...params.entries()].filter(([k]) => !['window', 'from', 'to', 'cursor', 'tz', 'group_by', 'at'].includes(k));
  return h(
    'div',
    { class: 'window', 'data-testid': 'window' },
    ...WINDOWS.map((w) => link(path, { ...Object.fromEntries(params), window: w, from: undefined, to: undefined, cursor: undefined, at: undefined }, w, w === current)),
    h(
      'form',
      { class: 'custom', onsubmit: (e: Event) => (e.preventDefault(), from.value && go(path, { ...Object.fromEntries(params), window: undefined, from: from.value, to: to.value || undefined, cursor: undefined })) },
      from,
      to,
      h('button', { type: 'submit', class: current === 'custom' ? 'active' : undefined }, 'Custom'),
    ),
    ...filters.map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v} `, link(path, { ...Object.fromEntries(params), [k]: undefined, cursor: undefined }, '×'))),
  );
}

function signInForm(message?: string): HTMLElement {
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', placeholder: 'Access token or JWT', 'data-testid': 'token', required: true });
  const error = h('p', { class: 'error', 'data-testid': 'sign-in-error' }, message ?? '');
  return h(
    'form',
    {
      class: 'sign-in',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await signIn(token.value);
          const next = new URLSearchParams(location.search).get('next');
          go(next && next.startsWith('/') && !next.startsWith('//') ? next : '/overview');
        } catch (err) {
          error.textContent = (err as Error).message;
        }
      },
    },
    h('h1', {}, 'mcp-blackbox'),
    h('p', {}, 'Sign in with your token (the same one your MCP client sends). It is exchanged for a session cookie; the page never stores it.'),
    token,
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
}

async function render(): Promise<void> {
  const mine = ++generation;
  const [, first = 'overview', arg] = location.pathname.split('/');
  const pageName = first || 'overview';
  document.body.removeAttribute('data-rendered');
  if (!currentSession() && !(await loadSession())) {
    if (pageName !== 'sign-in') {
      history.replaceState(null, '', `/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`);
    }
    app.replaceChildren(signInForm());
    document.body.dataset.rendered = 'sign-in';
    return;
  }
  if (pageName === 'sign-in') return go('/overview');
  const page = PAGES[pageName];
  const params = new URLSearchParams(location.search);
  const content = h('main', { 'data-testid': `page-${pageName}` }, h('p', { class: 'loading' }, 'Loading…'));
  app.replaceChildren(header(pageName, params), page?.windowed ? windowPicker(params, `/${pageName}`, page.defaultWindow ?? '7d') : h('div'), content);
  if (!page) {
    content.replaceChildren(h('p', { class: 'error' }, `No page ${pageName}.`));
    return;
  }
  document.title = `${page.title} · mcp-blackbox`;
  const context: PageContext = { params, arg: arg ? decodeURIComponent(arg) : undefined, go, width: Math.max(320, Math.min(1200, content.clientWidth || window.innerWidth - 48)) };
  try {
    const data = await page.load(context);
    if (mine !== generation) return;
    // From the data's arrival to the first frame painted with it: what the bench times at 10M.
    const arrived = performance.now();
    content.replaceChildren(h('h1', {}, page.title), page.view(data, context));
    requestAnimationFrame(() => {
      document.body.dataset.renderMs = String(Math.round((performance.now() - arrived) * 10) / 10);
      document.body.dataset.rendered = pageName;
    });
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ApiError && error.status === 401) {
      await loadSession();
      if (!currentSession()) return go('/sign-in', { next: location.pathname + location.search });
    }
    content.replaceChildren(h('h1', {}, page.title), h('p', { class: 'error', 'data-testid': 'page-error' }, (error as Error).message));
    document.body.dataset.rendered = pageName;
  }
}

window.addEventListener('popstate', () => void render());
void render();
