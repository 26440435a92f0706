// HTTP/1.x reassembly: framing, keep-alive, content decoding, splits at every byte, gaps,
// truncation, malformed input, save/restore.
#include "http.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <random>
#include <sstream>

#include "codec_fixtures.h"
#include "sse.h"

namespace {

using namespace clawtrace::http;
using fixtures::chunked;

constexpr Direction kOut = Direction::out;
constexpr Direction kIn = Direction::in;

std::string digest(const std::string& s) {
  std::ostringstream o;
  o << s.size() << "#" << std::hex << std::hash<std::string>{}(s);
  if (s.size() <= 80) o << "'" << s << "'";
  return o.str();
}

std::string dump(const std::vector<Header>& hs) {
  std::string r;
  for (const auto& h : hs) r += h.name + "=" + h.value + ";";
  return r;
}

std::string dump(const Update& u) {
  std::ostringstream o;
  const Exchange& e = u.exchange;
  const Request& q = e.request;
  o << (u.kind == Update::Kind::request ? "REQ " : "EXC ") << e.index << " [" << q.method << " "
    << q.target << " " << q.version << "] {" << dump(q.headers) << "} body=" << digest(q.body)
    << " wire=" << q.wire_bytes << " t=" << q.t_start_ns << ".." << q.t_end_ns << " err='"
    << q.error << "'";
  if (e.response) {
    const Response& r = *e.response;
    o << " | " << r.status << " '" << r.reason << "' {" << dump(r.headers) << "} pieces=";
    for (const auto& p : r.body) o << p.t_ns << ":" << digest(p.bytes) << ",";
    o << " wire=" << r.wire_bytes << " t=" << r.t_first_byte_ns << ".." << r.t_end_ns
      << " complete=" << r.complete << " err='" << r.error << "'";
  } else if (u.kind == Update::Kind::exchange) {
    o << " | no response";
  }
  o << " xerr='" << e.error << "'";
  return o.str();
}

std::string dump(const std::vector<Update>& us) {
  std::string r;
  for (const auto& u : us) r += dump(u) + "\n";
  return r;
}

// Feeds a connection with offsets kept per direction and collects every update.
struct Driver {
  explicit Driver(Limits l = {}) : c(l) {}
  Connection c;
  uint64_t off[2] = {0, 0};
  std::vector<Update> got;

  void feed(Direction d, std::string_view b, uint64_t t = 1) {
    c.feed(d, off[static_cast<int>(d)], b, t);
    off[static_cast<int>(d)] += b.size();
    take();
  }
  void send(std::string_view b, uint64_t t = 1) { feed(kOut, b, t); }
  void recv(std::string_view b, uint64_t t = 1) { feed(kIn, b, t); }
  void close(uint64_t t = 1) {
    c.close(t);
    take();
  }
  void take() {
    for (auto& u : c.take_updates()) got.push_back(std::move(u));
  }
  std::vector<const Exchange*> exchanges() const {
    std::vector<const Exchange*> r;
    for (const auto& u : got)
      if (u.kind == Update::Kind::exchange) r.push_back(&u.exchange);
    return r;
  }
};

std::string request(std::string_view method, std::string_view target, std::string_view headers,
                    std::string_view body = {}) {
  std::string r = std::string(method) + " " + std::string(target) +
                  " HTTP/1.1\r\nHost: api.example.com\r\n" + std::string(headers);
  if (!body.empty() && headers.find("Transfer-Encoding") == std::string_view::npos)
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + std::string(body);
}

std::string response(int status, std::string_view headers, std::string_view body = {},
                     bool length = true) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " Whatever\r\n" + std::string(headers);
  if (length && headers.find("Transfer-Encoding") == std::string_view::npos)
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + std::string(body);
}

// ---- the conversation used by the split, interleave and save/restore tests ----

const std::vector<std::string>& sse_events() {
  static const std::vector<std::string> events = {
      "event: message_start\r\ndata: "
      "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12}}}\r\n\r\n",
      ": keep-alive\r\n\r\n",
      "event: content_block_delta\r\ndata: "
      "{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hé\"}}\r\n\r\n",
      "event: content_block_delta\r\ndata: "
      "{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"llo\"}}\r\n\r\n",
      "event: message_delta\r\ndata: "
      "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":3}}\r\n\r\n",
      "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n",
  };
  return events;
}

std::string sse_text() {
  std::string s;
  for (const auto& e : sse_events()) s += e;
  return s;
}

struct Conversation {
  std::string out, in;
  std::vector<size_t> out_ends, in_ends;  // where each message ends
};

const Conversation& conversation() {
  static const Conversation conv = [] {
    Conversation c;
    std::string json =
        R"({"model":"claude-x","stream":true,"messages":[{"role":"user","content":"Hi"}]})";
    c.out += request("POST", "/v1/messages?beta=true",
                     "Content-Type:  application/json \r\nAccept-Encoding: gzip\r\n", json);
    c.out_ends.push_back(c.out.size());
    std::string gz = fixtures::deflate_parts(sse_events(), fixtures::Zlib::gzip);
    c.in +=
        response(200,
                 "Content-Type: text/event-stream\r\nContent-Encoding: gzip\r\nTransfer-Encoding: "
                 "chunked\r\n",
                 chunked(fixtures::pieces(gz, {7, 100, 3, 50}), ";ext=1", "X-Trailer: yes\r\n"));
    c.in_ends.push_back(c.in.size());
    c.out += request("GET", "/v1/models", "");
    c.out_ends.push_back(c.out.size());
    c.in += response(200, "Content-Type: application/json\r\n", R"({"data":[{"id":"claude-x"}]})");
    c.in_ends.push_back(c.in.size());
    std::string big(3000, 'x');
    c.out += request(
        "POST", "/v1/chat/completions", "Transfer-Encoding: chunked\r\nContent-Encoding: zstd\r\n",
        chunked(fixtures::pieces(fixtures::zstd("{\"pad\":\"" + big + "\"}"), {10, 1, 40})));
    c.out_ends.push_back(c.out.size());
    c.in += response(200, "Content-Encoding: br\r\n",
                     fixtures::brotli(R"({"choices":[{"message":{"content":"ok"}}]})"));
    c.in_ends.push_back(c.in.size());
    return c;
  }();
  return conv;
}

