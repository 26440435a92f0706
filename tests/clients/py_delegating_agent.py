#!/usr/bin/env python3
"""An agent that delegates to a copy of itself in a child process, for the sub-agent tests.

    py_delegating_agent.py URL --cafile PEM --task TEXT [--via LAUNCHERS] [--hang-at DEPTH]

Talks Anthropic Messages over HTTPS (http.client + ssl), offering one tool, `delegate`
{task}. When the model calls it, the agent runs itself with that task as a child process
and sends the child's answer (its stdout) back as the tool result; it prints its own final
answer. LAUNCHERS is a comma list, one per depth, of how the child is started:
  sh           /bin/sh -c "…" (the shell forks the child: a process between the agents)
  env          env CT_VIA=env …   (env execs it)
  xargs        xargs -0 …         (xargs forks it, arguments on stdin)
  spawn        os.posix_spawn
  double_fork  fork, fork again, exec in the grandchild; the middle process exits at once
--hang-at DEPTH: the agent at that depth sleeps after answering, and its parent kills it
(SIGKILL) after two seconds: a sub-agent killed mid-work (start it with `spawn`).
"""
import argparse
import http.client
import json
import os
import shlex
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse

TOOLS = [{"name": "delegate", "description": "Give a task to a helper agent",
          "input_schema": {"type": "object", "properties": {"task": {"type": "string"}},
                           "required": ["task"]}}]
KILL_AFTER_S = 2.0


def ask(conn, prefix, key, messages):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 512, "tools": TOOLS, "messages": messages}
    headers = {"content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01"}
    conn.request("POST", prefix + "/v1/messages", json.dumps(body), headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        sys.exit("HTTP %d: %s" % (resp.status, data[:300]))
    return json.loads(data)


def child_argv(args, task):
    argv = [sys.executable, os.path.abspath(__file__), args.url, "--cafile", args.cafile,
            "--task", task, "--key", args.key, "--depth", str(args.depth + 1),
            "--via", ",".join(args.via[1:]) or "sh"]
    if args.hang_at:
        argv += ["--hang-at", str(args.hang_at)]
    return argv


def read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(fd)
    return b"".join(chunks).decode()


def run_child(args, task):
    """Runs the child agent the way args.via[0] says; returns (its answer, how it ended)."""
    argv = child_argv(args, task)
    how = args.via[0] if args.via else "sh"
    if how in ("sh", "env", "xargs"):
        if how == "sh":
            cmd, stdin = ["/bin/sh", "-c", shlex.join(argv) + "; true"], None
        elif how == "env":
            cmd, stdin = ["env", "CT_VIA=env"] + argv, None
        else:
            cmd, stdin = ["xargs", "-0", argv[0]], "\0".join(argv[1:]).encode()
        r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=120)
        return r.stdout.decode(), "exit %d" % r.returncode
    rfd, wfd = os.pipe()
    if how == "spawn":
        pid = os.posix_spawn(argv[0], argv, dict(os.environ),
                             file_actions=[(os.POSIX_SPAWN_DUP2, wfd, 1), (os.POSIX_SPAWN_CLOSE, rfd)])
        os.close(wfd)
        return wait_child(args, pid, rfd)
    # double_fork
    mid = os.fork()
    if mid == 0:
        if os.fork() == 0:
            os.dup2(wfd, 1)
            os.close(rfd)
            os.execv(argv[0], argv)
        os._exit(0)
    os.close(wfd)
    os.waitpid(mid, 0)
    return read_all(rfd), "exit 0"


def wait_child(args, pid, rfd):
    if args.hang_at == args.depth + 1:
        time.sleep(KILL_AFTER_S)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(rfd)
        return "", "killed"
    out = read_all(rfd)
    _, status = os.waitpid(pid, 0)
    return out, "exit %d" % os.waitstatus_to_exitcode(status)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--cafile", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--key", default="sk-test")
    p.add_argument("--depth", type=int, default=1)
    p.add_argument("--via", default="sh")
    p.add_argument("--hang-at", type=int, default=0)
    args = p.parse_args()
    args.via = [v for v in args.via.split(",") if v]
    u = urllib.parse.urlsplit(args.url)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=args.cafile))
    messages = [{"role": "user", "content": args.task}]
    for _ in range(8):
        reply = ask(conn, u.path.rstrip("/"), args.key, messages)
        messages.append({"role": "assistant", "content": reply["content"]})
        calls = [b for b in reply["content"] if b.get("type") == "tool_use"]
        if not calls:
            break
        results = []
        for c in calls:
            answer, ended = run_child(args, c["input"].get("task", ""))
            text = answer.strip() if ended == "exit 0" else "helper failed (%s) %s" % (ended, answer.strip())
            results.append({"type": "tool_result", "tool_use_id": c["id"], "content": text})
        messages.append({"role": "user", "content": results})
    text = "".join(b.get("text", "") for b in reply["content"] if b.get("type") == "text")
    print(text, flush=True)
    if args.hang_at == args.depth:
        time.sleep(60)


if __name__ == "__main__":
    main()
