/**
 * A realistic, reproducible MCP fleet: the catalog of servers, tools, teams, users and clients the
 * sample generator draws from. Kept apart from the generator so tests and docs can name the
 * characters of the story (the spiking bot, the retired tools) without re-deriving them.
 */

export interface StepTemplate {
  name: string;
  connector: string;
  operation: string;
  auth: 'user' | 'service' | 'none';
  tasks: number;
}

export interface ToolTemplate {
  name: string;
  server: string;
  kind: 'connector' | 'workflow';
  /** Relative popularity. */
  weight: number;
  /** Teams that use it most. */
  teams: string[];
  connector?: string;
  steps?: StepTemplate[];
  /** Fails this often (0..1), on top of the fleet's background rate. */
  failureRate: number;
  meanMs: number;
  costUsd?: number;
  /** Last day (days before the anchor) it was used: a tool that fell out of use. */
  retiredDaysAgo?: number;
}

export const SAMPLE_ANCHOR = '2026-11-01T00:00:00Z';

/** The spike the sample plants: a runaway bot on Tuesday 2026-10-27, 14:00-16:00 UTC. */
export const SAMPLE_SPIKE = {
  from: '2026-10-27T14:00:00Z',
  to: '2026-10-27T16:00:00Z',
  user: 'u_dev_bot',
  tool: 'github_search_code',
  executions: 900,
} as const;

export const TEAMS = ['revops', 'sales', 'eng', 'support', 'data', 'platform'] as const;

export const USERS: Array<{ id: string; name: string; team: (typeof TEAMS)[number]; activity: number }> = [
  { id: 'u_ana', name: 'Ana Ruiz', team: 'revops', activity: 5 },
  { id: 'u_ben', name: 'Ben Okafor', team: 'revops', activity: 3 },
  { id: 'u_carla', name: 'Carla Nunes', team: 'sales', activity: 4 },
  { id: 'u_dmitri', name: 'Dmitri Volkov', team: 'sales', activity: 2 },
  { id: 'u_eva', name: 'Eva Lind', team: 'sales', activity: 3 },
  { id: 'u_farid', name: 'Farid Haddad', team: 'eng', activity: 6 },
  { id: 'u_grace', name: 'Grace Kim', team: 'eng', activity: 5 },
  { id: 'u_hugo', name: 'Hugo Blanc', team: 'eng', activity: 4 },
  { id: 'u_ines', name: 'Ines Moreau', team: 'eng', activity: 3 },
  { id: 'u_jonas', name: 'Jonas Berg', team: 'support', activity: 4 },
  { id: 'u_kemi', name: 'Kemi Adeyemi', team: 'support', activity: 4 },
  { id: 'u_lena', name: 'Lena Fischer', team: 'support', activity: 2 },
  { id: 'u_mateo', name: 'Mateo Silva', team: 'data', activity: 4 },
  { id: 'u_nora', name: 'Nora Haugen', team: 'data', activity: 3 },
  { id: 'u_omar', name: 'Omar Aziz', team: 'platform', activity: 3 },
  { id: 'u_priya', name: 'Priya Shah', team: 'platform', activity: 3 },
  { id: 'u_quinn', name: 'Quinn Taylor', team: 'revops', activity: 1 },
  { id: 'u_rosa', name: 'Rosa Lopez', team: 'sales', activity: 1 },
  { id: 'u_dev_bot', name: 'dev-assistant bot', team: 'platform', activity: 2 },
];

export const CLIENTS: Array<{ name: string; weight: number }> = [
  { name: 'claude-desktop', weight: 5 },
  { name: 'cursor', weight: 4 },
  { name: 'copilot', weight: 2 },
  { name: 'ops-agent', weight: 1 },
];

