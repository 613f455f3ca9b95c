// c10d rendezvous and CPU collectives: a TCPStore and Gloo process groups behind opaque
// handles (trainer/MoLA.Torch/Distributed/GlooNative.cs). Prototypes and their contracts
// are documented in include/mola_torch.h.
//
// Errors: every collective waits for its work with the group's timeout (plus a short grace
// so Gloo's own, more precise timeout message wins), so a dead or stalled peer surfaces as an
// error, never a hang. A timeout message always contains "timed out" and the timeout in ms.
// After a failed collective the group is marked broken (peers are out of step) and every
// later collective fails at once; free it and create a new group under a new name.
#include "common.h"
#include "mola_torch.h"
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#ifdef MOLA_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// torch 2.x: every call below keeps its 1.13 signature (checked against the 2.x headers:
// TCPStoreOptions{port,isServer,numWorkers,waitWorkers,timeout}, Store::setTimeout,
// ProcessGroupGloo::Options::create(timeout)/devices/threads, createDeviceFor{Hostname,Interface}
// (2.x adds a defaulted lazyInit), allreduce/broadcast/allgather/alltoall_base/barrier with
// their *Options, Work::wait(timeout)). ProcessGroupGloo became a c10d::Backend in 2.0, which
// only matters to code that stores it as a ProcessGroup; this file holds the concrete type.
#if !defined(TORCH_VERSION_MAJOR) || (TORCH_VERSION_MAJOR < 1) || (TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR < 13)
#error "c10d.cpp needs libtorch >= 1.13 (TCPStoreOptions, c10d/Work.hpp)"
#endif

using mola::T;

typedef void* mt_store;
typedef void* mt_pg;

namespace {

using ms = std::chrono::milliseconds;

struct StoreHandle {
  c10::intrusive_ptr<c10d::TCPStore> daemon;  // servers only: owns the listening daemon
  c10::intrusive_ptr<c10d::TCPStore> conn;    // the connection every operation uses (guarded by mu)
  std::mutex mu;
  std::string host;
  int port = 0;
  bool server = false;
  ms timeout{0};

  c10::intrusive_ptr<c10d::TCPStore> connection() {
    std::lock_guard<std::mutex> lock(mu);
    return conn;
  }

  std::string where() const {
    std::ostringstream s;
    s << "TCPStore " << (server ? "server" : "client") << " " << host << ":" << port;
    return s.str();
  }
};

StoreHandle& S(void* h) {
  if (h == nullptr) throw std::invalid_argument("store handle is null (freed or never created)");
  return *static_cast<StoreHandle*>(h);
}

std::string str_or(const char* p, const char* fallback) {
  return (p != nullptr && *p != '\0') ? std::string(p) : std::string(fallback);
}

std::string error_text(const std::exception& e) {
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) return ce->what_without_backtrace();
  return e.what();
}

bool looks_like_timeout(const std::string& text) {
  std::string lower = text;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("timed out") != std::string::npos || lower.find("timeout") != std::string::npos;
}

// c10d says "Socket Timeout", Gloo "Timed out waiting 3000ms ..."; every timeout we report
// reads "timed out ... <timeout> ms" so callers can match one phrase.
std::string describe_failure(const std::string& text, ms timeout) {
  if (!looks_like_timeout(text)) return text;
  return "timed out (timeout " + std::to_string(timeout.count()) + " ms): " + text;
}

std::vector<std::string> key_list(const char* const* keys, int n) {
  if (n < 0 || (n > 0 && keys == nullptr)) throw std::invalid_argument("invalid key list");
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    if (keys[i] == nullptr) throw std::invalid_argument("key list contains NULL");
    out.emplace_back(keys[i]);
  }
  return out;
}

c10::intrusive_ptr<c10d::TCPStore> connect_client(const std::string& host, int port, ms timeout);
std::string try_connect(const std::string& host, int port, ms budget);

