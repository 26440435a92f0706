#!/usr/bin/env python3
"""A minimal agent loop over the Python standard library (http.client + ssl), for the
end-to-end capture tests: one keep-alive connection, a request offering a `bash` tool,
the tool run as a real process (`sh -c`), its output sent back, the final answer printed.

    py_tool_loop.py URL API [--stream] [--cafile PEM] [--key KEY] [--turns N]

API: anthropic | openai_chat | openai_responses | gemini | ollama. Prints one JSON object
on stdout: the tool calls it ran (id, name, arguments, output) and the final text.
"""
import argparse
import http.client
import json
import ssl
import subprocess
import sys
import urllib.parse

TOOL_SCHEMA = {"type": "object", "properties": {"command": {"type": "string"}},
               "required": ["command"]}
PROMPT = "Use the bash tool to run `echo hello`, then tell me what it printed."


def sse_events(resp):
    """Yields (event, data) pairs of a text/event-stream response."""
    event, data = "", []
    for raw in resp:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    if data:
        yield event, "\n".join(data)


class Client:
    def __init__(self, url, cafile, key):
        u = urllib.parse.urlsplit(url)
        self.prefix = u.path.rstrip("/")
        self.key = key
        if u.scheme == "https":
            ctx = ssl.create_default_context(cafile=cafile)
            self.conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
        else:
            self.conn = http.client.HTTPConnection(u.hostname, u.port)

    def post(self, path, body, headers):
        headers = dict(headers, **{"content-type": "application/json"})
        self.conn.request("POST", self.prefix + path, json.dumps(body), headers)
        resp = self.conn.getresponse()
        if resp.status != 200:
            sys.exit("HTTP %d: %s" % (resp.status, resp.read()[:300]))
        return resp


# Each API: build the request, read the answer as (text, [(id, name, args)]), append turns.
def anthropic_turn(c, msgs, stream):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 512, "messages": msgs, "stream": stream,
            "tools": [{"name": "bash", "description": "Run a shell command",
                       "input_schema": TOOL_SCHEMA}]}
    resp = c.post("/v1/messages", body, {"x-api-key": c.key, "anthropic-version": "2023-06-01"})
    if not stream:
        content = json.loads(resp.read())["content"]
    else:
        content = []
        for _, data in sse_events(resp):
            ev = json.loads(data)
            if ev["type"] == "content_block_start":
                block = dict(ev["content_block"])
                if block["type"] == "tool_use":
                    block["partial"] = ""
                content.append(block)
            elif ev["type"] == "content_block_delta":
                d = ev["delta"]
                if d["type"] == "text_delta":
                    content[-1]["text"] += d["text"]
                elif d["type"] == "input_json_delta":
                    content[-1]["partial"] += d["partial_json"]
        for b in content:
            if b["type"] == "tool_use":
                b["input"] = json.loads(b.pop("partial") or "{}")
    msgs.append({"role": "assistant", "content": content})
    text = "".join(b.get("text", "") for b in content if b["type"] == "text")
    calls = [(b["id"], b["name"], b["input"]) for b in content if b["type"] == "tool_use"]
    return text, calls


def anthropic_results(msgs, results):
    msgs.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": i, "content": out} for i, _, out in results]})


def openai_chat_turn(c, msgs, stream):
    body = {"model": "gpt-4o", "messages": msgs, "stream": stream,
            "tools": [{"type": "function", "function": {"name": "bash", "parameters": TOOL_SCHEMA}}]}
    if stream:
        body["stream_options"] = {"include_usage": True}
    resp = c.post("/v1/chat/completions", body, {"authorization": "Bearer " + c.key})
    if not stream:
        msg = json.loads(resp.read())["choices"][0]["message"]
        text, tcs = msg.get("content") or "", msg.get("tool_calls") or []
    else:
        text, by_index = "", {}
        for _, data in sse_events(resp):
            if data == "[DONE]":
                continue  # read on to the end of the body: the connection is reused
            for ch in json.loads(data)["choices"]:
                d = ch.get("delta", {})
                text += d.get("content") or ""
                for tc in d.get("tool_calls") or []:
                    slot = by_index.setdefault(tc["index"], {"id": "", "type": "function",
                                                             "function": {"name": "", "arguments": ""}})
                    slot["id"] = tc.get("id") or slot["id"]
                    f = tc.get("function", {})
                    slot["function"]["name"] += f.get("name") or ""
                    slot["function"]["arguments"] += f.get("arguments") or ""
        tcs = [by_index[k] for k in sorted(by_index)]
    msgs.append({"role": "assistant", "content": text or None, **({"tool_calls": tcs} if tcs else {})})
    return text, [(t["id"], t["function"]["name"], json.loads(t["function"]["arguments"] or "{}"))
                  for t in tcs]


