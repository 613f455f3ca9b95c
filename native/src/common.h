// Shared plumbing of libmola_torch's C ABI: export macro, handle conversion and the
// error channel. Every exported function runs its body inside MT_GUARD so no C++
// exception ever crosses into C#; the message is kept per thread for mt_last_error().
#pragma once
#include <ATen/ATen.h>
#include <string>
#include <vector>

#define MT_API extern "C" __attribute__((visibility("default")))

namespace mola {

void set_error(const char* op, const char* message);
void set_error(const char* op, const std::exception& e);

inline at::Tensor& T(void* h) { return *static_cast<at::Tensor*>(h); }
inline void* wrap(at::Tensor t) { return new at::Tensor(std::move(t)); }
inline at::IntArrayRef dims(const int64_t* p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

}  // namespace mola

// Body returns a handle (or pointer); on error returns nullptr.
#define MT_GUARD_PTR(op, ...)                                                      \
  try { __VA_ARGS__ }                                                              \
  catch (const std::exception& e) { mola::set_error(op, e); return nullptr; }     \
  catch (...) { mola::set_error(op, "unknown C++ exception"); return nullptr; }

// Body returns 0 on success; on error returns -1.
#define MT_GUARD_INT(op, ...)                                                      \
  try { __VA_ARGS__ }                                                              \
  catch (const std::exception& e) { mola::set_error(op, e); return -1; }          \
  catch (...) { mola::set_error(op, "unknown C++ exception"); return -1; }