std::vector<Update> run_whole() {
  Driver d;
  d.send(conversation().out);
  d.recv(conversation().in);
  d.close();
  return d.got;
}

// ---- framing ----

TEST(Http, KeepAliveThreeExchanges) {
  auto updates = run_whole();
  ASSERT_EQ(updates.size(), 6u) << dump(updates);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(updates[i].kind, Update::Kind::request);
    EXPECT_EQ(updates[i].exchange.index, static_cast<uint64_t>(i));
    EXPECT_FALSE(updates[i].exchange.response);
    EXPECT_EQ(updates[3 + i].kind, Update::Kind::exchange);
    EXPECT_EQ(updates[3 + i].exchange.index, static_cast<uint64_t>(i));
    ASSERT_TRUE(updates[3 + i].exchange.response);
    EXPECT_EQ(updates[3 + i].exchange.error, "") << dump(updates[3 + i]);
    EXPECT_TRUE(updates[3 + i].exchange.response->complete);
  }
  const Request& q0 = updates[3].exchange.request;
  EXPECT_EQ(q0.method, "POST");
  EXPECT_EQ(q0.target, "/v1/messages?beta=true");
  EXPECT_EQ(q0.path(), "/v1/messages");
  EXPECT_EQ(q0.query(), "beta=true");
  EXPECT_EQ(q0.version, "HTTP/1.1");
  ASSERT_TRUE(q0.header("content-type"));
  EXPECT_EQ(*q0.header("content-type"), "application/json");
  EXPECT_NE(q0.body.find("\"stream\":true"), std::string::npos);
  EXPECT_EQ(q0.wire_bytes, conversation().out_ends[0]);
  const Response& r0 = *updates[3].exchange.response;
  EXPECT_EQ(r0.status, 200);
  EXPECT_EQ(r0.reason, "Whatever");
  EXPECT_EQ(r0.body_text(), sse_text());
  EXPECT_EQ(r0.wire_bytes, conversation().in_ends[0]);
  auto events = clawtrace::sse::parse(r0.body);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[1].event, "content_block_delta");
  EXPECT_NE(events[1].data.find("Hé"), std::string::npos);
  EXPECT_EQ(updates[4].exchange.request.method, "GET");
  EXPECT_EQ(updates[4].exchange.response->body_text(), R"({"data":[{"id":"claude-x"}]})");
  EXPECT_EQ(updates[5].exchange.request.body, "{\"pad\":\"" + std::string(3000, 'x') + "\"}");
  EXPECT_EQ(updates[5].exchange.response->body_text(),
            R"({"choices":[{"message":{"content":"ok"}}]})");
}

TEST(Http, RequestIsReportedBeforeItsResponseArrives) {
  Driver d;
  d.send(request("POST", "/a", "", "12345"));
  ASSERT_EQ(d.got.size(), 1u);
  EXPECT_EQ(d.got[0].kind, Update::Kind::request);
  EXPECT_EQ(d.got[0].exchange.request.body, "12345");
  d.recv(response(200, "", "ok"));
  ASSERT_EQ(d.got.size(), 2u);
  EXPECT_EQ(d.got[1].kind, Update::Kind::exchange);
  d.close();
  EXPECT_EQ(d.got.size(), 2u);
}

TEST(Http, ChunkedWithExtensionsAndTrailers) {
  Driver d;
  d.send(request("POST", "/c", "Transfer-Encoding: chunked\r\n",
                 chunked({"hello ", "world"}, ";name=value;x", "A: b\r\nC: d\r\n")));
  d.recv(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0A ; "
      "ext\r\n0123456789\r\n0\r\n\r\n");
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0]->request.body, "hello world");
  EXPECT_EQ(xs[0]->response->body_text(), "abcde0123456789");
  EXPECT_TRUE(xs[0]->response->complete);
  EXPECT_EQ(xs[0]->error, "");
}

TEST(Http, CloseDelimitedResponse) {
  Driver d;
  d.send(request("GET", "/stream", ""));
  d.recv("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npart one ", 5);
  d.recv("part two", 6);
  EXPECT_EQ(d.exchanges().size(), 0u);  // only the connection's end ends it
  d.close(9);
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0]->response->body_text(), "part one part two");
  EXPECT_TRUE(xs[0]->response->complete);
  EXPECT_EQ(xs[0]->response->error, "");
  EXPECT_EQ(xs[0]->response->t_end_ns, 6u);
  ASSERT_EQ(xs[0]->response->body.size(), 2u);
  EXPECT_EQ(xs[0]->response->body[1].t_ns, 6u);
}

TEST(Http, ResponsesWithoutBody) {
  Driver d;
  d.send(request("HEAD", "/h", ""));
  d.send(request("DELETE", "/d", ""));
  d.send(request("GET", "/e", "If-None-Match: x\r\n"));
  d.send(request("GET", "/last", ""));
  // HEAD answers carry the Content-Length of the GET they stand for, but no body.
  d.recv("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  d.recv("HTTP/1.1 204 No Content\r\n\r\n");
  d.recv("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n");
  d.recv(response(200, "", "body"));
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 4u) << dump(d.got);
  EXPECT_EQ(xs[0]->response->status, 200);
  EXPECT_EQ(xs[0]->response->body_text(), "");
  EXPECT_EQ(xs[1]->response->status, 204);
  EXPECT_EQ(xs[2]->response->status, 304);
  EXPECT_EQ(xs[3]->response->body_text(), "body");
  for (auto* x : xs) EXPECT_EQ(x->error, "");
}