// Runs a store call on the handle's connection, rethrowing failures with the store's address
// in front. After a timeout the connection is replaced: 1.13's client leaves an abandoned
// WAIT registered at the server, whose late reply would be read as the next answer.
template <typename F>
auto store_call(StoreHandle& s, const std::string& what, ms timeout, F&& f) -> decltype(f(std::declval<c10d::TCPStore&>())) {
  auto conn = s.connection();
  try {
    return f(*conn);
  } catch (const std::exception& e) {
    const std::string text = error_text(e);
    if (looks_like_timeout(text) && try_connect(s.host, s.port, ms(200)).empty()) {
      try {
        auto fresh = connect_client(s.host, s.port, s.timeout);
        std::lock_guard<std::mutex> lock(s.mu);
        if (s.conn.get() == conn.get()) s.conn = fresh;
      } catch (...) {
        // The server is gone too; the next call reports that.
      }
    }
    throw std::runtime_error(s.where() + ": " + what + ": " + describe_failure(text, timeout));
  }
}

#ifdef MOLA_C10D_GLOO
struct PgHandle {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::string group;
  int rank = 0;
  int size = 1;
  ms timeout{0};
  std::string broken;  // the op that failed first; non-empty = unusable

  std::string where() const {
    std::ostringstream s;
    s << "group '" << group << "' rank " << rank << "/" << size;
    return s.str();
  }
};

PgHandle& G(void* h) {
  if (h == nullptr) throw std::invalid_argument("process group handle is null (freed or never created)");
  return *static_cast<PgHandle*>(h);
}

// Waits for a work item with the group's timeout. Gloo enforces the same timeout inside
// its transport; the grace lets its message (which names the peer) arrive first.
void finish(PgHandle& g, const char* op, const c10::intrusive_ptr<c10d::Work>& work) {
  const ms grace = std::max(ms(500), g.timeout / 4);
  try {
    work->wait(g.timeout + grace);
  } catch (const std::exception& e) {
    std::ostringstream msg;
    msg << "[" << g.where() << "] ";
    if (!work->isCompleted()) {
      msg << "timed out after " << g.timeout.count() << " ms waiting for " << op
          << " to complete (a peer is dead, stalled or not calling the same collective)";
    } else {
      msg << op << ": " << describe_failure(error_text(e), g.timeout);
    }
    g.broken = op;
    throw std::runtime_error(msg.str());
  }
}

void check_usable(PgHandle& g) {
  if (!g.broken.empty())
    throw std::runtime_error("[" + g.where() + "] process group is unusable: an earlier " + g.broken +
                             " failed and the ranks are out of step; free it and create a new group");
}

void check_cpu_dense(const at::Tensor& t, const char* name) {
  if (!t.defined()) throw std::invalid_argument(std::string(name) + " tensor is undefined");
  if (!t.device().is_cpu()) throw std::invalid_argument(std::string(name) + " must be a CPU tensor for Gloo");
  if (t.layout() != at::kStrided) throw std::invalid_argument(std::string(name) + " must be a dense (strided) tensor");
}

c10d::ReduceOp to_reduce_op(int op) {
  switch (op) {
    case 0: return c10d::ReduceOp(c10d::ReduceOp::SUM);
    case 1: return c10d::ReduceOp(c10d::ReduceOp::SUM);  // AVG = SUM, then / size
    case 2: return c10d::ReduceOp(c10d::ReduceOp::MAX);
    case 3: return c10d::ReduceOp(c10d::ReduceOp::MIN);
    case 4: return c10d::ReduceOp(c10d::ReduceOp::PRODUCT);
    default: throw std::invalid_argument("unknown reduce op code " + std::to_string(op) + " (0 sum, 1 avg, 2 max, 3 min, 4 product)");
  }
}
#endif

// One non-blocking TCP connect attempt bounded by `budget`; "" on success, else the reason.
std::string try_connect(const std::string& host, int port, ms budget) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) return std::string("cannot resolve host: ") + ::gai_strerror(rc);
  std::string reason = "no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) { reason = std::strerror(errno); continue; }
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(budget.count(), 1)));
        if (n == 0) {
          err = ETIMEDOUT;
        } else if (n < 0) {
          err = errno;
        } else {
          socklen_t len = sizeof(err);
          if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        }
      }
    }
    ::close(fd);
    if (err == 0) { ::freeaddrinfo(res); return ""; }
    reason = std::strerror(err);
  }
  ::freeaddrinfo(res);
  return reason;
}

