// A small libcurl client for the end-to-end capture tests: POSTs a JSON body to a URL
// (HTTPS with a given CA file) REPEAT times on one handle (keep-alive), writing each
// response body to stdout.   curl_post URL CAFILE BODY_FILE REPEAT [HEADER]...
#include <curl/curl.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace {

size_t to_stdout(char* data, size_t size, size_t n, void*) {
  return std::fwrite(data, size, n, stdout) * size;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: curl_post URL CAFILE BODY_FILE REPEAT [HEADER]...\n");
    return 2;
  }
  std::ifstream in(argv[3], std::ios::binary);
  const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* h = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "content-type: application/json");
  for (int i = 5; i < argc; ++i) headers = curl_slist_append(headers, argv[i]);
  curl_easy_setopt(h, CURLOPT_URL, argv[1]);
  curl_easy_setopt(h, CURLOPT_CAINFO, argv[2]);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_stdout);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // all encodings libcurl supports
  int rc = 0;
  for (int i = 0, n = std::atoi(argv[4]); i < n && rc == 0; ++i) {
    CURLcode c = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (c != CURLE_OK) {
      std::fprintf(stderr, "curl_post: %s\n", curl_easy_strerror(c));
      rc = 1;
    }
    std::printf("\n");
  }
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  std::fprintf(stderr, "curl_post: new connections on the last request: %ld\n", connects);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  curl_global_cleanup();
  return rc;
}