TEST(Http, ContinueInterimResponseIsSkipped) {
  Driver d;
  d.send("POST /upload HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
         1);
  d.recv("HTTP/1.1 100 Continue\r\n\r\n", 2);
  EXPECT_EQ(d.got.size(), 0u);
  d.send("data", 3);
  d.recv("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", 4);
  d.recv(response(201, "X-Final: 1\r\n", "done"), 5);
  d.close(6);
  ASSERT_EQ(d.got.size(), 2u);
  const Exchange& x = d.got[1].exchange;
  EXPECT_EQ(x.request.body, "data");
  EXPECT_EQ(x.response->status, 201);
  EXPECT_EQ(dump(x.response->headers), "x-final=1;content-length=4;");
  EXPECT_EQ(x.response->t_first_byte_ns, 5u);
  EXPECT_EQ(x.response->wire_bytes, response(201, "X-Final: 1\r\n", "done").size());
}

TEST(Http, ResponseMayArriveBeforeTheRequestEnds) {
  Driver d;
  std::string req = request("POST", "/big", "", std::string(1000, 'b'));
  d.send(req.substr(0, 200));
  d.recv(response(413, "", "too large"));
  EXPECT_EQ(d.got.size(), 0u);  // the exchange waits for its request
  d.send(req.substr(200));
  ASSERT_EQ(d.got.size(), 2u);
  EXPECT_EQ(d.got[0].kind, Update::Kind::request);
  EXPECT_EQ(d.got[1].exchange.response->status, 413);
}

TEST(Http, ResponseBytesBeforeTheRequestHeadWait) {
  Driver d;
  d.recv("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");  // HEAD or not? unknown yet
  d.send(request("HEAD", "/x", ""));
  d.recv("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
  d.send(request("GET", "/y", ""));
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 2u) << dump(d.got);
  EXPECT_EQ(xs[0]->response->body_text(), "");
  EXPECT_EQ(xs[1]->response->body_text(), "hi");
  EXPECT_EQ(xs[1]->error, "");
}

TEST(Http, UpgradeEndsHttpParsing) {
  Driver d;
  d.send(request("GET", "/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n"));
  d.send("\x81\x05hello");  // a frame sent early: must wait, then be ignored
  d.recv("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02ok");
  d.close();
  ASSERT_EQ(d.got.size(), 2u) << dump(d.got);
  EXPECT_EQ(d.got[1].exchange.response->status, 101);
  EXPECT_EQ(d.got[1].exchange.error, "");
}

// A 101 the client did not ask for is not a protocol switch (the next request may already
// be on its way, so honouring it would make the result depend on how bytes interleave):
// it is skipped like any interim response and the real answer follows.
TEST(Http, UnsolicitedSwitchingProtocolsIsAnInterimResponse) {
  Driver d;
  d.send(request("GET", "/a", ""));
  d.recv("HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
  d.send(request("GET", "/b", ""));
  d.recv("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye");
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 2u) << dump(d.got);
  EXPECT_EQ(xs[0]->response->status, 200);
  EXPECT_EQ(xs[0]->response->body_text(), "hi");
  EXPECT_EQ(xs[1]->response->body_text(), "bye");
}

TEST(Http, RefusedUpgradeContinuesKeepAlive) {
  Driver d;
  d.send(request("GET", "/a", "Upgrade: h2c\r\n"));
  d.send(request("GET", "/b", ""));
  d.recv(response(200, "", "a"));
  d.recv(response(200, "", "b"));
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 2u);
  EXPECT_EQ(xs[1]->request.target, "/b");
  EXPECT_EQ(xs[1]->response->body_text(), "b");
}

TEST(Http, HeadersAreLowerCasedTrimmedAndUnfolded) {
  Driver d;
  d.send(
      "GET / HTTP/1.1\r\nX-Long:  first\r\n   second  \r\nContent-TYPE:\ttext/plain "
      "\r\nEmpty:\r\n\r\n");
  ASSERT_EQ(d.got.size(), 1u);
  EXPECT_EQ(dump(d.got[0].exchange.request.headers),
            "x-long=first second;content-type=text/plain;empty=;");
}

TEST(Http, BareLineFeedsAreAccepted) {
  Driver d;
  d.send("\r\nGET /lf HTTP/1.1\nHost: h\n\n");
  d.recv("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n");
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0]->request.target, "/lf");
  EXPECT_EQ(xs[0]->response->body_text(), "abc");
  EXPECT_EQ(xs[0]->error, "");
}

// ---- content codings ----

struct CodingCase {
  std::string header;
  std::function<std::string(const std::string&)> encode;
};

std::vector<CodingCase> coding_cases() {
  return {
      {"gzip", fixtures::gzip},
      {"x-gzip", fixtures::gzip},
      {"deflate", fixtures::zlib_deflate},
      {"deflate", fixtures::raw_deflate},
      {"br", fixtures::brotli},
      {"zstd", fixtures::zstd},
      {"gzip, br", [](const std::string& s) { return fixtures::brotli(fixtures::gzip(s)); }},
      {"zstd,deflate",
       [](const std::string& s) { return fixtures::raw_deflate(fixtures::zstd(s)); }},
      {"identity", [](const std::string& s) { return s; }},
  };
}

