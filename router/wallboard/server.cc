#include "router/wallboard/server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "router/wallboard/page.h"

namespace sb::wallboard {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Requests are small GETs: anything larger is not a wallboard client.
constexpr uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr uint64_t kMaxBodyBytes = 8 * 1024;
constexpr auto kReadTimeout = std::chrono::seconds(15);

constexpr std::string_view kCookie = "sb_wallboard";

// A token presented with a request, and whether it came in the query string.
struct Credential {
  std::string value;
  bool from_query = false;
};

// Characters a token may have to travel in a cookie and a query string unescaped.
bool TokenChars(std::string_view t) {
  return t.size() <= 256 && t.find_first_not_of(
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                "-._~+/=") == std::string_view::npos;
}

// The value of `name` in a "k=v; k2=v2" cookie header or a "k=v&k2=v2" query.
std::string_view Field(std::string_view list, std::string_view name, char separator) {
  while (!list.empty()) {
    const size_t end = list.find(separator);
    std::string_view item = list.substr(0, end);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.starts_with(name) && item[name.size()] == '=') {
      return item.substr(name.size() + 1);
    }
    if (end == std::string_view::npos) break;
    list.remove_prefix(end + 1);
  }
  return {};
}

Credential TokenOf(const http::request<http::string_body>& req, std::string_view target) {
  Credential c;
  std::string_view v;
  if (auto it = req.find(http::field::authorization); it != req.end()) {
    const std::string_view h(it->value().data(), it->value().size());
    if (h.starts_with("Bearer ")) v = h.substr(7);
  }
  if (v.empty()) {
    if (auto it = req.find(http::field::cookie); it != req.end()) {
      v = Field(std::string_view(it->value().data(), it->value().size()), kCookie, ';');
    }
  }
  if (v.empty()) {
    if (const size_t q = target.find('?'); q != std::string_view::npos) {
      v = Field(target.substr(q + 1), "token", '&');
      c.from_query = !v.empty();
    }
  }
  if (TokenChars(v)) c.value = std::string(v);
  return c;
}

class Session;

}  // namespace

struct Server::State {
  ServerOptions options;
  SnapshotFn snapshot_fn;
  std::atomic<int> connections{0};
  absl::Mutex mu;
  std::string snapshot ABSL_GUARDED_BY(mu);  // the latest JSON text
  // The data thread waits on `stopping` itself (Mutex::AwaitWithTimeout): no condition variable.
  absl::Mutex stop_mu;
  bool stopping ABSL_GUARDED_BY(stop_mu) = false;
  std::string host;
  int port = 0;
  // Declared after the members sessions touch in their destructors, so it is destroyed first.
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::vector<std::weak_ptr<Session>> sse;  // io thread only
  std::thread io_thread;
  std::thread data_thread;

  std::string Current() ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    return snapshot;
  }

  void SetSnapshot(std::string snap) ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    snapshot = std::move(snap);
  }

  // Sleeps up to `interval`; true once the destructor asked the data thread to stop.
  bool StopWithin(absl::Duration interval) ABSL_LOCKS_EXCLUDED(stop_mu) {
    absl::MutexLock lock(&stop_mu);
    return stop_mu.AwaitWithTimeout(absl::Condition(&stopping), interval);
  }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::State* st) : stream_(std::move(socket)), st_(st) {
    ++st_->connections;
  }
  ~Session() { --st_->connections; }

  void Start() {
    if (st_->connections > st_->options.max_connections) {
      return Send(http::status::service_unavailable, "text/plain", "too many connections\n", false);
    }
    Read();
  }

  // io thread. A slow client misses an event rather than growing a queue without bound.
  void Push(const std::shared_ptr<const std::string>& event) {
    if (writing_ || closed_) return;
    writing_ = true;
    ++events_sent_;
    net::async_write(
        stream_, net::buffer(*event),
        [self = shared_from_this(), event](beast::error_code ec, size_t) {
          self->writing_ = false;
          if (ec || self->events_sent_ >= self->st_->options.sse_events_per_connection) {
            self->Close();
          }
        });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kReadTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return Close();
    }
    if (ec) return Send(http::status::bad_request, "text/plain", "bad request\n", false);
    const auto& req = parser_->get();
    const bool keep = req.keep_alive();
    if (req.method() != http::verb::get) {
      return Send(http::status::method_not_allowed, "text/plain", "only GET\n", false);
    }
    std::string_view target(req.target().data(), req.target().size());
    if (target.empty() || target.front() != '/') {
      return Send(http::status::bad_request, "text/plain", "bad request target\n", false);
    }
    const std::string_view path = target.substr(0, target.find('?'));
    std::string cookie;  // set on the page's answer when the token came in the query
    if (st_->options.authorize) {
      const Credential token = TokenOf(req, target);
      if (token.value.empty() || !st_->options.authorize(token.value)) {
        return Send(http::status::unauthorized, "text/plain",
                    "a token is required: open /wallboard?token=<your API token>\n", false);
      }
      if (token.from_query) {
        cookie = std::string(kCookie) + "=" + token.value +
                 "; Path=/wallboard; HttpOnly; SameSite=Strict";
      }
    }
    if (path == "/wallboard" || path == "/wallboard/") {
      return Send(http::status::ok, "text/html; charset=utf-8", Page(st_->Current()), keep, cookie);
    }
    if (path == "/wallboard/data") {
      return Send(http::status::ok, "application/json", st_->Current(), keep);
    }
    if (path == "/wallboard/events") return StartEvents();
    return Send(http::status::not_found, "text/plain", "not found\n", keep);
  }

  void Send(http::status status, const char* type, std::string body, bool keep,
            const std::string& set_cookie = "") {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "switchboard");
    if (!set_cookie.empty()) res->set(http::field::set_cookie, set_cookie);
    res->set(http::field::content_type, type);
    res->set(http::field::cache_control, "no-store");
    res->body() = std::move(body);
    res->keep_alive(keep);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep](beast::error_code ec, size_t) {
                        if (ec || !keep) return self->Close();
                        self->Read();
                      });
  }

  void StartEvents() {
    stream_.expires_never();
    auto head = std::make_shared<const std::string>(
        "HTTP/1.1 200 OK\r\nServer: switchboard\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\nretry: 1000\n\ndata: " +
        st_->Current() + "\n\n");
    Push(head);
    st_->sse.push_back(weak_from_this());
    // An event-stream client sends nothing more: any read completion means it went away.
    stream_.socket().async_read_some(
        net::buffer(drain_),
        [self = shared_from_this()](beast::error_code, size_t) { self->Close(); });
  }

  beast::tcp_stream stream_;
  Server::State* st_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  char drain_[256];
  bool writing_ = false;
  bool closed_ = false;
  int events_sent_ = 0;
};