def openai_chat_results(msgs, results):
    for i, _, out in results:
        msgs.append({"role": "tool", "tool_call_id": i, "content": out})


def responses_turn(c, items, stream):
    body = {"model": "gpt-5", "input": items, "stream": stream,
            "tools": [{"type": "function", "name": "bash", "parameters": TOOL_SCHEMA}]}
    resp = c.post("/v1/responses", body, {"authorization": "Bearer " + c.key})
    if not stream:
        output = json.loads(resp.read())["output"]
    else:
        output = []
        for _, data in sse_events(resp):
            ev = json.loads(data)
            if ev["type"] == "response.output_item.done":
                output.append(ev["item"])
    text, calls = "", []
    for item in output:
        if item["type"] == "message":
            text += "".join(p.get("text", "") for p in item["content"])
        elif item["type"] == "function_call":
            items.append({"type": "function_call", "call_id": item["call_id"], "name": item["name"],
                          "arguments": item["arguments"]})
            calls.append((item["call_id"], item["name"], json.loads(item["arguments"] or "{}")))
    return text, calls


def responses_results(items, results):
    for i, _, out in results:
        items.append({"type": "function_call_output", "call_id": i, "output": out})


def gemini_turn(c, contents, stream):
    body = {"contents": contents,
            "tools": [{"functionDeclarations": [{"name": "bash", "parameters": TOOL_SCHEMA}]}]}
    method = "streamGenerateContent?alt=sse&" if stream else "generateContent?"
    resp = c.post("/v1beta/models/gemini-2.5-flash:" + method + "key=" + c.key, body, {})
    chunks = [json.loads(d) for _, d in sse_events(resp)] if stream else [json.loads(resp.read())]
    parts = [p for ch in chunks for cand in ch.get("candidates", [])
             for p in cand.get("content", {}).get("parts", [])]
    contents.append({"role": "model", "parts": parts})
    text = "".join(p.get("text", "") for p in parts)
    calls = [(p["functionCall"].get("id", ""), p["functionCall"]["name"], p["functionCall"].get("args", {}))
             for p in parts if "functionCall" in p]
    return text, calls


def gemini_results(contents, results):
    contents.append({"role": "user", "parts": [
        {"functionResponse": {"name": name, "response": {"output": out}}} for _, name, out in results]})


def ollama_turn(c, msgs, stream):
    body = {"model": "llama3.2", "messages": msgs, "stream": stream,
            "tools": [{"type": "function", "function": {"name": "bash", "parameters": TOOL_SCHEMA}}]}
    resp = c.post("/api/chat", body, {})
    lines = [json.loads(l) for l in resp.read().decode().splitlines() if l.strip()]
    text = "".join(l.get("message", {}).get("content", "") for l in lines)
    tcs = [tc for l in lines for tc in l.get("message", {}).get("tool_calls") or []]
    msgs.append({"role": "assistant", "content": text, **({"tool_calls": tcs} if tcs else {})})
    return text, [("", t["function"]["name"], t["function"]["arguments"]) for t in tcs]


def ollama_results(msgs, results):
    for _, name, out in results:
        msgs.append({"role": "tool", "content": out, "tool_name": name})


APIS = {
    "anthropic": (anthropic_turn, anthropic_results,
                  lambda: [{"role": "user", "content": PROMPT}]),
    "openai_chat": (openai_chat_turn, openai_chat_results,
                    lambda: [{"role": "system", "content": "You are terse."},
                             {"role": "user", "content": PROMPT}]),
    "openai_responses": (responses_turn, responses_results,
                         lambda: [{"role": "user", "content": PROMPT}]),
    "gemini": (gemini_turn, gemini_results, lambda: [{"role": "user", "parts": [{"text": PROMPT}]}]),
    "ollama": (ollama_turn, ollama_results, lambda: [{"role": "user", "content": PROMPT}]),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("api", choices=sorted(APIS))
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--key", default="sk-test-0123456789abcdef")
    ap.add_argument("--turns", type=int, default=4)
    a = ap.parse_args()
    turn, send_results, start = APIS[a.api]
    client, history, ran, text = Client(a.url, a.cafile, a.key), start(), [], ""
    for _ in range(a.turns):
        text, calls = turn(client, history, a.stream)
        if not calls:
            break
        results = []
        for call_id, name, args in calls:
            out = subprocess.run(["sh", "-c", args.get("command", "true")], capture_output=True,
                                 text=True).stdout
            results.append((call_id, name, out))
            ran.append({"id": call_id, "name": name, "arguments": args, "output": out})
        send_results(history, results)
    print(json.dumps({"tool_calls": ran, "text": text}))


if __name__ == "__main__":
    main()
