// UvHandle<T>: one owner for one libuv handle, and the only place that writes libuv's close
// protocol. A handle's memory must outlive uv_close() until its close callback runs, so the owner
// keeps the handle in a heap box that the close callback frees; the owner itself may go away at
// once. Used by every transport owner in net/ and by the daemon.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <utility>

namespace turnpike::net {

template <typename T>
class UvHandle {
 public:
  UvHandle() = default;
  ~UvHandle() { close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&& other) noexcept : box_(std::exchange(other.box_, nullptr)) {}
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      close();
      box_ = std::exchange(other.box_, nullptr);
    }
    return *this;
  }

  // Allocates the handle and runs `init(loop, handle, args...)` (uv_timer_init, uv_udp_init_ex,
  // ...). On failure nothing is left to close and the libuv error is returned. `data` becomes the
  // handle's data pointer (the owner the callbacks find).
  template <typename Init, typename... Args>
  int init(Init init_fn, uv_loop_t* loop, void* data, Args&&... args) {
    close();
    auto box = std::make_unique<Box>();
    const int error = init_fn(loop, &box->handle, std::forward<Args>(args)...);
    if (error != 0) return error;
    box->handle.data = data;
    box_ = box.release();
    return 0;
  }

  [[nodiscard]] T* get() const noexcept { return box_ != nullptr ? &box_->handle : nullptr; }
  T* operator->() const noexcept { return get(); }
  explicit operator bool() const noexcept { return box_ != nullptr; }
  [[nodiscard]] uv_handle_t* handle() const noexcept {
    return reinterpret_cast<uv_handle_t*>(get());
  }
  [[nodiscard]] uv_stream_t* stream() const noexcept {
    return reinterpret_cast<uv_stream_t*>(get());
  }

  // Starts libuv's close (idempotent; nothing on an empty owner). The memory is freed in the close
  // callback, after pending callbacks (cancelled writes) have run; `then` runs after that (give a
  // relay port back, free the object the callbacks referred to).
  void close(std::function<void()> then = {}) { close_with(&uv_close_adapter, std::move(then)); }

  // The same with another closer, such as uv_tcp_close_reset (falls back to uv_close when the
  // closer refuses).
  void close_with(int (*closer)(T*, uv_close_cb), std::function<void()> then = {}) {
    Box* box = std::exchange(box_, nullptr);
    if (box == nullptr) {
      if (then) then();
      return;
    }
    box->then = std::move(then);
    box->handle.data = box;
    if (closer(&box->handle, &on_closed) != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(&box->handle), &on_closed);
    }
  }

 private:
  struct Box {
    T handle{};
    std::function<void()> then;
  };
  static int uv_close_adapter(T* handle, uv_close_cb cb) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle), cb);
    return 0;
  }
  static void on_closed(uv_handle_t* handle) {
    std::unique_ptr<Box> box(static_cast<Box*>(handle->data));
    if (box->then) box->then();
  }

  Box* box_ = nullptr;
};

}  // namespace turnpike::net
