// The official `openai` SDK as a client for the Java tests: node openai-client.mjs BASE_URL MODE [MODEL]
// BASE_URL ends in /v1 (the SDK appends /chat/completions). MODE:
//   stream-text  streamed text with stream_options.include_usage: prints the assembled text and usage
//   stream-tool  streamed tool call, assembled by the SDK's own helper (chat.completions.stream → finalChatCompletion)
//   plain        non-streamed
//   plain-tool   non-streamed with tools
// Every text delta is printed as it arrives ({"delta": "..."}), so a test can pace the stream;
// the last line is {"result": {...}} or {"error": {...}} (an APIError or any other failure).
import OpenAI from 'openai';

const [baseURL, mode, model = 'smart'] = process.argv.slice(2);
const client = new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0, timeout: 20000 });
const messages = [{ role: 'user', content: 'Say hello.' }];
const tools = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}];
const print = (line) => process.stdout.write(JSON.stringify(line) + '\n');

async function run() {
  switch (mode) {
    case 'stream-text': {
      const stream = await client.chat.completions.create({
        model, messages, stream: true, stream_options: { include_usage: true },
      });
      let text = '';
      let finishReason = null;
      let usage = null;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        const choice = chunk.choices[0];
        if (choice?.delta?.content) {
          text += choice.delta.content;
          print({ delta: choice.delta.content });
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, finish_reason: finishReason, usage, chunks };
    }
    case 'stream-tool': {
      const runner = client.chat.completions.stream({
        model, messages, tools, stream_options: { include_usage: true },
      });
      runner.on('content', (delta) => print({ delta }));
      const completion = await runner.finalChatCompletion();
      const choice = completion.choices[0];
      return {
        text: choice.message.content,
        tool_calls: choice.message.tool_calls ?? [],
        finish_reason: choice.finish_reason,
        usage: completion.usage ?? null,
      };
    }
    case 'plain':
    case 'plain-tool': {
      const completion = await client.chat.completions.create(
        mode === 'plain' ? { model, messages } : { model, messages, tools });
      const choice = completion.choices[0];
      return {
        text: choice.message.content,
        tool_calls: choice.message.tool_calls ?? [],
        finish_reason: choice.finish_reason,
        usage: completion.usage,
      };
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

run().then(
  (result) => print({ result }),
  (e) => print({ error: { status: e.status ?? null, type: e.type ?? null, code: e.code ?? null, message: String(e.message) } }),
);
