/* Linked into every target of a sanitizer build (CLAWTRACE_SANITIZE). The preload comes
   ahead of libasan in the ASan-built programs it is loaded into, and tests start programs
   with an environment of their own (no ASAN_OPTIONS), so the link order check is turned
   off here rather than in the environment. */
const char* __asan_default_options(void);
const char* __ubsan_default_options(void);
const char* __asan_default_options(void) { return "verify_asan_link_order=0"; }
const char* __ubsan_default_options(void) { return "print_stacktrace=1"; }
