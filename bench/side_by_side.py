#!/usr/bin/env python3
"""Side by side: one HTTPS LLM workload (bench_llm_client: N streamed exchanges, 50 KB request,
5 KB response, one keep-alive connection) against the provider stand-in, run
  untraced | under the preload | through `clawtrace relay` | through mitmproxy (mitmdump,
  reverse proxy, recording to a file) | under `strace -f -e trace=network,process -o FILE`,
interleaved over ROUNDS rounds. Per condition (medians): wall time, added latency per
exchange, the agent's CPU time and peak RSS (wait4 rusage), and for the two proxies their own
CPU time and peak RSS. Called by bench/run.sh (ONLY=compare).

  side_by_side.py CLIENT URL CERT CLAWTRACE PRELOAD WORKDIR [N] [ROUNDS]
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time


def run_agent(argv, env=None):
    """Runs argv to completion: (wall s, cpu s, peak RSS KiB) of it and its waited children."""
    start = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, **(env or {})))
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit("%s failed with %d" % (argv[0], p.returncode))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def wait_port(path_or_fn, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        v = path_or_fn()
        if v:
            return v
        time.sleep(0.05)
    raise SystemExit("a proxy did not start")


def main():
    client, url, cert, ct, preload, work = sys.argv[1:7]
    n = int(sys.argv[7]) if len(sys.argv) > 7 else 500
    rounds = int(sys.argv[8]) if len(sys.argv) > 8 else 5
    upstream = url.rsplit("/v1/", 1)[0]
    path = "/v1/messages"

    relay_ready = os.path.join(work, "cmp-relay.json")
    relay = subprocess.Popen([ct, "--store", os.path.join(work, "cmp-relay-store"), "relay", "--listen", "127.0.0.1:0",
                              "--upstream", upstream, "--cacert", cert, "--ready-file", relay_ready],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rport = wait_port(lambda: os.path.exists(relay_ready) and json.load(open(relay_ready))["port"])

    mitm = None
    if shutil.which("mitmdump"):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        mport = s.getsockname()[1]
        s.close()
        mitm = subprocess.Popen(["mitmdump", "-q", "--mode", "reverse:" + upstream, "--listen-host", "127.0.0.1",
                                 "--listen-port", str(mport), "--ssl-insecure", "-w", os.path.join(work, "cmp.mitm")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def mitm_up():
            try:
                socket.create_connection(("127.0.0.1", mport), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_port(mitm_up)

    conditions = [("untraced", [client, url, cert, str(n), "50"], None, None)]
    conditions.append(("preload (LD_PRELOAD)", [client, url, cert, str(n), "50"],
                       {"LD_PRELOAD": preload, "CLAWTRACE_STORE": os.path.join(work, "cmp-preload")}, None))
    conditions.append(("clawtrace relay", [client, "http://127.0.0.1:%d%s" % (rport, path), "", str(n), "50"], None, relay))
    if mitm:
        conditions.append(("mitmproxy (mitmdump -w)", [client, "http://127.0.0.1:%d%s" % (mport, path), "", str(n), "50"],
                           None, mitm))
    if shutil.which("strace"):
        conditions.append(("strace -f -e network,process", ["strace", "-f", "-e", "trace=network,process", "-o",
                                                           os.path.join(work, "cmp.strace"), client, url, cert, str(n),
                                                           "50"], None, None))
    results = {name: {"wall": [], "cpu": [], "rss": [], "proxy_cpu": []} for name, *_ in conditions}
    for _ in range(rounds):
        for name, argv, env, proxy in conditions:
            before = proc_cpu(proxy.pid) if proxy else 0
            wall, cpu, rss = run_agent(argv, env)
            r = results[name]
            r["wall"].append(wall)
            r["cpu"].append(cpu)
            r["rss"].append(rss)
            if proxy:
                r["proxy_cpu"].append(proc_cpu(proxy.pid) - before)
            if env and "CLAWTRACE_STORE" in env:
                shutil.rmtree(env["CLAWTRACE_STORE"], ignore_errors=True)
    proxy_rss = {relay.pid: proc_hwm_kib(relay.pid)}
    if mitm:
        proxy_rss[mitm.pid] = proc_hwm_kib(mitm.pid)
    for p in [relay] + ([mitm] if mitm else []):
        p.send_signal(signal.SIGTERM)
        p.wait()

    base = results["untraced"]
    bw, bc, br = (statistics.median(base[k]) for k in ("wall", "cpu", "rss"))
    print("side by side: %d streamed HTTPS exchanges (50 KB request, 5 KB response), median of %d interleaved rounds"
          % (n, rounds))
    print("| condition | wall s | ratio | added ms/exchange | agent CPU s | agent peak RSS MB (+ vs untraced) | proxy CPU s | proxy peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, _, _, proxy in conditions:
        r = results[name]
        w, c, rss = (statistics.median(r[k]) for k in ("wall", "cpu", "rss"))
        pc = "%.2f" % statistics.median(r["proxy_cpu"]) if proxy else "-"
        pr = "%.1f" % (proxy_rss[proxy.pid] / 1024) if proxy else "-"
        print("| %s | %.2f | %.3f | %+.3f | %.2f | %.1f (%+.1f) | %s | %s |"
              % (name, w, w / bw, (w - bw) * 1000 / n, c, rss / 1024, (rss - br) / 1024, pc, pr))


if __name__ == "__main__":
    main()