TEST(Http, EveryContentCodingDecodesResponsesAndRequests) {
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "line " + std::to_string(i) + " of a body that compresses\n";
  for (const auto& c : coding_cases()) {
    SCOPED_TRACE(c.header);
    std::string enc = c.encode(text);
    for (size_t piece : {size_t{1}, size_t{13}, enc.size() + 1}) {
      Driver d;
      d.send(request("POST", "/p", "Content-Encoding: " + c.header + "\r\n", enc));
      std::string resp = response(200, "Content-Encoding: " + c.header + "\r\n", enc);
      for (const auto& p : fixtures::pieces(resp, {piece})) d.recv(p);
      d.close();
      auto xs = d.exchanges();
      ASSERT_EQ(xs.size(), 1u);
      EXPECT_EQ(xs[0]->request.body, text);
      EXPECT_EQ(xs[0]->response->body_text(), text);
      EXPECT_EQ(xs[0]->error, "");
    }
  }
}

TEST(Http, StreamedGzipSseIsDecodedAsItArrives) {
  // Each event's flushed deflate block arrives in its own chunk, in its own read.
  auto blocks = fixtures::deflate_blocks(sse_events(), fixtures::Zlib::gzip);
  Driver d;
  d.send(request("POST", "/v1/messages", "", "{}"));
  d.recv("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 10);
  uint64_t t = 100;
  for (const auto& b : blocks) {
    d.recv(fixtures::chunk(b), t);
    t += 100;
  }
  d.recv("0\r\n\r\n", t);
  d.close(t + 1);
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 1u);
  const Response& r = *xs[0]->response;
  EXPECT_EQ(r.body_text(), sse_text());
  ASSERT_EQ(r.body.size(), sse_events().size());
  for (size_t i = 0; i < r.body.size(); ++i) {
    EXPECT_EQ(r.body[i].t_ns, 100 + 100 * i);
    EXPECT_EQ(r.body[i].bytes, sse_events()[i]);
  }
  auto events = clawtrace::sse::parse(r.body);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].t_ns, 100u);
  EXPECT_EQ(events[1].t_ns, 300u);  // the keep-alive comment at 200 is no event
}

TEST(Http, UnsupportedCodingKeepsTheRawBodyWithAnError) {
  Driver d;
  d.send(request("GET", "/", ""));
  d.recv(response(200, "Content-Encoding: compress\r\n", "raw"));
  d.send(request("GET", "/2", ""));
  d.recv(response(200, "", "next"));
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 2u);
  EXPECT_EQ(xs[0]->response->body_text(), "raw");
  EXPECT_NE(xs[0]->response->error.find("compress"), std::string::npos);
  EXPECT_TRUE(xs[0]->response->complete);
  EXPECT_EQ(xs[1]->error, "");
}

TEST(Http, CorruptCompressedBodyIsAnErrorAndTheConnectionGoesOn) {
  std::string gz = fixtures::gzip(std::string(5000, 'a') + std::string(5000, 'b'));
  gz[gz.size() / 2] ^= 0x55;
  gz[gz.size() / 2 + 1] ^= 0x55;
  Driver d;
  d.send(request("GET", "/", ""));
  d.recv(response(200, "Content-Encoding: gzip\r\n", gz));
  d.send(request("GET", "/2", ""));
  d.recv(response(200, "", "next"));
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 2u);
  EXPECT_NE(xs[0]->response->error.find("content decoding failed (gzip)"), std::string::npos)
      << xs[0]->response->error;
  EXPECT_EQ(xs[0]->error, xs[0]->response->error);
  EXPECT_TRUE(xs[0]->response->complete);
  EXPECT_EQ(xs[1]->response->body_text(), "next");
}

TEST(Http, TruncatedCompressedBodyIsAnError) {
  std::string z = fixtures::zstd(std::string(100000, 'q') + "tail");
  Driver d;
  d.send(request("GET", "/", ""));
  d.recv(response(
      200, "Content-Encoding: zstd\r\nContent-Length: " + std::to_string(z.size() - 3) + "\r\n",
      z.substr(0, z.size() - 3), false));
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_NE(xs[0]->response->error.find("truncated"), std::string::npos) << xs[0]->response->error;
}

TEST(Http, DecompressionBombIsCappedPerExchange) {
  Limits small;
  small.max_decoded_body = 1 << 20;
  for (const auto& c : coding_cases()) {
    if (c.header == "identity") continue;
    SCOPED_TRACE(c.header);
    std::string bomb = c.encode(std::string(8 << 20, '\0'));
    EXPECT_LT(bomb.size(), 200000u);
    Driver d(small);
    d.send(request("POST", "/", "Content-Encoding: " + c.header + "\r\n", bomb));
    d.recv(response(200, "Content-Encoding: " + c.header + "\r\n", bomb));
    d.send(request("GET", "/after", ""));
    d.recv(response(200, "", "fine"));
    d.close();
    auto xs = d.exchanges();
    ASSERT_EQ(xs.size(), 2u);
    EXPECT_EQ(xs[0]->request.body.size(), size_t{1} << 20);
    EXPECT_NE(xs[0]->request.error.find("decoded body larger than 1048576 bytes"),
              std::string::npos);
    EXPECT_EQ(xs[0]->response->body_text().size(), size_t{1} << 20);
    EXPECT_NE(xs[0]->response->error.find("larger than"), std::string::npos);
    EXPECT_EQ(xs[1]->response->body_text(), "fine");
  }
}

