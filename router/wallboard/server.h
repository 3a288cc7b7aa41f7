// The wallboard's HTTP server (Boost.Beast over asio):
//   GET /wallboard         the page (page.h) with the current snapshot inlined
//   GET /wallboard/data    the current snapshot as JSON
//   GET /wallboard/events  Server-Sent Events: the snapshot as one `data:` event per push interval
// 404 for other paths, 405 for other methods, 400 for requests that do not parse, 503 past the
// connection limit, 401 without a token when ServerOptions::authorize is set. Never serves anything
// but these; a broken client only loses its connection.
//
// Threads: one io thread runs every socket; one data thread calls the SnapshotFn once per push
// interval and hands the result to the io thread. Both start in Start() and stop in the destructor.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sb::wallboard {

struct ServerOptions {
  std::string bind = "0.0.0.0";
  int port = 0;              // 0: a free port, see Server::port()
  int max_connections = 64;  // SSE clients included; past it new connections get 503
  int push_interval_ms = 1000;
  // An event stream ends after this many events and the browser's EventSource reconnects (after
  // the `retry` the stream announces, 1 s; the new stream starts with the current snapshot, so
  // the page misses nothing). Bounds how long one connection holds a slot, and lets headless
  // browsers whose virtual clock stops while a request is open (--virtual-time-budget) finish.
  int sse_events_per_connection = 5;
  // When set (a bind other than loopback), every request needs a token it accepts: from
  // `Authorization: Bearer <token>`, the `sb_wallboard` cookie, or `?token=<token>` (a browser's
  // first visit: the page's answer sets the cookie, HttpOnly and SameSite=Strict, so the event
  // stream and reloads carry it). 401 otherwise. Called on the io thread; must not block long.
  std::function<bool(std::string_view token)> authorize;
};

class Server {
 public:
  // Returns the snapshot JSON text. Called on the data thread only, so it may block (a Kafka
  // poll) for a part of the push interval; it must not throw.
  using SnapshotFn = std::function<std::string()>;

  // Listens on bind:port and takes the first snapshot before returning. Unavailable when it
  // cannot listen (address in use, no such address).
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, SnapshotFn snapshot);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // http://<host>:<port>/wallboard; a wildcard bind is shown as loopback (like metrics::Server).
  std::string url() const;

  struct State;

 private:
  explicit Server(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace sb::wallboard