void Accept(Server::State* st) {
  st->acceptor.async_accept([st](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) std::make_shared<Session>(std::move(socket), st)->Start();
    Accept(st);
  });
}

void Broadcast(Server::State* st, std::shared_ptr<const std::string> event) {
  std::vector<std::weak_ptr<Session>> alive;
  for (auto& w : st->sse) {
    if (auto s = w.lock()) {
      s->Push(event);
      alive.push_back(w);
    }
  }
  st->sse.swap(alive);
}

void DataLoop(Server::State* st) {
  const absl::Duration interval = absl::Milliseconds(st->options.push_interval_ms);
  while (!st->StopWithin(interval)) {
    std::string snap = st->snapshot_fn();
    auto event = std::make_shared<const std::string>("data: " + snap + "\n\n");
    st->SetSnapshot(std::move(snap));
    net::post(st->ioc, [st, event] { Broadcast(st, event); });
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, SnapshotFn snapshot) {
  auto st = std::make_shared<State>();
  st->options = options;
  st->snapshot_fn = std::move(snapshot);
  beast::error_code ec;
  const auto address = net::ip::make_address(options.bind, ec);
  if (ec)
    return InvalidArgument("wallboard bind address \"" + options.bind + "\": " + ec.message());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  st->acceptor.open(endpoint.protocol(), ec);
  if (!ec) st->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) st->acceptor.bind(endpoint, ec);
  if (!ec) st->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("wallboard cannot listen on " + options.bind + ":" +
                       std::to_string(options.port) + ": " + ec.message());
  }
  st->port = st->acceptor.local_endpoint().port();
  st->host = address.is_unspecified() ? (address.is_v6() ? "[::1]" : "127.0.0.1")
             : address.is_v6()        ? "[" + options.bind + "]"
                                      : options.bind;
  st->SetSnapshot(st->snapshot_fn());
  Accept(st.get());
  st->io_thread = std::thread([s = st.get()] { s->ioc.run(); });
  st->data_thread = std::thread([s = st.get()] { DataLoop(s); });
  return std::unique_ptr<Server>(new Server(std::move(st)));
}

Server::~Server() {
  {
    // Unlocking re-evaluates the data thread's Await condition: this is the wake-up.
    absl::MutexLock lock(&state_->stop_mu);
    state_->stopping = true;
  }
  state_->data_thread.join();
  net::post(state_->ioc, [s = state_.get()] {
    beast::error_code ec;
    s->acceptor.close(ec);
    for (auto& w : s->sse) {
      if (auto session = w.lock()) session->Close();
    }
  });
  state_->ioc.stop();
  state_->io_thread.join();
}

int Server::port() const { return state_->port; }

std::string Server::url() const {
  return "http://" + state_->host + ":" + std::to_string(state_->port) + "/wallboard";
}

}  // namespace sb::wallboard