// Waits until something accepts connections at host:port. TCPStore's own client gives up
// early on a refused connection when the timeout is short, so a client started before
// its server would fail at once; this poll makes the start order irrelevant.
void wait_for_listener(const std::string& host, int port, ms timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string reason;
  for (;;) {
    auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    reason = try_connect(host, port, std::min(left, ms(1000)));
    if (reason.empty()) return;
    left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    std::this_thread::sleep_for(std::min(left, ms(50)));
  }
  throw std::runtime_error("timed out after " + std::to_string(timeout.count()) + " ms (last error: " +
                           (reason.empty() ? std::string("none") : reason) + "; is the rank-0 server running?)");
}

constexpr ms kConnectFloor{3000};
const char* const kJoinedKey = "mola/store/joined";

// A client connection to a running server. torch 1.13 rounds the connect timeout down to
// whole seconds and gives up at once below one second, so connect with a floor and set the
// requested timeout (used by get/wait) afterwards.
c10::intrusive_ptr<c10d::TCPStore> connect_client(const std::string& host, int port, ms timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = false;
  o.waitWorkers = false;
  o.timeout = std::max(timeout, kConnectFloor);
  auto c = c10::make_intrusive<c10d::TCPStore>(host, o);
  c->setTimeout(timeout);
  return c;
}

// Server side of wait_workers: polls the join counter every store client bumps on creation.
void wait_for_workers(StoreHandle& h, int64_t joined, int world_size) {
  const auto deadline = std::chrono::steady_clock::now() + h.timeout;
  while (joined < world_size) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(h.where() + ": timed out after " + std::to_string(h.timeout.count()) +
                               " ms waiting for workers: " + std::to_string(joined) + " of " +
                               std::to_string(world_size) + " joined");
    }
    std::this_thread::sleep_for(ms(20));
    joined = store_call(h, "join", h.timeout, [&](c10d::TCPStore& c) { return c.add(kJoinedKey, 0); });
  }
}

thread_local std::vector<uint8_t> g_get_buffer;
const uint8_t g_empty_value = 0;

}  // namespace

// ---- store -----------------------------------------------------------------------

MT_API mt_store mt_store_create(const char* host, int port, int is_server, int world_size,
                                int64_t timeout_ms, int wait_workers) {
  MT_GUARD_PTR("store_create", {
    if (port < 0 || port > 65535) throw std::invalid_argument("port " + std::to_string(port) + " is out of range 0..65535");
    if (timeout_ms <= 0) throw std::invalid_argument("timeout_ms must be positive");
    if (!is_server && port == 0) throw std::invalid_argument("a client needs the server's port (got 0)");
    auto h = std::make_unique<StoreHandle>();
    h->host = str_or(host, "127.0.0.1");
    h->port = port;
    h->server = is_server != 0;
    h->timeout = ms(timeout_ms);

    try {
      if (h->server) {
        c10d::TCPStoreOptions o;
        o.port = static_cast<std::uint16_t>(port);
        o.isServer = true;
        // Joining is counted by us (kJoinedKey), the same way on every torch version: 1.13's
        // own waitWorkers returns silently when its timeout expires.
        o.waitWorkers = false;
        o.timeout = std::max(h->timeout, kConnectFloor);
        h->daemon = c10::make_intrusive<c10d::TCPStore>(h->host, o);
        h->daemon->setTimeout(h->timeout);
        h->port = h->daemon->getPort();
        h->conn = h->daemon;
      } else {
        wait_for_listener(h->host, port, h->timeout);
        h->conn = connect_client(h->host, port, h->timeout);
      }
    } catch (const std::exception& e) {
      std::ostringstream msg;
      if (h->server)
        msg << "cannot start a TCPStore server on port " << port << " (host " << h->host << "): " << error_text(e);
      else
        msg << "cannot connect to the TCPStore server at " << h->host << ":" << port << ": " << error_text(e);
      throw std::runtime_error(msg.str());
    }
    if (world_size > 0) {
      const int64_t joined = store_call(*h, "join", h->timeout, [&](c10d::TCPStore& c) { return c.add(kJoinedKey, 1); });
      if (h->server && wait_workers != 0) wait_for_workers(*h, joined, world_size);
    }
    return h.release();
  })
}

MT_API int mt_store_port(mt_store s) {
  MT_GUARD_INT("store_port", { return S(s).port; })
}