TEST(Http, DecompressionBombHitsTheDefaultCap) {
  std::string bomb = fixtures::zstd_zeros((size_t{256} << 20) + 4096);
  Driver d;
  d.send(request("GET", "/", ""));
  d.recv(response(200, "Content-Encoding: zstd\r\n", bomb));
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 1u);
  size_t decoded = 0;
  for (const auto& p : xs[0]->response->body) decoded += p.bytes.size();
  EXPECT_EQ(decoded, size_t{256} << 20);
  EXPECT_EQ(xs[0]->response->error, "decoded body larger than 268435456 bytes");
}

// ---- splits and interleaving ----

TEST(Http, EveryByteBoundaryGivesTheSameUpdates) {
  const std::string ref = dump(run_whole());
  const Conversation& c = conversation();
  for (size_t k = 0; k <= c.out.size(); ++k) {
    Driver d;
    d.send(c.out.substr(0, k));
    d.send(c.out.substr(k));
    d.recv(c.in);
    d.close();
    ASSERT_EQ(dump(d.got), ref) << "request stream split at " << k;
  }
  for (size_t k = 0; k <= c.in.size(); ++k) {
    Driver d;
    d.send(c.out);
    d.recv(c.in.substr(0, k));
    d.recv(c.in.substr(k));
    d.close();
    ASSERT_EQ(dump(d.got), ref) << "response stream split at " << k;
  }
  Driver d;
  for (char ch : c.out) d.send(std::string(1, ch));
  for (char ch : c.in) d.recv(std::string(1, ch));
  d.close();
  EXPECT_EQ(dump(d.got), ref);
}

TEST(Http, OneBytePiecesCarryTheirOwnTimes) {
  const Conversation& c = conversation();
  Driver d;
  uint64_t t = 1000;
  std::vector<uint64_t> in_time;
  for (char ch : c.out) d.send(std::string(1, ch), t++);
  for (char ch : c.in) {
    in_time.push_back(t);
    d.recv(std::string(1, ch), t++);
  }
  d.close(t);
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 3u);
  EXPECT_EQ(xs[0]->request.t_start_ns, 1000u);
  EXPECT_EQ(xs[0]->request.t_end_ns, 1000 + c.out_ends[0] - 1);
  const Response& r = *xs[0]->response;
  EXPECT_EQ(r.t_first_byte_ns, in_time[0]);
  EXPECT_EQ(r.t_end_ns, in_time[c.in_ends[0] - 1]);
  EXPECT_EQ(r.body_text(), sse_text());
  for (size_t i = 1; i < r.body.size(); ++i) EXPECT_GT(r.body[i].t_ns, r.body[i - 1].t_ns);
  EXPECT_GE(r.body.size(), sse_events().size());  // decoded as the flushed blocks came
  EXPECT_EQ(xs[1]->response->t_first_byte_ns, in_time[c.in_ends[0]]);
}

// Orders updates canonically: interleaving may change which of request n+1 and exchange n
// is reported first, nothing else.
std::string canonical(std::vector<Update> us) {
  std::stable_sort(us.begin(), us.end(), [](const Update& a, const Update& b) {
    return std::pair(a.exchange.index, a.kind) < std::pair(b.exchange.index, b.kind);
  });
  return dump(us);
}

void expect_well_ordered(const std::vector<Update>& us) {
  uint64_t next_request = 0, next_exchange = 0;
  for (const auto& u : us) {
    if (u.kind == Update::Kind::request) {
      EXPECT_EQ(u.exchange.index, next_request++);
    } else {
      EXPECT_EQ(u.exchange.index, next_exchange++);
      EXPECT_LT(u.exchange.index, next_request);
    }
  }
  EXPECT_EQ(next_request, next_exchange);
}

TEST(Http, DirectionsMayInterleaveArbitrarily) {
  const std::string ref = canonical(run_whole());
  const Conversation& c = conversation();
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    Driver d;
    size_t o = 0, i = 0;
    while (o < c.out.size() || i < c.in.size()) {
      bool out_turn = i == c.in.size() || (o < c.out.size() && rng() % 2);
      size_t n = 1 + rng() % (round % 3 == 0 ? 4 : 200);
      if (out_turn) {
        d.send(c.out.substr(o, n));
        o = std::min(o + n, c.out.size());
      } else {
        d.recv(c.in.substr(i, n));
        i = std::min(i + n, c.in.size());
      }
    }
    d.close();
    expect_well_ordered(d.got);
    ASSERT_EQ(canonical(d.got), ref) << "round " << round;
  }
}

// ---- gaps, overlaps, truncation ----

TEST(Http, OverlapsAndDuplicatesAreTrimmed) {
  const std::string ref = dump(run_whole());
  const Conversation& c = conversation();
  Connection conn;
  std::vector<Update> got;
  auto take = [&] {
    for (auto& u : conn.take_updates()) got.push_back(std::move(u));
  };
  for (size_t at = 0; at < c.out.size(); at += 10)
    conn.feed(kOut, at, c.out.substr(at, 25), 1);  // overlapping
  conn.feed(kOut, 0, c.out, 1);                    // a duplicate
  take();
  for (size_t at = 0; at < c.in.size(); at += 7) conn.feed(kIn, at, c.in.substr(at, 7), 1);
  conn.feed(kIn, 5, c.in.substr(5, 100), 1);
  conn.close(1);
  take();
  EXPECT_EQ(dump(got), ref);
}

