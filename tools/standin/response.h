// Putting a rendered body on the wire: re-splitting into pieces, gzip, Content-Length or
// chunked or close-delimited framing, delays between pieces and deliberate truncation.
#pragma once

#include "exchange.h"
#include "http.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace clawtrace::standin {

struct WirePlan {
  bool gzip = false;           // only when the client accepts gzip
  std::size_t chunk_size = 0;  // 0: one piece per rendered event
  std::string transfer;        // chunked, length or close
  int delay_ms = 0;
  std::optional<std::size_t> drop_after;  // body bytes on the wire, then cut
  bool close_after = false;
  bool head_only = false;  // a HEAD request: the headers GET would get, no body
};

struct Outgoing {
  std::string head;
  std::vector<std::string> body;  // as written, chunk framing included
  std::size_t entity_bytes = 0;   // after content coding, without chunk framing
  std::size_t decoded_bytes = 0;  // before content coding
  WirePlan plan;

  std::size_t body_wire_bytes() const;
  // Bytes actually put on the wire, the head included, a planned cut accounted for.
  std::size_t sent_bytes() const;
};

Outgoing build_outgoing(const Rendered& rendered, const WirePlan& plan, HeaderList headers);

// Writes the response. `before_last` runs right before the final write, so whoever reads
// the log after receiving the whole response finds its line. `pause` sleeps between
// pieces and returns false when the server is stopping. False when cut or failed.
bool send_outgoing(Transport& transport, const Outgoing& out, const std::function<void()>& before_last,
                   const std::function<bool(int)>& pause);

}  // namespace clawtrace::standin
