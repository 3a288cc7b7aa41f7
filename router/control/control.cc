#include "router/control/control.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/sha.h>

#include <cstdio>
#include <set>

#include "common/clock.h"
#include "common/config/text.h"
#include "common/log/log.h"
#include "router/kafka/topics.h"

namespace sb::control {
namespace {

constexpr size_t kVersionHexDigits = 16;
// Names listed in a refusal, the rest counted: the message stays one bounded line (it reaches the
// caller of ApplyConfig and the logs) however much a config removes.
constexpr size_t kMaxNamesListed = 5;

template <typename List>
std::set<std::string> NamesOf(const List& items) {
  std::set<std::string> names;
  for (const auto& item : items) names.insert(item.name());
  return names;
}

std::string Missing(const std::set<std::string>& before, const std::set<std::string>& after) {
  std::string out;
  size_t missing = 0;
  for (const std::string& name : before) {
    if (after.count(name)) continue;
    if (++missing <= kMaxNamesListed) out += (out.empty() ? "" : ", ") + config::Quote(name);
  }
  if (missing > kMaxNamesListed) {
    out += " and " + std::to_string(missing - kMaxNamesListed) + " more";
  }
  return out;
}

}  // namespace

std::string ConfigKey(std::string_view version) { return "config/" + std::string(version); }
std::string DrainKey(std::string_view node_id) { return "drain/" + std::string(node_id); }

std::string ConfigVersionOf(const pb::RoutingConfig& config) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    config.SerializeToCodedStream(&out);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < kVersionHexDigits / 2; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

Status CheckCompatible(const pb::RoutingConfig& running, const pb::RoutingConfig& next) {
  const std::string domains = Missing(NamesOf(running.domains()), NamesOf(next.domains()));
  const std::string queues = Missing(NamesOf(running.queues()), NamesOf(next.queues()));
  if (domains.empty() && queues.empty()) return Status::Ok();
  std::string what;
  if (!domains.empty()) what += "routing domains " + domains;
  if (!queues.empty()) what += std::string(what.empty() ? "" : " and ") + "queues " + queues;
  return FailedPrecondition(
      "config: removes " + what +
      " of the running config (contacts may wait in them; removing or renaming a domain or "
      "queue needs a drain procedure that does not exist yet: keep them)");
}

Status ControlState::Apply(const kafka::Record& r) {
  ++records_;
  auto bad = [&](const std::string& what) {
    return InvalidArgument("sb.control@" + std::to_string(r.offset) + " key " +
                           config::Quote(r.key) + ": " + what + "; skipped");
  };
  if (r.key == kCurrentConfigKey) {
    if (!r.value) {
      current_.reset();
      return Status::Ok();
    }
    pb::ConfigCurrent current;
    if (!current.ParseFromString(*r.value) || current.version().empty()) {
      return bad("not a ConfigCurrent");
    }
    current_ = std::move(current);
    return Status::Ok();
  }
  if (r.key.starts_with("config/")) {
    if (!r.value) return Status::Ok();  // a version is never forgotten here: a restore may need it
    pb::ConfigVersion v;
    if (!v.ParseFromString(*r.value)) return bad("not a ConfigVersion");
    const std::string version = ConfigVersionOf(v.config());
    if (version != v.version() || r.key != ConfigKey(version)) {
      return bad("version " + config::Quote(v.version()) + " is not the config's (" + version +
                 ")");
    }
    configs_[version] = std::make_shared<const pb::RoutingConfig>(v.config());
    return Status::Ok();
  }
  if (r.key.starts_with("drain/")) {
    const std::string node = r.key.substr(6);
    if (!r.value) {
      drains_.erase(node);
      return Status::Ok();
    }
    pb::NodeDrain d;
    if (!d.ParseFromString(*r.value) || d.node_id() != node) return bad("not a NodeDrain");
    drains_[node] = std::move(d);
    return Status::Ok();
  }
  return Status::Ok();  // someone else's key (a newer version's): not ours to judge
}

void ControlState::Add(pb::RoutingConfig config) {
  std::string version = ConfigVersionOf(config);
  if (!configs_.count(version)) {
    configs_[version] = std::make_shared<const pb::RoutingConfig>(std::move(config));
  }
}

std::shared_ptr<const pb::RoutingConfig> ControlState::Find(const std::string& version) const {
  auto it = configs_.find(version);
  return it == configs_.end() ? nullptr : it->second;
}

Result<std::unique_ptr<ControlFollower>> ControlFollower::Open(const std::string& bootstrap,
                                                               const kafka::Settings& settings,
                                                               std::string who) {
  kafka::Settings s = settings;
  s.erase("session.timeout.ms");
  s.erase("heartbeat.interval.ms");
  auto reader = kafka::PartitionReader::Create(bootstrap, s);
  if (!reader.ok()) return reader.status();
  std::unique_ptr<ControlFollower> f(new ControlFollower());
  f->reader_ = std::move(*reader);
  f->who_ = std::move(who);
  SB_RETURN_IF_ERROR(
      f->reader_->Assign(kafka::kControlTopic, kControlPartition, RD_KAFKA_OFFSET_BEGINNING));
  return f;
}

int ControlFollower::Poll(int timeout_ms) {
  int n = 0;
  for (int wait = timeout_ms;; wait = 0) {
    auto rec = reader_->Poll(wait);
    if (!rec.ok()) {
      if (errors_++ % 100 == 0) {
        SB_LOG_WARN("control", "%s: sb.control: %s\n", who_.c_str(),
                    rec.status().ToString().c_str());
      }
      return n;
    }
    if (!rec->has_value()) return n;
    next_offset_ = (*rec)->offset + 1;
    ++n;
    Status st = state_.Apply(**rec);
    if (!st.ok()) SB_LOG_INFO("control", "%s: %s\n", who_.c_str(), st.ToString().c_str());
  }
}

Status ControlFollower::CatchUp(int timeout_ms) {
  auto marks = reader_->Watermarks(kafka::kControlTopic, kControlPartition, timeout_ms);
  if (!marks.ok()) return marks.status();
  const int64_t deadline = MonotonicMs() + timeout_ms;
  while (next_offset_ < marks->second) {
    if (MonotonicMs() > deadline) {
      return Unavailable("sb.control: could not read up to offset " +
                         std::to_string(marks->second) + " within " + std::to_string(timeout_ms) +
                         " ms");
    }
    Poll(50);
  }
  return Status::Ok();
}

std::shared_ptr<const pb::RoutingConfig> ControlFollower::Find(const std::string& version,
                                                               int wait_ms) {
  const int64_t deadline = MonotonicMs() + wait_ms;
  for (;;) {
    if (auto c = state_.Find(version)) return c;
    if (MonotonicMs() >= deadline) return nullptr;
    Poll(20);
  }
}

pb::RoutingConfig ControlFollower::ChooseStartConfig(pb::RoutingConfig file_config) {
  const std::string file_version = ConfigVersionOf(file_config);
  state_.Add(file_config);
  const auto& current = state_.current();
  if (!current) {
    SB_LOG_INFO("control",
                "%s: routing config version %s from --config (sb.control has no applied "
                "config)\n",
                who_.c_str(), file_version.c_str());
    return file_config;
  }
  if (current->version() == file_version) {
    SB_LOG_INFO("control", "%s: routing config version %s (--config, the version in force)\n",
                who_.c_str(), file_version.c_str());
    return file_config;
  }
  auto applied = state_.Find(current->version());
  if (applied == nullptr) {
    SB_LOG_WARN("control",
                "%s: WARNING: sb.control names config version %s but holds no such config; "
                "using --config (version %s)\n",
                who_.c_str(), current->version().c_str(), file_version.c_str());
    return file_config;
  }
  SB_LOG_INFO("control",
              "%s: routing config version %s from sb.control (applied at %lld ms by %s) instead "
              "of --config (version %s): the cluster's config was changed through "
              "AdminService.ApplyConfig\n",
              who_.c_str(), current->version().c_str(),
              static_cast<long long>(current->applied_at_ms()),
              config::Printable(current->applied_by()).c_str(), file_version.c_str());
  return *applied;
}

}  // namespace sb::control
