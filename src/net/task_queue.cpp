#include "turnpike/net/task_queue.h"

namespace turnpike::net {

void TaskQueue::start(uv_loop_t* loop) {
  std::lock_guard lock(mutex_);
  async_.init(
      [](uv_loop_t* l, uv_async_t* a) {
        return uv_async_init(l, a,
                             [](uv_async_t* h) { static_cast<TaskQueue*>(h->data)->run_all(); });
      },
      loop, this);
}

void TaskQueue::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (!async_) return;  // stopped (or not started): nothing runs any more
  tasks_.push_back(std::move(task));
  uv_async_send(async_.get());
}

void TaskQueue::stop() {
  std::lock_guard lock(mutex_);  // no post() can send to it once it starts closing
  async_.close();
}

void TaskQueue::run_all() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) task();
}

}  // namespace turnpike::net