TEST(Http, GapInAResponseBodyResynchronises) {
  std::string r0 = response(200, "", std::string(500, 'a'));
  std::string r1 = response(200, "", "second");
  std::string in = r0 + r1;
  Connection conn;
  conn.feed(kOut, 0, request("GET", "/0", "") + request("GET", "/1", ""), 1);
  conn.feed(kIn, 0, in.substr(0, 100), 2);
  conn.feed(kIn, 300, in.substr(300), 3);  // bytes 100..300 were never captured
  conn.close(4);
  auto us = conn.take_updates();
  std::vector<const Exchange*> xs;
  for (const auto& u : us)
    if (u.kind == Update::Kind::exchange) xs.push_back(&u.exchange);
  ASSERT_EQ(xs.size(), 2u) << dump(us);
  EXPECT_EQ(xs[0]->response->error, "gap in captured bytes");
  EXPECT_EQ(xs[0]->error, "gap in captured bytes");
  EXPECT_FALSE(xs[0]->response->complete);
  EXPECT_EQ(xs[0]->response->body_text(), std::string(100 - (r0.size() - 500), 'a'));
  EXPECT_EQ(xs[1]->response->body_text(), "second");
  EXPECT_EQ(xs[1]->error, "");
}

// A request after an upgrade waits for the upgrade's answer; when a gap ends that answer,
// the waiting request goes on at once, not at the connection's close (found by fuzz_http:
// a saved and restored connection went on at once, the live one did not).
TEST(Http, GapEndingAnUpgradeAnswerReleasesTheNextRequest) {
  Connection conn;
  conn.feed(kOut, 0, request("GET", "/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n"), 1);
  const std::string answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n";
  conn.feed(kIn, 0, answer, 2);
  const std::string next = request("GET", "/next", "");
  const uint64_t next_at = request("GET", "/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n").size();
  conn.feed(kOut, next_at, next, 3);
  EXPECT_EQ(conn.take_updates().size(), 1u);  // request 0; /next waits for the answer
  conn.feed(kIn, answer.size() + 10, response(200, "", "ok"), 4);  // 10 bytes never captured
  auto us = conn.take_updates();
  ASSERT_EQ(us.size(), 3u) << dump(us);
  EXPECT_EQ(us[0].exchange.error, "gap in captured bytes");
  EXPECT_EQ(us[1].kind, Update::Kind::request);
  EXPECT_EQ(us[1].exchange.request.target, "/next");
  EXPECT_EQ(us[2].exchange.response->body_text(), "ok");
}

TEST(Http, GapInARequestResynchronisesAtTheNextMethod) {
  std::string q0 = request("POST", "/0", "", std::string(400, 'p') + "GET notahead\r\n");
  std::string q1 = request("PUT", "/1", "", "x");
  std::string out = q0 + q1;
  Connection conn;
  conn.feed(kOut, 0, out.substr(0, 120), 1);
  conn.feed(kOut, 200, out.substr(200), 2);
  conn.feed(kIn, 0, response(400, "", "bad") + response(200, "", "ok"), 3);
  conn.close(4);
  auto us = conn.take_updates();
  ASSERT_EQ(us.size(), 4u) << dump(us);
  EXPECT_EQ(us[0].exchange.request.error, "gap in captured bytes");
  EXPECT_EQ(us[0].exchange.request.method, "POST");
  EXPECT_EQ(us[1].exchange.request.method, "PUT");
  EXPECT_EQ(us[1].exchange.request.body, "x");
  EXPECT_EQ(us[1].exchange.request.error, "");
  EXPECT_EQ(us[3].exchange.response->body_text(), "ok");
}

TEST(Http, GapBetweenMessagesFindsTheNextHeadEvenWhenSplit) {
  std::string in = "garbage HTTP/1.0 nonsense HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  Connection conn;
  conn.feed(kOut, 0, request("GET", "/", ""), 1);
  conn.feed(kIn, 10, in.substr(0, 30), 2);  // starts after a gap
  for (size_t i = 30; i < in.size(); ++i) conn.feed(kIn, 10 + i, in.substr(i, 1), 3);
  conn.close(4);
  auto us = conn.take_updates();
  ASSERT_EQ(us.size(), 2u) << dump(us);
  EXPECT_EQ(us[1].exchange.response->status, 200);
  EXPECT_EQ(us[1].exchange.response->body_text(), "ok");
  EXPECT_EQ(us[1].exchange.response->t_first_byte_ns, 2u);
}

TEST(Http, TruncatedStreams) {
  {  // in the response body
    Driver d;
    d.send(request("GET", "/", ""));
    d.recv(response(200, "", "0123456789").substr(0, 52), 5);
    d.close(8);
    auto xs = d.exchanges();
    ASSERT_EQ(xs.size(), 1u);
    EXPECT_EQ(xs[0]->response->error, "connection closed before the response ended");
    EXPECT_EQ(xs[0]->error, "connection closed before the response ended");
    EXPECT_FALSE(xs[0]->response->complete);
    EXPECT_EQ(xs[0]->response->t_end_ns, 8u);
    EXPECT_EQ(xs[0]->response->body_text(), "0123456");
  }
  {  // in the response head
    Driver d;
    d.send(request("GET", "/", ""));
    d.recv("HTTP/1.1 200 OK\r\nContent-Le");
    d.close();
    auto xs = d.exchanges();
    ASSERT_EQ(xs.size(), 1u);
    EXPECT_EQ(xs[0]->error, "connection closed in the response head");
    EXPECT_EQ(xs[0]->response->status, 200);
  }
  {  // no response at all
    Driver d;
    d.send(request("GET", "/", ""));
    d.close();
    ASSERT_EQ(d.got.size(), 2u);
    EXPECT_FALSE(d.got[1].exchange.response);
    EXPECT_EQ(d.got[1].exchange.error, "no response");
  }
  {  // in the request body, with a chunked response already complete
    Driver d;
    d.send(request("POST", "/", "Transfer-Encoding: chunked\r\n", chunked({"abc", "def"}))
               .substr(0, 75));
    d.recv(response(500, "Transfer-Encoding: chunked\r\n", chunked({"err"})));
    d.close();
    ASSERT_EQ(d.got.size(), 2u) << dump(d.got);
    EXPECT_EQ(d.got[0].exchange.request.error, "connection closed before the request ended");
    EXPECT_EQ(d.got[0].exchange.request.body, "ab");
    EXPECT_EQ(d.got[1].exchange.response->body_text(), "err");
    EXPECT_EQ(d.got[1].exchange.error, "connection closed before the request ended");
  }
}

