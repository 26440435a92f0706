#include "response.h"

#include "codec.h"

#include <algorithm>
#include <numeric>

namespace clawtrace::standin {

namespace {

std::vector<std::string> resplit(const std::vector<std::string>& pieces, std::size_t chunk_size) {
  if (chunk_size == 0) return pieces;
  std::string all = std::accumulate(pieces.begin(), pieces.end(), std::string());
  return split_bytes(all, chunk_size);
}

std::vector<std::string> gzip_pieces(const std::vector<std::string>& pieces) {
  GzipEncoder encoder;
  std::vector<std::string> out;
  for (const std::string& piece : pieces) out.push_back(encoder.piece(piece));
  out.push_back(encoder.finish());
  return out;
}

std::vector<std::string> frame_chunked(const std::vector<std::string>& pieces) {
  std::vector<std::string> framed;
  for (const std::string& piece : pieces)
    if (!piece.empty()) framed.push_back(chunk_frame(piece));
  if (framed.empty()) framed.emplace_back();
  framed.back() += kLastChunk;  // the terminator goes with the last piece, not after a pause
  return framed;
}

std::size_t total_size(const std::vector<std::string>& pieces) {
  std::size_t n = 0;
  for (const std::string& piece : pieces) n += piece.size();
  return n;
}

HeaderList framing_headers(const WirePlan& plan, std::size_t entity_bytes) {
  HeaderList headers;
  if (plan.gzip) headers.emplace_back("Content-Encoding", "gzip");
  if (plan.transfer == "chunked") headers.emplace_back("Transfer-Encoding", "chunked");
  if (plan.transfer == "length") headers.emplace_back("Content-Length", std::to_string(entity_bytes));
  bool close = plan.close_after || plan.transfer == "close";
  headers.emplace_back("Connection", close ? "close" : "keep-alive");
  return headers;
}

}  // namespace

std::size_t Outgoing::body_wire_bytes() const { return total_size(body); }

std::size_t Outgoing::sent_bytes() const {
  std::size_t body_bytes = body_wire_bytes();
  if (plan.drop_after) body_bytes = std::min(body_bytes, *plan.drop_after);
  return head.size() + body_bytes;
}

Outgoing build_outgoing(const Rendered& rendered, const WirePlan& plan, HeaderList headers) {
  Outgoing out;
  out.plan = plan;
  std::vector<std::string> pieces = resplit(rendered.pieces, plan.chunk_size);
  out.decoded_bytes = total_size(pieces);
  if (plan.gzip) pieces = gzip_pieces(pieces);
  out.entity_bytes = total_size(pieces);
  out.body = plan.transfer == "chunked" ? frame_chunked(pieces) : pieces;
  if (plan.head_only) out.body.clear();
  headers.insert(headers.begin(), {"Content-Type", rendered.content_type});
  HeaderList framing = framing_headers(plan, out.entity_bytes);
  headers.insert(headers.end(), framing.begin(), framing.end());
  out.head = format_head(rendered.status, headers);
  return out;
}

bool send_outgoing(Transport& transport, const Outgoing& out, const std::function<void()>& before_last,
                   const std::function<bool(int)>& pause) {
  std::size_t budget = out.plan.drop_after.value_or(SIZE_MAX);
  std::vector<std::string_view> body(out.body.begin(), out.body.end());
  while (!body.empty() && body.back().empty()) body.pop_back();
  if (body.empty()) before_last();
  if (!transport.write_all(out.head)) return false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (i > 0 && out.plan.delay_ms > 0 && !pause(out.plan.delay_ms)) return false;
    std::string_view piece = body[i];
    bool cut = piece.size() >= budget && out.plan.drop_after.has_value();
    if (cut) piece = piece.substr(0, budget);
    if (cut || i + 1 == body.size()) before_last();
    if (!transport.write_all(piece)) return false;
    if (cut) return false;
    budget -= piece.size();
  }
  return true;
}

}  // namespace clawtrace::standin
