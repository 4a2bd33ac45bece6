// Work posted to a loop from other threads (reload, drain, shutdown): a uv_async_t and a locked
// list, never used on the packet path.
#pragma once

#include <uv.h>

#include <functional>
#include <mutex>
#include <vector>

#include "turnpike/net/uv_handle.h"

namespace turnpike::net {

class TaskQueue {
 public:
  void start(uv_loop_t* loop);
  // Runs `task` on the loop's thread; callable from any thread. Dropped once stopped.
  void post(std::function<void()> task);
  void stop();

 private:
  void run_all();

  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;
  UvHandle<uv_async_t> async_;  // guarded by mutex_ while it may close
};

}  // namespace turnpike::net
