import { alertStore } from '../tool.js';
import { AccessDenied } from '../../errors.js';
import type { RuleChangeContext } from '../../alerts/manage.js';
import type { ToolContext } from '../tool.js';

/** Rule changes and silences are for admins: they decide who is paged, and they are audited. */
export function ruleChanges(ctx: ToolContext, what: string): RuleChangeContext {
  if (!ctx.access.isAdmin()) throw new AccessDenied(`Only admins can ${what}; alert_rules and list_alerts are open to everyone.`);
  return { alerts: alertStore(ctx), audit: ctx.audit, actor: ctx.access.caller.id, clock: ctx.clock, channels: ctx.alertChannels };
}
