// The official `@anthropic-ai/sdk` as a client for the Java tests: node anthropic-client.mjs BASE_URL MODE [MODEL]
// BASE_URL is the server root (the SDK appends /v1/messages). MODE:
//   stream-text  messages.stream(...) → finalMessage(): prints the assembled text and usage
//   stream-tool  the same with a tool the model calls: the SDK assembles the tool_use input
//   plain        non-streamed messages.create
//   plain-tool   non-streamed with tools
// Every text delta is printed as it arrives ({"delta": "..."}), so a test can pace the stream;
// the last line is {"result": {...}} or {"error": {...}} (an APIError or any other failure).
import Anthropic from '@anthropic-ai/sdk';

const [baseURL, mode, model = 'smart'] = process.argv.slice(2);
const client = new Anthropic({ apiKey: 'sk-ant-test', baseURL, maxRetries: 0, timeout: 20000 });
const messages = [{ role: 'user', content: 'Say hello.' }];
const tools = [{
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];
const print = (line) => process.stdout.write(JSON.stringify(line) + '\n');

const summary = (message) => ({
  id: message.id,
  model: message.model,
  text: message.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
  tool_uses: message.content.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, input: b.input })),
  stop_reason: message.stop_reason,
  usage: message.usage,
});

async function run() {
  switch (mode) {
    case 'stream-text':
    case 'stream-tool': {
      const stream = client.messages.stream(
        mode === 'stream-text' ? { model, max_tokens: 256, messages } : { model, max_tokens: 256, messages, tools });
      stream.on('text', (delta) => print({ delta }));
      let events = 0;
      stream.on('streamEvent', () => events++);
      const message = await stream.finalMessage();
      return { ...summary(message), events };
    }
    case 'plain':
    case 'plain-tool': {
      const message = await client.messages.create(
        mode === 'plain' ? { model, max_tokens: 256, messages } : { model, max_tokens: 256, messages, tools });
      return summary(message);
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

run().then(
  (result) => print({ result }),
  (e) => print({ error: { status: e.status ?? null, type: e.error?.error?.type ?? e.type ?? null, message: String(e.message) } }),
);
