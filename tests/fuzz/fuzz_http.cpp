// Drives http::Connection with a sequence of operations decoded from the input, and checks
// three oracles: saving and restoring anywhere changes nothing; splitting every feed into
// single bytes changes nothing but report order; every index is reported exactly once as a
// request, then once as an exchange, in order.
//
// Input: byte 0 picks the limits, then records, each an op byte `b`:
//   b&7 == 0 / 1  feed out / in: length = next byte + 1, then that many bytes
//   b&7 == 2      gap: the next feed of direction (b>>3)&1 skips (b>>4)+1 bytes
//   b&7 == 3      overlap: the next feed of direction (b>>3)&1 starts (b>>4)+1 bytes back
//   b&7 == 4      save and restore          b&7 == 5  take updates
//   b&7 == 6      close (the end)           b&7 == 7  feed the rest of the input, dir (b>>3)&1
// tests/fuzz/make_seeds.py writes seeds in this format.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.h"
#include "http.h"

using namespace clawtrace::http;

namespace {

struct Op {
  enum class Kind : uint8_t { feed, save, take, close } kind = Kind::feed;
  Direction dir = Direction::out;
  uint64_t offset = 0;
  std::string bytes;
  uint64_t t = 0;
};

std::vector<Op> parse_ops(const uint8_t* data, size_t size, Limits& limits) {
  std::vector<Op> ops;
  if (size == 0) return ops;
  limits.max_head = uint64_t{64} << (data[0] & 0x0f);                 // 64 B .. 2 MiB
  limits.max_decoded_body = uint64_t{1024} << ((data[0] >> 4) % 11);  // 1 KiB .. 1 MiB
  uint64_t next[2] = {0, 0};
  size_t i = 1;
  uint64_t t = 1;
  while (i < size) {
    uint8_t b = data[i++];
    Op op;
    op.t = t++ / 2;  // pairs of ops share a time, so pieces merge sometimes
    int d = (b >> 3) & 1;
    switch (b & 7) {
      case 0:
      case 1:
      case 7: {
        op.dir = (b & 7) == 7 ? static_cast<Direction>(d) : static_cast<Direction>(b & 1);
        size_t n = (b & 7) == 7 ? size - i : (i < size ? data[i++] + size_t{1} : 0);
        n = std::min(n, size - i);
        int k = static_cast<int>(op.dir);
        op.offset = next[k];
        op.bytes.assign(reinterpret_cast<const char*>(data + i), n);
        i += n;
        next[k] = std::max(next[k], op.offset + n);
        ops.push_back(std::move(op));
        break;
      }
      case 2: next[d] += (b >> 4) + 1; break;
      case 3: next[d] -= std::min<uint64_t>(next[d], (b >> 4) + 1); break;
      case 4:
        op.kind = Op::Kind::save;
        ops.push_back(op);
        break;
      case 5:
        op.kind = Op::Kind::take;
        ops.push_back(op);
        break;
      case 6:  // nothing comes after a close (a closed connection saves as "")
        op.kind = Op::Kind::close;
        ops.push_back(op);
        return ops;
    }
  }
  return ops;
}

std::vector<Update> run(const std::vector<Op>& ops, const Limits& limits, bool save_restore,
                        bool bytewise) {
  Connection conn(limits);
  std::vector<Update> got;
  auto take = [&] {
    for (auto& u : conn.take_updates()) got.push_back(std::move(u));
  };
  for (const auto& op : ops) {
    switch (op.kind) {
      case Op::Kind::feed:
        if (!bytewise) {
          conn.feed(op.dir, op.offset, op.bytes, op.t);
          break;
        }
        for (size_t j = 0; j < op.bytes.size(); ++j)
          conn.feed(op.dir, op.offset + j, op.bytes.substr(j, 1), op.t);
        break;
      case Op::Kind::save:
        if (save_restore) conn = Connection::restore(conn.save());
        break;
      case Op::Kind::take: take(); break;
      case Op::Kind::close: conn.close(op.t); break;
    }
  }
  take();
  if (save_restore) {  // the state after everything is restorable too
    conn = Connection::restore(conn.save());
    conn.close(1u << 30);
    take();
  } else {
    conn.close(1u << 30);
    take();
  }
  return got;
}

std::string dump_all(const std::vector<Update>& us, bool exact = true) {
  std::string r;
  for (const auto& u : us) r += fuzz::dump(u, exact);
  return r;
}

std::string canonical(std::vector<Update> us) {
  std::stable_sort(us.begin(), us.end(), [](const Update& a, const Update& b) {
    return std::pair(a.exchange.index, a.kind) < std::pair(b.exchange.index, b.kind);
  });
  return dump_all(us, false);
}

void check_order(const std::vector<Update>& us) {
  uint64_t requests = 0, exchanges = 0;
  for (const auto& u : us) {
    if (u.kind == Update::Kind::request) {
      fuzz::check(u.exchange.index == requests++, "requests reported in order, once each");
      fuzz::check(!u.exchange.response, "a request update carries no response");
    } else {
      fuzz::check(u.exchange.index == exchanges++, "exchanges reported in order, once each");
      fuzz::check(u.exchange.index < requests, "an exchange follows its request");
    }
  }
  fuzz::check(requests == exchanges, "every request gets its exchange by the close");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Limits limits;
  std::vector<Op> ops = parse_ops(data, size, limits);
  std::vector<Update> ref = run(ops, limits, false, false);
  check_order(ref);
  fuzz::check_equal(dump_all(ref), dump_all(run(ops, limits, true, false)),
                    "save/restore changes nothing");
  fuzz::check_equal(canonical(ref), canonical(run(ops, limits, false, true)),
                    "byte-wise feeding changes nothing");
  return 0;
}