// ---- malformed input ----

TEST(Http, MalformedInputBecomesErrors) {
  struct Case {
    std::string out, in, request_error, response_error;
  };
  std::vector<Case> cases = {
      {request("GET", "/", ""), "HTTP/1.1 2x0 OK\r\n\r\n", "", "malformed status line"},
      {request("GET", "/", ""), "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "",
       "malformed header line"},
      {request("GET", "/", ""), "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n", "",
       "invalid content-length"},
      {request("GET", "/", ""), "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n", "",
       "invalid content-length"},
      {request("GET", "/", ""), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "",
       "bad chunk size"},
      {request("GET", "/", ""),
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", "",
       "bad chunk terminator"},
      {request("GET", "/", ""),
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", "",
       "bad chunk size"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", response(400, "", ""),
       "request with a transfer-encoding other than chunked", ""},
      {"GET / HTTP/1.1\r\n: empty name\r\n\r\n", response(400, "", ""), "malformed header line",
       ""},
      {"GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1 extra\r\n\r\n",
       response(200, "", "") + response(400, "", ""), "", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.out + " / " + c.in);
    Driver d;
    d.send(c.out);
    d.recv(c.in);
    d.close();
    expect_well_ordered(d.got);
    auto xs = d.exchanges();
    ASSERT_GE(xs.size(), 1u);
    EXPECT_EQ(xs[0]->request.error, c.request_error);
    if (!c.response_error.empty()) {
      ASSERT_TRUE(xs[0]->response);
      EXPECT_EQ(xs[0]->response->error, c.response_error);
      EXPECT_FALSE(xs[0]->response->complete);
    }
    if (xs.size() > 1) {
      EXPECT_EQ(xs[1]->request.error, "malformed request line");
    }
  }
}

TEST(Http, HeadsAreCapped) {
  Limits l;
  l.max_head = 200;
  Driver d(l);
  d.send("GET / HTTP/1.1\r\nX: " + std::string(300, 'v') + "\r\n\r\n");
  d.recv("HTTP/1.1 200 OK\r\nY: " + std::string(300, 'v'));
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0]->request.error, "head larger than 200 bytes");
  EXPECT_EQ(xs[0]->response->error, "head larger than 200 bytes");
}

TEST(Http, NonHttpConnectionsAreAbandoned) {
  std::vector<std::string> starts = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // TLS ClientHello
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",                               // HTTP/2 preface
      "*1\r\n$4\r\nPING\r\n",                                           // Redis
      "EHLO example.com\r\n",                                           // SMTP
      "GET /\r\n",                                                      // HTTP/0.9
  };
  for (const auto& s : starts) {
    SCOPED_TRACE(s);
    for (size_t split = 1; split <= s.size(); ++split) {
      Driver d;
      d.recv("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      d.send(s.substr(0, split));
      d.send(s.substr(split));
      d.send(request("GET", "/", ""));
      d.close();
      EXPECT_TRUE(d.c.abandoned());
      EXPECT_TRUE(d.got.empty()) << dump(d.got);
    }
  }
  Driver d;
  d.recv("220 smtp.example.com ESMTP\r\n");  // server speaks first, client never does
  d.close();
  EXPECT_TRUE(d.got.empty());
}

TEST(Http, LargeBodyInTinyPiecesIsLinear) {
  std::string body;
  for (int i = 0; body.size() < 300000; ++i) body += "data: {\"i\":" + std::to_string(i) + "}\n\n";
  std::string gz = fixtures::gzip(body);
  std::string resp = response(200, "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                              chunked(fixtures::pieces(gz, {1, 2, 3})));
  auto start = std::chrono::steady_clock::now();
  Driver d;
  d.send(request("GET", "/", ""));
  uint64_t t = 0;
  for (const auto& p : fixtures::pieces(resp, {1, 2})) d.recv(p, t++ / 64);
  d.close();
  auto xs = d.exchanges();
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0]->response->body_text(), body);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// ---- save / restore ----

struct Op {
  Direction d;
  uint64_t offset;
  std::string bytes;
  uint64_t t;
};

// The conversation cut into records, directions interleaved, with a duplicate, an overlap
// and a gap, then a second connection's worth of trouble: a response arriving early.
std::vector<Op> recorded_ops(bool with_gap) {
  const Conversation& c = conversation();
  std::vector<Op> ops;
  std::mt19937 rng(11);
  size_t o = 0, i = 0;
  uint64_t t = 100;
  while (o < c.out.size() || i < c.in.size()) {
    bool out_turn = i == c.in.size() || (o < c.out.size() && rng() % 3 == 0);
    size_t n = 1 + rng() % 90;
    if (out_turn) {
      ops.push_back({kOut, o, c.out.substr(o, n), t});
      o = std::min(o + n, c.out.size());
    } else {
      ops.push_back({kIn, i, c.in.substr(i, n), t});
      i = std::min(i + n, c.in.size());
    }
    t += 1 + rng() % 5;
  }
  ops.insert(ops.begin() + 5, ops[3]);  // a duplicate record
  if (with_gap) {
    for (auto& op : ops)
      if (op.d == kIn && op.offset > 150 && op.offset < 300) op.bytes.clear();  // lost
  }
  return ops;
}

