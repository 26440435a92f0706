#!/usr/bin/env python3
"""An agent with a Task-style tool, for the in-process sub-agent test.

    py_task_agent.py URL --cafile PEM [--key KEY]

One process, one keep-alive HTTPS connection (http.client + ssl), Anthropic Messages.
The main conversation offers `Task` {description, prompt} and `bash` {command}. When the
model calls Task, the agent runs a second conversation inside the tool call — the prompt
as its first message, its own `bash` tool run as a real process — and returns that
conversation's last answer as the Task result. Alongside, it asks for a title of the
session in a request without tools (a side call). Prints the main conversation's answer.
"""
import argparse
import http.client
import json
import ssl
import subprocess
import sys
import urllib.parse

BASH = {"name": "bash", "description": "Run a shell command",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}
TASK = {"name": "Task", "description": "Give a task to a sub-agent",
        "input_schema": {"type": "object", "properties": {"description": {"type": "string"},
                                                          "prompt": {"type": "string"}}}}


class Api:
    def __init__(self, url, cafile, key):
        u = urllib.parse.urlsplit(url)
        self.prefix = u.path.rstrip("/")
        self.key = key
        self.conn = http.client.HTTPSConnection(u.hostname, u.port,
                                                context=ssl.create_default_context(cafile=cafile))

    def ask(self, system, tools, messages):
        body = {"model": "claude-sonnet-4-5", "max_tokens": 512, "system": system, "messages": messages}
        if tools:
            body["tools"] = tools
        self.conn.request("POST", self.prefix + "/v1/messages", json.dumps(body),
                          {"content-type": "application/json", "x-api-key": self.key,
                           "anthropic-version": "2023-06-01"})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            sys.exit("HTTP %d: %s" % (resp.status, data[:300]))
        return json.loads(data)["content"]


def text_of(content):
    return "".join(b.get("text", "") for b in content if b.get("type") == "text")


def converse(api, system, tools, first, run_tool):
    """A tool loop; returns the last answer."""
    messages = [{"role": "user", "content": first}]
    for _ in range(8):
        content = api.ask(system, tools, messages)
        messages.append({"role": "assistant", "content": content})
        calls = [b for b in content if b.get("type") == "tool_use"]
        if not calls:
            return text_of(content)
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": c["id"], "content": run_tool(c)} for c in calls]})
    return ""


def bash(call):
    r = subprocess.run(["/bin/sh", "-c", call["input"].get("command", "true")], capture_output=True, text=True)
    return r.stdout


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--cafile", required=True)
    p.add_argument("--key", default="sk-test")
    args = p.parse_args()
    api = Api(args.url, args.cafile, args.key)
    prompt = "Tidy up the repository: start by listing the TODO comments."
    titled = []

    def run_tool(call):
        if not titled:  # once, while the first tool call is open, like a UI would
            titled.append(text_of(api.ask("Write a five-word title for this session.", [],
                                          [{"role": "user", "content": prompt}])))
        if call["name"] == "Task":
            return converse(api, "You are a sub-agent.", [BASH], call["input"].get("prompt", ""), bash)
        return bash(call)

    print(converse(api, "You are the main agent.", [TASK, BASH], prompt, run_tool))


if __name__ == "__main__":
    main()