MT_API int mt_store_set(mt_store s, const char* key, const uint8_t* data, int64_t len) {
  MT_GUARD_INT("store_set", {
    auto& h = S(s);
    if (key == nullptr) throw std::invalid_argument("key is NULL");
    if (len < 0 || (len > 0 && data == nullptr)) throw std::invalid_argument("invalid value buffer");
    std::vector<uint8_t> value(data, data + len);
    store_call(h, "set", h.timeout, [&](c10d::TCPStore& c) { c.set(key, value); return 0; });
    return 0;
  })
}

MT_API const uint8_t* mt_store_get(mt_store s, const char* key, int64_t* len) {
  MT_GUARD_PTR("store_get", {
    auto& h = S(s);
    if (key == nullptr || len == nullptr) throw std::invalid_argument("key or len is NULL");
    *len = 0;
    g_get_buffer = store_call(h, std::string("get '") + key + "'", h.timeout, [&](c10d::TCPStore& c) { return c.get(key); });
    *len = static_cast<int64_t>(g_get_buffer.size());
    return g_get_buffer.empty() ? &g_empty_value : g_get_buffer.data();
  })
}

MT_API int mt_store_add(mt_store s, const char* key, int64_t delta, int64_t* result) {
  MT_GUARD_INT("store_add", {
    auto& h = S(s);
    if (key == nullptr) throw std::invalid_argument("key is NULL");
    int64_t v = store_call(h, "add", h.timeout, [&](c10d::TCPStore& c) { return c.add(key, delta); });
    if (result != nullptr) *result = v;
    return 0;
  })
}

MT_API int mt_store_wait(mt_store s, const char* const* keys, int n, int64_t timeout_ms) {
  MT_GUARD_INT("store_wait", {
    auto& h = S(s);
    auto list = key_list(keys, n);
    const ms t = timeout_ms < 0 ? h.timeout : ms(timeout_ms);
    std::string what = "wait for";
    for (auto& k : list) what += " '" + k + "'";
    store_call(h, what, t, [&](c10d::TCPStore& c) { c.wait(list, t); return 0; });
    return 0;
  })
}

MT_API int mt_store_check(mt_store s, const char* const* keys, int n) {
  MT_GUARD_INT("store_check", {
    auto& h = S(s);
    auto list = key_list(keys, n);
    return store_call(h, "check", h.timeout, [&](c10d::TCPStore& c) { return c.check(list); }) ? 1 : 0;
  })
}

MT_API int mt_store_delete(mt_store s, const char* key) {
  MT_GUARD_INT("store_delete", {
    auto& h = S(s);
    if (key == nullptr) throw std::invalid_argument("key is NULL");
    return store_call(h, "delete", h.timeout, [&](c10d::TCPStore& c) { return c.deleteKey(key); }) ? 1 : 0;
  })
}

MT_API void mt_store_free(mt_store s) {
  try {
    delete static_cast<StoreHandle*>(s);
  } catch (...) {
  }
}

// ---- Gloo process group ------------------------------------------------------------

#ifdef MOLA_C10D_GLOO

MT_API mt_pg mt_pg_gloo_create(mt_store s, const char* group, int rank, int size, int64_t timeout_ms,
                               const char* hostname, const char* iface) {
  MT_GUARD_PTR("pg_gloo_create", {
    auto& st = S(s);
    if (size < 1) throw std::invalid_argument("size must be >= 1, got " + std::to_string(size));
    if (rank < 0 || rank >= size)
      throw std::invalid_argument("rank " + std::to_string(rank) + " is outside 0.." + std::to_string(size - 1));
    if (timeout_ms <= 0) throw std::invalid_argument("timeout_ms must be positive");
    auto h = std::make_unique<PgHandle>();
    h->group = str_or(group, "default");
    h->rank = rank;
    h->size = size;
    h->timeout = ms(timeout_ms);

    // Its own connection: a rendezvous that times out cannot leave the caller's one out of step.
    c10::intrusive_ptr<c10d::TCPStore> conn;
    try {
      conn = connect_client(st.host, st.port, h->timeout);
    } catch (const std::exception& e) {
      throw std::runtime_error("[" + h->where() + "] cannot connect to " + st.where() + ": " + error_text(e));
    }
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("mola/pg/" + h->group, c10::intrusive_ptr<c10d::Store>(conn));
    auto options = c10d::ProcessGroupGloo::Options::create(h->timeout);
    const std::string nic = str_or(iface, "");
    if (!nic.empty())
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(nic));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(str_or(hostname, "127.0.0.1")));
    options->threads = 2;
    try {
      h->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, size, options);
    } catch (const std::exception& e) {
      std::ostringstream msg;
      msg << "[" << h->where() << "] rendezvous through " << st.where() << " failed: "
          << describe_failure(error_text(e), h->timeout);
      throw std::runtime_error(msg.str());
    }
    return h.release();
  })
}