std::vector<Update> replay(const std::vector<Op>& ops, const std::vector<size_t>& save_at,
                           bool take_before_save) {
  Connection conn;
  std::vector<Update> got;
  auto take = [&] {
    for (auto& u : conn.take_updates()) got.push_back(std::move(u));
  };
  size_t next_save = 0;
  for (size_t k = 0; k <= ops.size(); ++k) {
    while (next_save < save_at.size() && save_at[next_save] == k) {
      if (take_before_save) take();
      std::string saved = conn.save();
      conn = Connection::restore(saved);
      ++next_save;
    }
    if (k == ops.size()) break;
    conn.feed(ops[k].d, ops[k].offset, ops[k].bytes, ops[k].t);
    if (k % 3 == 0) take();
  }
  conn.close(10000);
  take();
  return got;
}

TEST(Http, SaveRestoreAtEveryRecordGivesIdenticalUpdates) {
  for (bool gap : {false, true}) {
    auto ops = recorded_ops(gap);
    const std::string ref = dump(replay(ops, {}, true));
    if (gap) {  // the first response is cut short, the others are found again
      EXPECT_NE(ref.find("gap in captured bytes"), std::string::npos) << ref;
      EXPECT_EQ(ref.find("no response"), std::string::npos) << ref;
    }
    for (size_t k = 0; k <= ops.size(); ++k) {
      ASSERT_EQ(dump(replay(ops, {k}, true)), ref) << "saved at record " << k << " gap " << gap;
      ASSERT_EQ(dump(replay(ops, {k}, false)), ref)
          << "saved untaken at record " << k << " gap " << gap;
    }
    std::vector<size_t> every(ops.size() + 1);
    for (size_t k = 0; k < every.size(); ++k) every[k] = k;
    EXPECT_EQ(dump(replay(ops, every, true)), ref);
    EXPECT_EQ(dump(replay(ops, every, false)), ref);
  }
}

TEST(Http, SavedStateOnlyHoldsWhatIsPending) {
  Connection conn;
  EXPECT_EQ(conn.save(), "");
  std::string q = request("POST", "/", "", std::string(50000, 'z'));
  conn.feed(kOut, 0, q, 1);
  conn.feed(kIn, 0, response(200, "", "done"), 2);
  (void)conn.take_updates();
  std::string idle = conn.save();
  EXPECT_FALSE(idle.empty());
  EXPECT_LT(idle.size(), 64u);  // both exchanges' bytes are dropped once taken
  conn.feed(kOut, q.size(), "GET /next HTTP/1.1\r\n", 3);
  Connection back = Connection::restore(conn.save());
  back.feed(kOut, q.size() + 20, "\r\n", 4);
  back.feed(kIn, 80, response(200, "", "again"), 5);  // offset 80: a gap, resync finds it
  auto us = back.take_updates();
  ASSERT_EQ(us.size(), 2u) << dump(us);
  EXPECT_EQ(us[0].exchange.index, 1u);
  EXPECT_EQ(us[0].exchange.request.target, "/next");
  EXPECT_EQ(us[0].exchange.request.t_start_ns, 3u);
  back.close(6);
  (void)back.take_updates();
  EXPECT_EQ(back.save(), "");
}

TEST(Http, RestoringGarbageIsSafe) {
  std::mt19937 rng(3);
  std::string good;
  {
    Connection conn;
    conn.feed(kOut, 0, conversation().out, 1);
    conn.feed(kIn, 0, conversation().in.substr(0, 300), 2);
    good = conn.save();
  }
  ASSERT_FALSE(good.empty());
  for (int round = 0; round < 2000; ++round) {
    std::string bad = good;
    if (round % 2) bad.resize(rng() % bad.size());
    if (bad.empty()) continue;
    for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    Connection conn = Connection::restore(bad);
    conn.feed(kIn, 300, conversation().in.substr(300), 3);
    conn.close(4);
    (void)conn.take_updates();
    (void)conn.save();
  }
  for (std::string junk : {std::string("\x02"), std::string("\x01"), std::string("\x01\x00", 2),
                           std::string("\x01\x01\x00", 3)}) {
    Connection conn = Connection::restore(junk);
    EXPECT_TRUE(conn.abandoned());
  }
  // A well-formed state whose exchange index is absurd is refused, not overflowed.
  auto varint = [](uint64_t v) {
    std::string r;
    for (; v >= 0x80; v >>= 7) r.push_back(static_cast<char>((v & 0x7f) | 0x80));
    return r + static_cast<char>(v);
  };
  std::string huge = std::string("\x01\x00", 2) + varint(1 << 20) + varint(1 << 28) +
                     varint(UINT64_MAX) + varint(UINT64_MAX) + varint(0) + '\x01' + varint(0) +
                     '\x01' + varint(0);
  EXPECT_TRUE(Connection::restore(huge).abandoned());
  std::string far = std::string("\x01\x00", 2) + varint(1 << 20) + varint(1 << 28) +
                    varint(uint64_t{1} << 62) + varint(uint64_t{1} << 62) + varint(0) + '\x01' +
                    varint(0) + '\x01' + varint(0);
  Connection late = Connection::restore(far);
  ASSERT_FALSE(late.abandoned());
  late.feed(kOut, 0, request("GET", "/", ""), 1);
  late.close(2);
  auto us = late.take_updates();
  ASSERT_EQ(us.size(), 2u);
  EXPECT_EQ(us[1].exchange.index, uint64_t{1} << 62);
  Connection abandoned;
  abandoned.feed(kOut, 0, "\x16\x03\x01", 1);
  ASSERT_TRUE(abandoned.abandoned());
  EXPECT_TRUE(Connection::restore(abandoned.save()).abandoned());
}

}  // namespace
