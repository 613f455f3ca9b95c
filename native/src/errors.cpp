// The thread-local error channel read by the C# side after a failed call.
#include "common.h"
#include <c10/util/Exception.h>

namespace {
thread_local std::string g_last_error;
}

namespace mola {

void set_error(const char* op, const char* message) {
  g_last_error = std::string(op) + ": " + message;
}

void set_error(const char* op, const std::exception& e) {
  // c10::Error carries a C++ backtrace in what(); users need only the message.
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) {
    set_error(op, ce->what_without_backtrace());
  } else {
    set_error(op, e.what());
  }
}

}  // namespace mola

MT_API const char* mt_last_error() { return g_last_error.c_str(); }
MT_API void mt_clear_error() { g_last_error.clear(); }