MT_API int mt_pg_rank(mt_pg g) {
  MT_GUARD_INT("pg_rank", { return G(g).rank; })
}

MT_API int mt_pg_size(mt_pg g) {
  MT_GUARD_INT("pg_size", { return G(g).size; })
}

MT_API int mt_pg_allreduce(mt_pg g, mt_tensor t, int op) {
  MT_GUARD_INT("pg_allreduce", {
    auto& h = G(g);
    check_usable(h);
    at::Tensor& x = T(t);
    check_cpu_dense(x, "tensor");
    c10d::AllreduceOptions o;
    o.reduceOp = to_reduce_op(op);
    o.timeout = h.timeout;
    std::vector<at::Tensor> ts{x.is_contiguous() ? x : x.contiguous()};
    finish(h, "allreduce", h.pg->allreduce(ts, o));
    at::Tensor& r = ts[0];
    if (op == 1 && h.size > 1) {
      if (at::isFloatingType(r.scalar_type()) || at::isComplexType(r.scalar_type()))
        r.div_(h.size);
      else
        r.div_(h.size, "trunc");
    }
    if (!r.is_same(x)) x.copy_(r);
    return 0;
  })
}

MT_API int mt_pg_broadcast(mt_pg g, mt_tensor t, int root) {
  MT_GUARD_INT("pg_broadcast", {
    auto& h = G(g);
    check_usable(h);
    if (root < 0 || root >= h.size)
      throw std::invalid_argument("root " + std::to_string(root) + " is outside 0.." + std::to_string(h.size - 1));
    at::Tensor& x = T(t);
    check_cpu_dense(x, "tensor");
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.rootTensor = 0;
    o.timeout = h.timeout;
    std::vector<at::Tensor> ts{x.is_contiguous() ? x : x.contiguous()};
    finish(h, "broadcast", h.pg->broadcast(ts, o));
    if (!ts[0].is_same(x)) x.copy_(ts[0]);
    return 0;
  })
}

// Both CPU, dense and of one dtype (all-gather and all-to-all write input's elements into output).
static void check_input_output(const at::Tensor& in, const at::Tensor& out) {
  check_cpu_dense(in, "input");
  check_cpu_dense(out, "output");
  if (in.scalar_type() != out.scalar_type())
    throw std::invalid_argument(std::string("output dtype ") + c10::toString(out.scalar_type()) +
                                " differs from input dtype " + c10::toString(in.scalar_type()));
}

MT_API int mt_pg_allgather(mt_pg g, mt_tensor input, mt_tensor output) {
  MT_GUARD_INT("pg_allgather", {
    auto& h = G(g);
    check_usable(h);
    at::Tensor& in = T(input);
    at::Tensor& out = T(output);
    check_input_output(in, out);
    const int64_t n = in.numel();
    if (out.numel() != n * h.size)
      throw std::invalid_argument("output has " + std::to_string(out.numel()) + " elements, expected size * input = " +
                                  std::to_string(h.size) + " * " + std::to_string(n));
    at::Tensor src = in.is_contiguous() ? in : in.contiguous();
    at::Tensor dst = out.is_contiguous() ? out : at::empty_like(out, at::MemoryFormat::Contiguous);
    at::Tensor flat = dst.view({-1});
    std::vector<std::vector<at::Tensor>> outs(1);
    for (int r = 0; r < h.size; ++r) outs[0].push_back(flat.narrow(0, r * n, n).view(src.sizes()));
    std::vector<at::Tensor> ins{src};
    c10d::AllgatherOptions o;
    o.timeout = h.timeout;
    finish(h, "allgather", h.pg->allgather(outs, ins, o));
    if (!dst.is_same(out)) out.copy_(dst);
    return 0;
  })
}

