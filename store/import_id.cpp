// import_session_id (import.h): apart from the importer so that the interop converters
// (and their fuzz target) need no store.
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "import.h"

namespace clawtrace {
namespace {

bool is_store_id(std::string_view s) {
  return s.size() == 16 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

std::string import_session_id(std::string_view session) {
  if (is_store_id(session)) return hex_id(*parse_hex_id(session));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  uint64_t id = 0;
  if (EVP_Digest(session.data(), session.size(), md, &len, EVP_sha256(), nullptr) == 1 && len >= 8)
    for (int i = 0; i < 8; ++i) id = (id << 8) | md[i];
  return hex_id(id);
}

}  // namespace clawtrace
