#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/ (re-run after changing an input format).

fuzz_http: byte 0 picks limits, then op records (see fuzz_http.cpp).
fuzz_sse: byte 0 seeds piece sizes, then the body.
fuzz_decode: byte 0 picks codings and mode, byte 1 seeds piece sizes, then the payload.
fuzz_http_restore: a saved http::Connection (format version 1, see Impl::save in http.cpp).
"""
import os
import shutil
import subprocess
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

OUT, IN = 0, 1


def gzip_parts(parts, wbits=31):
    c = zlib.compressobj(6, zlib.DEFLATED, wbits)
    blocks = [c.compress(p) + c.flush(zlib.Z_SYNC_FLUSH) for p in parts]
    blocks.append(c.flush())
    return blocks


def zstd(data):
    if not shutil.which("zstd"):
        return None
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout


def chunked(parts, ext=b""):
    out = b""
    for p in parts:
        if p:
            out += b"%x" % len(p) + ext + b"\r\n" + p + b"\r\n"
    return out + b"0\r\n\r\n"


def request(method, target, headers=b"", body=b"", length=True):
    head = method + b" " + target + b" HTTP/1.1\r\nHost: api.example.com\r\n" + headers
    if body and length:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + b"\r\n" + body


def response(status, headers=b"", body=b"", length=True):
    head = b"HTTP/1.1 %d OK\r\n" % status + headers
    if length:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + b"\r\n" + body


class Ops:
    """Builds a fuzz_http input."""

    def __init__(self, limits=0x4A):
        self.data = bytearray([limits])

    def feed(self, direction, data, piece=256):
        for i in range(0, len(data), piece):
            part = data[i:i + piece]
            self.data += bytes([direction, len(part) - 1]) + part
        return self

    def gap(self, direction, n):
        self.data.append(2 | direction << 3 | (n - 1) << 4)
        return self

    def overlap(self, direction, n):
        self.data.append(3 | direction << 3 | (n - 1) << 4)
        return self

    def save(self):
        self.data.append(4)
        return self

    def take(self):
        self.data.append(5)
        return self

    def close(self):
        self.data.append(6)
        return bytes(self.data)


SSE_ANTHROPIC = (
    b"event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude\",\"usage\":"
    b"{\"input_tokens\":25,\"output_tokens\":1}}}\r\n\r\n"
    b"event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
    b"event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
    b"\"delta\":{\"type\":\"text_delta\",\"text\":\"H\xc3\xa9llo\"}}\r\n\r\n"
    b"event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
    b"\"usage\":{\"output_tokens\":15}}\r\n\r\n"
    b"event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n"
)
SSE_OPENAI = (
    b"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
    b"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
    b": keep-alive\n\n"
    b"data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n"
    b"data: [DONE]\n\n"
)
NDJSON = (
    b"{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n"
    b"{\"model\":\"llama3\",\"done\":true,\"prompt_eval_count\":26,\"eval_count\":2}\n"
)
JSON_REQ = b"{\"model\":\"claude\",\"max_tokens\":64,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"


def http_seeds():
    sse_gz = gzip_parts([SSE_ANTHROPIC[i:i + 90] for i in range(0, len(SSE_ANTHROPIC), 90)])
    keep_alive_in = (
        response(200, b"Content-Type: text/event-stream\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                 chunked(sse_gz, b";x=1"), length=False)
        + response(200, b"Content-Type: application/json\r\n", b"{\"data\":[]}")
        + response(204)
    )
    keep_alive_out = (
        request(b"POST", b"/v1/messages?beta=true", b"Content-Type: application/json\r\n", JSON_REQ)
        + request(b"GET", b"/v1/models")
        + request(b"DELETE", b"/v1/files/1")
    )
    seeds = {
        "keepalive_whole": Ops().feed(OUT, keep_alive_out).feed(IN, keep_alive_in).close(),
        "keepalive_interleaved": Ops().feed(OUT, keep_alive_out[:150], 40).feed(IN, keep_alive_in[:300], 33)
        .take().save().feed(OUT, keep_alive_out[150:], 17).feed(IN, keep_alive_in[300:], 50).close(),
        "openai_stream_close_delimited": Ops()
        .feed(OUT, request(b"POST", b"/v1/chat/completions", b"Content-Type: application/json\r\n", JSON_REQ))
        .feed(IN, b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + SSE_OPENAI, 64).close(),
        "ollama_chunked_request": Ops()
        .feed(OUT, request(b"POST", b"/api/chat", b"Transfer-Encoding: chunked\r\n",
                           chunked([JSON_REQ[:30], JSON_REQ[30:]]), length=False))
        .feed(IN, response(200, b"Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n",
                           chunked([NDJSON[:40], NDJSON[40:]]), length=False)).close(),
        "continue_and_head": Ops()
        .feed(OUT, b"POST /upload HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        .feed(IN, b"HTTP/1.1 100 Continue\r\n\r\n").feed(OUT, b"hello" + request(b"HEAD", b"/x"))
        .feed(IN, response(201, b"", b"made") + b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n").close(),
        "gap_and_overlap": Ops().feed(OUT, request(b"GET", b"/a") + request(b"GET", b"/b"))
        .feed(IN, response(200, b"", b"x" * 100)[:60]).gap(IN, 16).feed(IN, b"x" * 40 + response(200, b"", b"second"))
        .overlap(OUT, 8).feed(OUT, request(b"GET", b"/b")[-8:] + request(b"GET", b"/c")).close(),
        "upgrade": Ops().feed(OUT, request(b"GET", b"/ws", b"Connection: Upgrade\r\nUpgrade: websocket\r\n"))
        .feed(IN, b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x02hi").close(),
        "tls": Ops().feed(OUT, bytes.fromhex("160301020001000001fc0303") + b"\x00" * 40).close(),
    }
    z = zstd(b"{\"choices\":[{\"message\":{\"content\":\"" + b"ok " * 50 + b"\"}}]}")
    if z:
        seeds["zstd_response"] = Ops().feed(OUT, request(b"GET", b"/z")) \
            .feed(IN, response(200, b"Content-Encoding: zstd\r\n", z)).close()
    return seeds


def sse_seeds():
    return {
        "anthropic": bytes([3]) + SSE_ANTHROPIC,
        "openai": bytes([9]) + SSE_OPENAI,
        "ndjson": bytes([1]) + NDJSON,
        "cr_only": bytes([2]) + SSE_OPENAI.replace(b"\n", b"\r"),
        "fields": bytes([5]) + b"id: 1\nevent: x\ndata\ndata:  two\nretry: 5\n: c\n\ndata: last",
    }


def decode_seeds():
    text = SSE_ANTHROPIC
    seeds = {
        "gzip": bytes([0x00, 7]) + b"".join(gzip_parts([text])),
        "zlib": bytes([0x01, 3]) + zlib.compress(text),
        "raw_deflate": bytes([0x01, 1]) + b"".join(gzip_parts([text], -15)),
        "gzip_members": bytes([0x00, 5]) + b"".join(gzip_parts([b"one"])) + b"".join(gzip_parts([b"two"])),
        "roundtrip_gzip_br": bytes([0x80 | 0x10 | 0x08 | 0x00, 11]) + text,
        "roundtrip_zstd": bytes([0x83, 2]) + NDJSON,
        "identity": bytes([0x60, 4]) + text,
    }
    z = zstd(text)
    if z:
        seeds["zstd"] = bytes([0x03, 9]) + z
    return seeds


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def saved_state(segments, closed_at=None, base=0, taken=0, checkpoints=((0, 0), (0, 1))):
    """Format 1: version, flags (2: closed), limits, base index, requests taken, a
    checkpoint (offset, mode) per direction, then the segments (dir, offset, t, bytes) in
    feed order, then the close time."""
    out = bytes([1, 2 if closed_at is not None else 0]) + varint(1 << 20) + varint(256 << 20)
    out += varint(base) + varint(taken)
    for offset, mode in checkpoints:
        out += varint(offset) + bytes([mode])
    out += varint(len(segments))
    for direction, offset, t, data in segments:
        out += bytes([direction]) + varint(offset) + varint(t) + varint(len(data)) + data
    if closed_at is not None:
        out += varint(closed_at)
    return out


def restore_seeds():
    req = request(b"POST", b"/v1/messages", b"", JSON_REQ)
    resp = response(200, b"Content-Type: text/event-stream\r\n", SSE_ANTHROPIC, length=False)
    return {
        "pending_request": saved_state([(OUT, 0, 5, req[:70]), (OUT, 70, 6, req[70:])]),
        "streaming_response": saved_state([(OUT, 0, 5, req), (IN, 0, 7, resp[:200]), (IN, 200, 8, resp[200:])],
                                          taken=1),
        "second_exchange": saved_state([(OUT, 500, 9, request(b"GET", b"/2"))], base=1, taken=1,
                                       checkpoints=((500, 1), (300, 1))),
        "closed_untaken": saved_state([(OUT, 0, 1, req), (IN, 0, 2, resp)], closed_at=3),
        "resync": saved_state([(IN, 40, 2, b"junk HTTP/1.1 204 No\r\n\r\n")], base=1, taken=1,
                              checkpoints=((90, 1), (10, 2))),
        "abandoned": bytes([1, 1]),
    }


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("fuzz_http", http_seeds())
    write("fuzz_sse", sse_seeds())
    write("fuzz_decode", decode_seeds())
    write("fuzz_http_restore", restore_seeds())
