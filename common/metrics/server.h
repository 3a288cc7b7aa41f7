// The /metrics HTTP endpoint of a Switchboard process: one prometheus-cpp Registry served by a
// prometheus-cpp Exposer (civetweb). Every process makes one Server at startup; its modules
// declare their metric families in the registry through their probes.
//
// Threads: the exposer answers scrapes on its own threads. Metric objects are thread-safe, so
// the thread that owns a probe updates its metrics while a scrape reads them.
#pragma once

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace sb::metrics {

class Server {
 public:
  // Listens on `bind_address`:`port` (port 0: a free port, see port()). Fails with Unavailable
  // when it cannot listen (address in use, no such address). Call at startup only.
  static Result<std::unique_ptr<Server>> Start(const std::string& bind_address, int port);
  ~Server();

  prometheus::Registry& registry() { return *registry_; }
  int port() const { return port_; }
  // http://<host>:<port>/metrics; a wildcard bind (0.0.0.0, ::) is shown as loopback so the
  // address works from this machine.
  std::string url() const;

 private:
  Server() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string host_;
  int port_ = 0;
};

// The text exposition format of `registry`: what a scrape of /metrics returns. For tests and
// status pages.
std::string Scrape(const prometheus::Registry& registry);

}  // namespace sb::metrics
