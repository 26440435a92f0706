#!/usr/bin/env python3
"""An agent that puts credentials everywhere it could, for the security test
(tests/security_test.cpp): headers, query strings, JSON bodies, tool arguments, `sh -c`
strings, the environment of its tools, and tool results that echo a key back to the model.

    py_leaky_agent.py CONFIG.json [--api-key KEY]

CONFIG: {"https": URL, "http": URL, "cafile": PEM, "keys": {NAME: KEY, ...}}; the names
are the ones used below. Prints "done" when every exchange succeeded.
"""
import http.client
import json
import ssl
import subprocess
import sys
import urllib.parse


class Conn:
    def __init__(self, url, cafile):
        u = urllib.parse.urlsplit(url)
        if u.scheme == "https":
            ctx = ssl.create_default_context(cafile=cafile)
            self.conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
        else:
            self.conn = http.client.HTTPConnection(u.hostname, u.port)

    def post(self, path, body, headers, stream=False):
        headers = dict(headers, **{"content-type": "application/json"})
        self.conn.request("POST", path, json.dumps(body), headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if stream:
            return data
        if resp.status != 200:
            sys.exit("HTTP %d on %s: %s" % (resp.status, path, data[:300]))
        return json.loads(data)


def run_tool(command, env_extra):
    """Runs a tool the way agents do (sh -c), with credentials in its environment."""
    env = {"PATH": "/usr/bin:/bin"}
    env.update(env_extra)
    return subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True,
                          text=True, check=True).stdout


def main():
    cfg = json.load(open(sys.argv[1]))
    k = cfg["keys"]
    tools = [{"name": "bash", "description": "Run a shell command",
              "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]

    # Anthropic over HTTPS: the key in x-api-key; a different key pasted in the prompt.
    anthropic = Conn(cfg["https"], cfg["cafile"])
    head = {"x-api-key": k["x_api_key"], "anthropic-version": "2023-06-01"}
    msgs = [{"role": "user", "content": "Deploy with " + k["prompt_sk_ant"] + " please."}]
    first = anthropic.post("/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 256,
                                            "messages": msgs, "tools": tools}, head)
    call = next(b for b in first["content"] if b["type"] == "tool_use")
    # The tool's environment holds two keys; it prints one of them back (a tool result
    # echoing a key), the other stays in its environment only.
    output = run_tool(call["input"]["command"] + "; printenv SERVICE_TOKEN",
                      {"SERVICE_TOKEN": k["env_echoed"], "DB_PASSWORD": k["env_only"]})
    msgs += [{"role": "assistant", "content": first["content"]},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"],
                                           "content": output}]}]
    anthropic.post("/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 256,
                                    "messages": msgs}, head)

    # Tools started with keys on their command lines: flags, bare, `sh -c` strings.
    subprocess.run(["/bin/true", "--api-key", k["argv_flag"], k["argv_bare"],
                    "--token=" + k["argv_eq"]], check=True)
    run_tool("/bin/true --key " + k["shc_flag"] + " -H 'x-api-key: " + k["shc_header"] + "' " +
             k["shc_bare"], {})

    # OpenAI over plain HTTP: a bearer token, an api_key field in the body, a Google key
    # pasted in a message.
    openai = Conn(cfg["http"], None)
    openai.post("/v1/chat/completions",
                {"model": "gpt-4o", "api_key": k["json_field"],
                 "messages": [{"role": "user", "content": "Is " + k["prompt_aiza"] + " valid?"}]},
                {"authorization": "Bearer " + k["bearer"]})

    # The model streams an answer quoting a key: the key is cut across SSE events.
    openai.post("/v1/chat/completions",
                {"model": "gpt-4o", "stream": True,
                 "messages": [{"role": "user", "content": "stream-me the key back"}]},
                {"authorization": "Bearer " + k["bearer"]}, stream=True)

    # Gemini over HTTPS: ?key= in the query and x-goog-api-key in the headers.
    gemini = Conn(cfg["https"], cfg["cafile"])
    gemini.post("/v1beta/models/gemini-2.5-flash:generateContent?key=" + k["query_key"],
                {"contents": [{"role": "user", "parts": [{"text": "Hello there."}]}]},
                {"x-goog-api-key": k["goog_header"]})
    print("done")


if __name__ == "__main__":
    main()