MT_API int mt_pg_alltoall(mt_pg g, mt_tensor output, mt_tensor input, const int64_t* out_splits,
                          const int64_t* in_splits, int n) {
  MT_GUARD_INT("pg_alltoall", {
    auto& h = G(g);
    check_usable(h);
    at::Tensor& in = T(input);
    at::Tensor& out = T(output);
    check_input_output(in, out);
    if (in.dim() == 0 || out.dim() == 0) throw std::invalid_argument("input and output need at least one dimension");
    std::vector<int64_t> os, is;
    if (n != 0) {
      if (n != h.size)
        throw std::invalid_argument("got " + std::to_string(n) + " splits, expected one per rank (" + std::to_string(h.size) + ")");
      if (out_splits == nullptr || in_splits == nullptr) throw std::invalid_argument("split arrays are NULL");
      os.assign(out_splits, out_splits + n);
      is.assign(in_splits, in_splits + n);
      int64_t osum = 0, isum = 0;
      for (int i = 0; i < n; ++i) {
        if (os[i] < 0 || is[i] < 0) throw std::invalid_argument("split sizes must be >= 0");
        osum += os[i];
        isum += is[i];
      }
      if (isum != in.size(0))
        throw std::invalid_argument("in_splits sum to " + std::to_string(isum) + " rows but input has " +
                                    std::to_string(in.size(0)) + " rows (dim 0)");
      if (osum != out.size(0))
        throw std::invalid_argument("out_splits sum to " + std::to_string(osum) + " rows but output has " +
                                    std::to_string(out.size(0)) + " rows (dim 0)");
    } else {
      if (in.size(0) % h.size != 0 || out.size(0) % h.size != 0)
        throw std::invalid_argument("equal splits need dim 0 of input and output divisible by size " + std::to_string(h.size));
    }
    if (in.numel() / std::max<int64_t>(in.size(0), 1) != out.numel() / std::max<int64_t>(out.size(0), 1) &&
        in.size(0) > 0 && out.size(0) > 0)
      throw std::invalid_argument("input and output rows (dims after 0) must have the same number of elements");
    at::Tensor src = in.is_contiguous() ? in : in.contiguous();
    at::Tensor dst = out.is_contiguous() ? out : at::empty_like(out, at::MemoryFormat::Contiguous);
    c10d::AllToAllOptions o;
    o.timeout = h.timeout;
    finish(h, "alltoall", h.pg->alltoall_base(dst, src, os, is, o));
    if (!dst.is_same(out)) out.copy_(dst);
    return 0;
  })
}

MT_API int mt_pg_barrier(mt_pg g) {
  MT_GUARD_INT("pg_barrier", {
    auto& h = G(g);
    check_usable(h);
    c10d::BarrierOptions o;
    o.timeout = h.timeout;
    finish(h, "barrier", h.pg->barrier(o));
    return 0;
  })
}

MT_API void mt_pg_free(mt_pg g) {
  try {
    delete static_cast<PgHandle*>(g);
  } catch (...) {
  }
}

#else  // !MOLA_C10D_GLOO: the same ABI, every call reports that Gloo is missing.

namespace {
[[noreturn]] void no_gloo() { throw std::runtime_error("libmola_torch was built without Gloo (no gloo headers at build time)"); }
}  // namespace

MT_API mt_pg mt_pg_gloo_create(mt_store, const char*, int, int, int64_t, const char*, const char*) {
  MT_GUARD_PTR("pg_gloo_create", { no_gloo(); })
}
MT_API int mt_pg_rank(mt_pg) { MT_GUARD_INT("pg_rank", { no_gloo(); }) }
MT_API int mt_pg_size(mt_pg) { MT_GUARD_INT("pg_size", { no_gloo(); }) }
MT_API int mt_pg_allreduce(mt_pg, mt_tensor, int) { MT_GUARD_INT("pg_allreduce", { no_gloo(); }) }
MT_API int mt_pg_broadcast(mt_pg, mt_tensor, int) { MT_GUARD_INT("pg_broadcast", { no_gloo(); }) }
MT_API int mt_pg_allgather(mt_pg, mt_tensor, mt_tensor) { MT_GUARD_INT("pg_allgather", { no_gloo(); }) }
MT_API int mt_pg_alltoall(mt_pg, mt_tensor, mt_tensor, const int64_t*, const int64_t*, int) {
  MT_GUARD_INT("pg_alltoall", { no_gloo(); })
}
MT_API int mt_pg_barrier(mt_pg) { MT_GUARD_INT("pg_barrier", { no_gloo(); }) }
MT_API void mt_pg_free(mt_pg) {}

#endif
