// Calls the stand-in through the official Node SDKs from npm (plain HTTP base URL):
//   node node_sdk_calls.cjs NODE_MODULES_DIR BASE_URL openai|anthropic
// openai: chat (JSON, stream with include_usage), responses (JSON, stream).
// anthropic: messages (JSON, stream via messages.stream → finalMessage).
const path = require("path");
const [modules, base, which] = process.argv.slice(2);
const key = process.env.CT_API_KEY;
const tools = [{ type: "function", function: { name: "bash", parameters: { type: "object",
  properties: { command: { type: "string" } } } } }];

async function openai() {
  const OpenAI = require(path.join(modules, "openai"));
  const client = new OpenAI({ baseURL: base + "/v1", apiKey: key, maxRetries: 0 });
  const messages = [{ role: "user", content: "Say hello." }];
  await client.chat.completions.create({ model: "gpt-4o", messages, tools });
  const stream = await client.chat.completions.create({ model: "gpt-4o", messages, stream: true,
    stream_options: { include_usage: true } });
  for await (const chunk of stream) void chunk;
  await client.responses.create({ model: "gpt-5", input: "Say hello." });
  const rstream = await client.responses.create({ model: "gpt-5", input: "Say hello.", stream: true });
  for await (const event of rstream) void event;
}

async function anthropic() {
  const mod = require(path.join(modules, "@anthropic-ai/sdk"));
  const Anthropic = mod.default || mod.Anthropic || mod;
  const client = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0 });
  const req = { model: "claude-sonnet-4-5", max_tokens: 256,
    messages: [{ role: "user", content: "Say hello." }] };
  await client.messages.create(req);
  await client.messages.stream(req).finalMessage();
}

(which === "openai" ? openai() : anthropic()).then(
  () => console.log("ok"),
  (e) => { console.error(String(e)); process.exit(1); });
