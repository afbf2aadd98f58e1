import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

/** The two journeys that chain tools: a weekly review of the fleet, and diagnosing one failed run. */
export function registerPrompts(server: McpServer): void {
  server.registerPrompt(
    'weekly_fleet_review',
    {
      title: 'Weekly fleet review',
      description: 'Review the MCP fleet over a week: trend, top tools and users, spikes, failures, cost and unused tools.',
      argsSchema: { window: z.string().optional().describe('Window to review, default 7d') },
    },
    ({ window }) => {
      const w = window ?? '7d';
      return {
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text: [
                `Review our MCP tool fleet over the last ${w} with the mcp-blackbox tools, in this order:`,
                `1. usage_summary (window ${w}): totals, success rate, active users, the change against the previous window and what drove it.`,
                '   If it carries a note (the window holds no data at all), lead with that: say where the data is and whether the log feed has stopped, then review the last week that has data.',
                `2. tool_usage (window ${w}, by tool) and again by client: what is used most and how reliably.`,
                `3. If the series shows a peak, who_drove_spike (window ${w}) and name the user, tool and client behind it.`,
                `4. failure_report (window ${w}): the top causes by layer; trace_execution one sample of the largest group.`,
                `5. cost_by_user and cost_by_tool (window ${w}): who and what spends the tasks, and the change.`,
                '6. unused_tools (window 30d): candidates to retire.',
                'Finish with a short report: headline numbers, three findings with evidence (execution ids), and recommended actions.',
              ].join('\n'),
            },
          },
        ],
      };
    },
  );

  server.registerPrompt(
    'diagnose_failed_run',
    {
      title: 'Diagnose a failed agent run',
      description: 'Find out why an agent run or tool call failed: the failing step, its layer and auth context, and whether it is a pattern.',
      argsSchema: {
        execution_id: z.string().optional().describe('The failed execution, if known'),
        user: z.string().optional().describe('Whose run failed (user id), if the id is not known'),
        when: z.string().optional().describe('Roughly when, RFC 3339 (for example 2026-10-27T02:00:00Z)'),
      },
    },
    ({ execution_id, user, when }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: [
              'Diagnose a failed MCP agent run with the mcp-blackbox tools.',
              execution_id
                ? `1. trace_execution with execution_id ${execution_id}.`
                : user
                  ? `1. Find it: failure_report with user ${user}${when ? ` and from/to around ${when}` : ''}, or list_executions with user ${user} and status failed; then trace_execution on the execution.`
                  : `1. Start from my_failures${when ? ` with from/to around ${when}` : ''}: your own failed calls, newest first, each with its verdict (only you, everyone, mixed) and the calls to make next; then trace_execution on the one that failed.`,
              '2. From the trace: which step failed, its connector and operation, the error layer (llm, tool, connector, auth, platform), and the auth mode and identity it ran with.',
              '3. Look at related executions of the same agent run and session: did the agent retry, and did later calls succeed?',
              '4. Is it a pattern? failure_report filtered by the same tool (window 7d): how often this error type occurs and since when.',
              'Answer with the root cause, the evidence (execution ids, step), and the fix (reconnect credentials, raise a limit, fix arguments, ...).',
            ].join('\n'),
          },
        },
      ],
    }),
  );

  server.registerPrompt(
    'tune_alerts',
    {
      title: 'Tune an alert rule on history',
      description: 'Backtest an alert rule (saved or new) on the last 30 days and tune it until it pages for what matters and stays quiet otherwise.',
      argsSchema: {
        rule: z.string().optional().describe('A saved rule to tune, by name'),
        goal: z.string().optional().describe('What the alert should catch, in words (for a new rule)'),
      },
    },
    ({ rule, goal }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: [
              'Tune an mcp-blackbox alert rule on the last 30 days before it pages anyone.',
              rule
                ? `1. alert_rules with name ${rule}: what it watches, its thresholds, channels, and whether it fires now.`
                : `1. alert_rules: the existing rules, the channels, and each kind's parameters and defaults. Draft a rule for: ${goal ?? 'the failure or spend pattern the team worries about'} (usage_summary, failure_report and fleet_catalog give the real names and volumes).`,
              `2. backtest_alert_rule (window 30d) with ${rule ? `name ${rule}` : 'the draft as rule'}: how many times it would have fired, for which groups, for how long, and how many notifications.`,
              '3. For the largest episodes, check they were real: who_drove_spike or failure_report around fired_at, and trace_execution a sample. Count false alarms and missed incidents.',
              '4. Adjust one thing at a time (threshold, min volume, window, for) and backtest again; stop when real incidents fire once each and quiet days stay quiet. Keep notifications to a handful a week.',
              `5. Show the before/after table (firings, notifications, episodes kept or dropped), then ${rule ? 'update_alert_rule' : 'create_alert_rule'} with the tuned values if an admin agrees.`,
            ].join('\n'),
          },
        },
      ],
    }),
  );
}
