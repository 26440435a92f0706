// One OpenClaw agent turn through a Gateway, for tracing sub-agents: OpenClaw runs
// `sessions_spawn` children only inside a Gateway (`openclaw agent --local` answers the
// spawn with "published reply runtime missing"), and the CLI returns when the parent's
// turn ends, before the child has run and announced its result. So this starts
// `openclaw gateway run`, waits for its port, runs `openclaw agent --agent main --message
// MSG`, waits until the stand-in's log shows an exchange answered by rule WAIT_RULE (the
// parent's turn that received the child's announcement), then stops the Gateway.
//
// usage: node openclaw_gateway_turn.mjs OPENCLAW_MJS GATEWAY_PORT STANDIN_LOG WAIT_RULE MSG
// Exit status: the agent CLI's when it failed, 3 when WAIT_RULE never showed up, 4 when
// the Gateway did not open its port, else the Gateway's (0 after SIGTERM).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";

const [openclaw, portText, standinLog, waitRule, message] = process.argv.slice(2);
const port = Number(portText);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(args, opts = {}) {
  const child = spawn(process.execPath, [openclaw, ...args], { stdio: ["ignore", "pipe", "pipe"], ...opts });
  child.output = "";
  child.stdout.on("data", (d) => (child.output += d));
  child.stderr.on("data", (d) => (child.output += d));
  child.done = new Promise((r) => child.on("exit", (code, signal) => r(signal ? 128 : code)));
  return child;
}

function portOpen() {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.on("connect", () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });
}

async function until(check, seconds) {
  for (const end = Date.now() + seconds * 1000; Date.now() < end; await sleep(250)) if (await check()) return true;
  return false;
}

function ruleSeen() {
  try {
    return readFileSync(standinLog, "utf8").split("\n").some((l) => l.includes(`"rule":${JSON.stringify(waitRule)}`));
  } catch {
    return false;
  }
}

async function stop(gateway) {
  gateway.kill("SIGTERM");
  const killer = setTimeout(() => gateway.kill("SIGKILL"), 20000);
  const code = await gateway.done;
  clearTimeout(killer);
  return code;
}

const gateway = run(["gateway", "run"]);
let status = 0;
if (!(await until(portOpen, 90))) {
  status = 4;
} else {
  const agent = run(["agent", "--agent", "main", "--message", message]);
  const agentStatus = await agent.done;
  process.stdout.write(agent.output);
  if (agentStatus !== 0) status = agentStatus;
  else if (!(await until(ruleSeen, 60))) status = 3;
  await sleep(1000);  // the parent's last turn settles after its final answer
}
const gatewayStatus = await stop(gateway);
if (status !== 0) process.stderr.write(`status ${status}; gateway output:\n${gateway.output.slice(-4000)}\n`);
process.exit(status || gatewayStatus);
