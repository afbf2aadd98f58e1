/**
 * A minimal MCP Apps host, for the browser tests and the README screenshot: a chat answer's
 * text above, and the view in a sandboxed iframe (scripts only, an opaque origin, a CSP with no
 * network), spoken to through the ext-apps AppBridge over postMessage. Tool calls the view makes
 * go to window.hostCallTool, which the test binds to a real MCP client of our server.
 */
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

declare global {
  interface Window {
    hostCallTool: (params: { name: string; arguments?: Record<string, unknown> }) => Promise<CallToolResult>;
    showAnswer: (html: string, question: string, toolArguments: Record<string, unknown>, result: CallToolResult, theme?: 'light' | 'dark') => Promise<void>;
  }
}

// What a host puts around a view by default: no network, nothing but its own inline code.
const VIEW_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

window.showAnswer = async (html, question, toolArguments, result, theme = 'light') => {
  const chat = document.getElementById('chat')!;
  const asked = document.createElement('div');
  asked.className = 'question';
  asked.textContent = question;
  const answer = document.createElement('div');
  answer.className = 'answer';
  const text = document.createElement('p');
  text.textContent = result.content.filter((c) => c.type === 'text').map((c) => (c as { text: string }).text)[0] ?? '';
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', 'allow-scripts');
  frame.style.width = '100%';
  frame.style.border = '1px solid #dde1e8';
  frame.style.borderRadius = '8px';
  frame.style.height = '300px';
  answer.append(text, frame);
  chat.append(asked, answer);

  const bridge = new AppBridge(null, { name: 'test-host', version: '1' }, { serverTools: {} }, { hostContext: { theme } });
  bridge.oncalltool = (params) => window.hostCallTool({ name: params.name, arguments: params.arguments });
  bridge.onsizechange = ({ height }) => {
    if (height) frame.style.height = `${Math.min(height + 4, 900)}px`;
  };
  const initialized = new Promise<void>((resolve) => (bridge.oninitialized = () => resolve()));
  frame.srcdoc = html.replace('<head>', `<head><meta http-equiv="Content-Security-Policy" content="${VIEW_CSP}">`);
  await bridge.connect(new PostMessageTransport(frame.contentWindow!, frame.contentWindow!));
  await initialized;
  await bridge.sendToolInput({ arguments: toolArguments });
  await bridge.sendToolResult(result);
};
