// Writes the session transcripts an OpenClaw state directory holds as the JSONL files
// OpenClaw used to keep them in: OUT/agents/<agent>/sessions/<sessionId>.jsonl, one
// transcript event per line, in order. OpenClaw 2026.9 stores the same event lines in
// SQLite (agents/<agent>/agent/openclaw-agent.sqlite, table transcript_events: event_json,
// or event_zstd when compressed); this reads them back unchanged.
// usage: node openclaw_transcripts_jsonl.mjs STATE_DIR OUT_DIR
import { DatabaseSync } from "node:sqlite";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { zstdDecompressSync } from "node:zlib";

const [stateDir, outDir] = process.argv.slice(2);
if (!stateDir || !outDir) {
  console.error("usage: openclaw_transcripts_jsonl.mjs STATE_DIR OUT_DIR");
  process.exit(2);
}
let written = 0;
const agentsDir = join(stateDir, "agents");
for (const agent of existsSync(agentsDir) ? readdirSync(agentsDir) : []) {
  const dbPath = join(agentsDir, agent, "agent", "openclaw-agent.sqlite");
  if (!existsSync(dbPath)) continue;
  const db = new DatabaseSync(dbPath, { readOnly: true });
  const sessions = db.prepare("SELECT DISTINCT session_id FROM transcript_events ORDER BY session_id").all();
  const rows = db.prepare("SELECT event_json, event_zstd FROM transcript_events WHERE session_id = ? ORDER BY seq");
  const dir = join(outDir, "agents", agent, "sessions");
  mkdirSync(dir, { recursive: true });
  for (const { session_id } of sessions) {
    const lines = rows.all(session_id).map((r) =>
      r.event_json ?? zstdDecompressSync(Buffer.from(r.event_zstd)).toString("utf8"));
    writeFileSync(join(dir, `${session_id}.jsonl`), lines.join("\n") + "\n");
    written++;
  }
  db.close();
}
console.log(`${written} transcripts`);
