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
}
