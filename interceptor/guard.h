// The recursion guard every wrapper takes: while a thread is inside one of our wrappers
// (or is our writer thread), anything the runtime calls that we also wrap passes straight
// through. initial-exec TLS: no allocation, usable before and during our constructor.
#pragma once

namespace clawtrace::preload {

inline thread_local bool t_busy __attribute__((tls_model("initial-exec"))) = false;

class Guard {
 public:
  Guard() : owner_(!t_busy) { t_busy = true; }
  ~Guard() {
    if (owner_) t_busy = false;
  }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  bool entered() const { return owner_; }

 private:
  bool owner_;
};

}  // namespace clawtrace::preload
