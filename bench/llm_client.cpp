// Bench client: N LLM-shaped HTTPS exchanges on one keep-alive connection (libcurl),
// each a request of REQ_KB KiB posted to /v1/messages with "stream": true, the streamed
// response read to its end. Prints the wall time in ms. Used by bench/run.sh, which runs
// it bare and traced and prints the ratio.
//   llm_client URL CAFILE [N=500] [REQ_KB=50]
#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

size_t sink(char*, size_t size, size_t n, void* total) {
  *static_cast<size_t*>(total) += size * n;
  return size * n;
}

std::string request_body(size_t kib) {
  std::string filler(kib * 1024, 'x');
  for (size_t i = 63; i < filler.size(); i += 64) filler[i] = ' ';
  return R"({"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,)"
         R"("messages":[{"role":"user","content":")" + filler + R"("}]})";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: llm_client URL CAFILE [N] [REQ_KB]\n");
    return 2;
  }
  const int n = argc > 3 ? std::atoi(argv[3]) : 500;
  const std::string body = request_body(argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 50);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* h = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "content-type: application/json");
  headers = curl_slist_append(headers, "x-api-key: sk-ant-bench-0000000000000000");
  headers = curl_slist_append(headers, "anthropic-version: 2023-06-01");
  size_t received = 0;
  curl_easy_setopt(h, CURLOPT_URL, argv[1]);
  curl_easy_setopt(h, CURLOPT_CAINFO, argv[2]);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &received);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
      std::fprintf(stderr, "exchange %d failed: %s (HTTP %ld)\n", i, curl_easy_strerror(rc), status);
      return 1;
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  std::printf("%.1f\n", std::chrono::duration<double, std::milli>(t1 - t0).count());
  std::fprintf(stderr, "llm_client: %d exchanges, %zu response bytes, %ld new connection(s) on the last\n",
               n, received, connects);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  curl_global_cleanup();
  return 0;
}
