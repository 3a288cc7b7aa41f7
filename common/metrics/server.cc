#include "common/metrics/server.h"

#include <prometheus/text_serializer.h>

#include <exception>

namespace sb::metrics {
namespace {

// Scrapes are rare (every few seconds): two threads answer one Prometheus and a curl at once.
constexpr size_t kServerThreads = 2;

bool IsIpv6(const std::string& host) { return host.find(':') != std::string::npos; }

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const std::string& bind_address, int port) {
  if (port < 0 || port > 65535) {
    return InvalidArgument("metrics port " + std::to_string(port) + ": must be 0..65535");
  }
  std::unique_ptr<Server> server(new Server());
  server->registry_ = std::make_shared<prometheus::Registry>();
  const std::string listen =
      (IsIpv6(bind_address) ? "[" + bind_address + "]" : bind_address) + ":" + std::to_string(port);
  // prometheus-cpp reports a failed bind by throwing: this is startup, the process edge.
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(listen, kServerThreads);
  } catch (const std::exception& e) {
    return Unavailable("metrics: cannot listen on " + listen + ": " + e.what());
  }
  server->exposer_->RegisterCollectable(server->registry_);
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  if (ports.empty()) return Unavailable("metrics: no listening port on " + listen);
  server->port_ = ports.front();
  server->host_ = bind_address;
  if (bind_address.empty() || bind_address == "0.0.0.0") server->host_ = "127.0.0.1";
  if (bind_address == "::" || bind_address == "[::]") server->host_ = "::1";
  return server;
}

Server::~Server() {
  // Stop serving before the registry goes: a scrape in progress finishes first.
  exposer_.reset();
}

std::string Server::url() const {
  const std::string host = IsIpv6(host_) && host_.front() != '[' ? "[" + host_ + "]" : host_;
  return "http://" + host + ":" + std::to_string(port_) + "/metrics";
}

std::string Scrape(const prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace sb::metrics
