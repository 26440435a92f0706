#include "http.h"

namespace clawtrace::http {
namespace {

const std::string* find_header(const std::vector<Header>& headers, std::string_view name) {
  for (const auto& h : headers)
    if (h.name == name) return &h.value;
  return nullptr;
}

}  // namespace

const std::string* Request::header(std::string_view lower_name) const {
  return find_header(headers, lower_name);
}

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::query() const {
  std::string_view t = target;
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

const std::string* Response::header(std::string_view lower_name) const {
  return find_header(headers, lower_name);
}

std::string Response::body_text() const {
  std::string s;
  for (const auto& p : body) s += p.bytes;
  return s;
}

}  // namespace clawtrace::http