export const TOOLS: ToolTemplate[] = [
  { name: 'salesforce_query', server: 'sales-gateway', kind: 'connector', connector: 'salesforce', weight: 8, teams: ['revops', 'sales'], failureRate: 0.03, meanMs: 900 },
  { name: 'hubspot_update_contact', server: 'sales-gateway', kind: 'connector', connector: 'hubspot', weight: 4, teams: ['sales'], failureRate: 0.04, meanMs: 700 },
  { name: 'gong_call_summary', server: 'sales-gateway', kind: 'connector', connector: 'gong', weight: 2, teams: ['sales'], failureRate: 0.02, meanMs: 2500 },
  { name: 'github_search_code', server: 'eng-gateway', kind: 'connector', connector: 'github', weight: 9, teams: ['eng', 'platform'], failureRate: 0.02, meanMs: 600 },
  { name: 'github_create_pr', server: 'eng-gateway', kind: 'connector', connector: 'github', weight: 3, teams: ['eng'], failureRate: 0.05, meanMs: 1500 },
  { name: 'jira_create_issue', server: 'eng-gateway', kind: 'connector', connector: 'jira', weight: 4, teams: ['eng', 'support'], failureRate: 0.03, meanMs: 800 },
  { name: 'jira_search', server: 'eng-gateway', kind: 'connector', connector: 'jira', weight: 5, teams: ['eng', 'support', 'platform'], failureRate: 0.02, meanMs: 500 },
  { name: 'slack_post_message', server: 'support-gateway', kind: 'connector', connector: 'slack', weight: 6, teams: ['support', 'revops', 'platform'], failureRate: 0.01, meanMs: 300 },
  { name: 'zendesk_get_ticket', server: 'support-gateway', kind: 'connector', connector: 'zendesk', weight: 5, teams: ['support'], failureRate: 0.03, meanMs: 450 },
  { name: 'snowflake_query', server: 'data-gateway', kind: 'connector', connector: 'snowflake', weight: 5, teams: ['data', 'revops'], failureRate: 0.06, meanMs: 4000, costUsd: 0.04 },
  { name: 'postgres_query', server: 'data-gateway', kind: 'connector', connector: 'postgres', weight: 4, teams: ['data', 'eng'], failureRate: 0.03, meanMs: 350 },
  { name: 'notion_search', server: 'support-gateway', kind: 'connector', connector: 'notion', weight: 3, teams: ['support', 'data', 'eng'], failureRate: 0.02, meanMs: 650 },
  // Retired: used early in the window, then never again (the "unused tools" story).
  { name: 'jira_legacy_create_ticket', server: 'eng-gateway', kind: 'connector', connector: 'jira', weight: 2, teams: ['support'], failureRate: 0.08, meanMs: 1200, retiredDaysAgo: 36 },
  { name: 'confluence_v1_search', server: 'support-gateway', kind: 'connector', connector: 'confluence', weight: 2, teams: ['support', 'eng'], failureRate: 0.05, meanMs: 900, retiredDaysAgo: 33 },
  {
    name: 'sync_opportunities', server: 'sales-gateway', kind: 'workflow', weight: 4, teams: ['revops', 'sales'], failureRate: 0.07, meanMs: 5200,
    steps: [
      { name: 'Lookup account', connector: 'salesforce', operation: 'soql_query', auth: 'user', tasks: 1 },
      { name: 'Update opportunities', connector: 'salesforce', operation: 'bulk_update', auth: 'user', tasks: 3 },
      { name: 'Notify owner', connector: 'slack', operation: 'post_message', auth: 'service', tasks: 1 },
    ],
  },
  {
    name: 'triage_incident', server: 'eng-gateway', kind: 'workflow', weight: 2, teams: ['platform', 'eng'], failureRate: 0.08, meanMs: 8000,
    steps: [
      { name: 'Fetch incident', connector: 'pagerduty', operation: 'get_incident', auth: 'service', tasks: 1 },
      { name: 'Query error logs', connector: 'datadog', operation: 'logs_query', auth: 'service', tasks: 2 },
      { name: 'Open ticket', connector: 'jira', operation: 'create_issue', auth: 'user', tasks: 1 },
      { name: 'Page channel', connector: 'slack', operation: 'post_message', auth: 'service', tasks: 1 },
    ],
  },
  {
    name: 'onboard_customer', server: 'support-gateway', kind: 'workflow', weight: 2, teams: ['support', 'sales'], failureRate: 0.05, meanMs: 6500,
    steps: [
      { name: 'Create contact', connector: 'hubspot', operation: 'create_contact', auth: 'user', tasks: 1 },
      { name: 'Open welcome ticket', connector: 'zendesk', operation: 'create_ticket', auth: 'service', tasks: 1 },
      { name: 'Announce', connector: 'slack', operation: 'post_message', auth: 'service', tasks: 1 },
    ],
  },
  {
    name: 'weekly_revenue_report', server: 'data-gateway', kind: 'workflow', weight: 1, teams: ['data', 'revops'], failureRate: 0.1, meanMs: 20000, costUsd: 0.35,
    steps: [
      { name: 'Run revenue query', connector: 'snowflake', operation: 'query', auth: 'service', tasks: 5 },
      { name: 'Render chart', connector: 'quickchart', operation: 'render', auth: 'none', tasks: 1 },
      { name: 'Post report', connector: 'slack', operation: 'post_message', auth: 'service', tasks: 1 },
    ],
  },
];

/** Tools a catalog file lists that nobody has ever called (for `unused_tools` demos). */
export const NEVER_USED_CATALOG_TOOLS = [
  { name: 'linear_create_issue', server: 'eng-gateway', kind: 'connector' as const },
  { name: 'stripe_refund', server: 'sales-gateway', kind: 'connector' as const },
];

export const FAILURES: Array<{ type: string; layer: 'llm' | 'tool' | 'connector' | 'auth' | 'platform'; message: string; weight: number; status?: 'terminated' }> = [
  { type: 'http_500', layer: 'connector', message: 'Upstream returned 500 Internal Server Error', weight: 5 },
  { type: 'rate_limited', layer: 'connector', message: 'Upstream rate limit exceeded (429), retry after 30s', weight: 4 },
  { type: 'auth_failed', layer: 'auth', message: 'OAuth token for the user was rejected (401)', weight: 3 },
  { type: 'token_expired', layer: 'auth', message: 'Refresh token expired; the user must reconnect the app', weight: 2 },
  { type: 'validation_error', layer: 'tool', message: 'Argument "query" failed validation: unexpected field', weight: 3 },
  { type: 'bad_arguments', layer: 'llm', message: 'Model produced arguments that do not match the tool schema', weight: 2 },
  { type: 'timeout', layer: 'platform', message: 'Execution exceeded the 30s platform limit', weight: 3, status: 'terminated' },
];
