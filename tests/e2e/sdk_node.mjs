// PostHog's Node.js SDK, unchanged, pointed at llm-clusters-server: posthog-node with the
// OpenAI wrapper of @posthog/ai around a local OpenAI-compatible stub (a chat, a stream, a
// tool call and its answer) and a $pageview the server ignores. Writes the uuid and trace
// of every $ai_* event the SDK sent (its 'flush' events), one per line.
//
// NODE_PATH=<sdk>/node_modules node sdk_node.mjs SERVER_URL API_KEY STUB_URL SENT_FILE PREFIX
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(process.env.SDK_NODE_MODULES + '/');
const { PostHog } = require('posthog-node');
const { OpenAI } = require('@posthog/ai/openai');

const [server, key, stub, sentFile, prefix] = process.argv.slice(2);
const sent = [];
const errors = [];
const posthog = new PostHog(key, { host: server, flushAt: 4, flushInterval: 100, fetchRetryCount: 3, fetchRetryDelay: 200 });
posthog.on('flush', (messages) => {
  for (const m of messages) {
    if (m.event.startsWith('$ai_')) sent.push({ uuid: m.uuid, trace: m.properties.$ai_trace_id });
  }
});
posthog.on('error', (err) => errors.push(String(err)));
const openai = new OpenAI({ apiKey: 'sk-stub', baseURL: stub + '/v1', posthog });

await openai.chat.completions.create({
  model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Cancel my subscription please' }],
  posthogDistinctId: 'node-user-1', posthogTraceId: prefix + '-chat', posthogProperties: { plan: 'free' },
});
const stream = await openai.chat.completions.create({
  model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Summarise this article about rivers' }], stream: true,
  posthogDistinctId: 'node-user-2', posthogTraceId: prefix + '-stream',
});
for await (const _chunk of stream) { /* consume */ }
const tools = [{ type: 'function', function: { name: 'lookup_order', description: 'Order status',
  parameters: { type: 'object', properties: { id: { type: 'string' } } } } }];
const question = [{ role: 'user', content: 'Where is order 42?' }];
const first = await openai.chat.completions.create({
  model: 'gpt-4o-mini', messages: question, tools, posthogDistinctId: 'node-user-3', posthogTraceId: prefix + '-tools',
});
const call = first.choices[0].message.tool_calls[0];
await openai.chat.completions.create({
  model: 'gpt-4o-mini', tools, posthogDistinctId: 'node-user-3', posthogTraceId: prefix + '-tools',
  messages: [...question, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"status": "shipped"}' }],
});
posthog.capture({ distinctId: 'node-user-1', event: '$pageview', properties: { $current_url: 'https://example.com' } });
await posthog.shutdown();
writeFileSync(sentFile, sent.map((e) => JSON.stringify(e) + '\n').join(''));
if (errors.length) {
  console.error('the SDK reported errors: ' + errors.join('; '));
  process.exit(1);
}
console.log(`sent ${sent.length} $ai_* events`);
