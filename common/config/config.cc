#include "common/config/config.h"

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace sb::config {
namespace {

namespace pb = ::switchboard::v1;

constexpr size_t kMaxConfigBytes = 4 << 20;
constexpr int kMaxDepth = 32;
constexpr double kMaxDurationS = 30 * 24 * 3600;

// Keys whose values are enums, and the prefix their full value names carry.
const char* EnumPrefix(const std::string& key) {
  if (key == "strategy") return "STRATEGY_";
  if (key == "channel" || key == "while_on" || key == "blocks") return "CHANNEL_";
  return nullptr;
}

std::string JsonEscape(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (ch < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", ch);
          out += buf;
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out + "\"";
}

// A JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
bool LooksNumeric(const std::string& s) {
  size_t i = 0;
  const size_t n = s.size();
  auto digits = [&] {
    const size_t start = i;
    while (i < n && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i > start;
  };
  if (n == 0 || n > 64) return false;
  if (s[i] == '-') ++i;
  if (i < n && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

bool ValidNameChars(const std::string& name) {
  for (unsigned char ch : name) {
    if (!std::isalnum(ch) && ch != '_' && ch != '.' && ch != ':' && ch != '-') return false;
  }
  return true;
}

std::string EnumValue(const std::string& value, const char* prefix) {
  std::string upper;
  for (unsigned char ch : value) upper += static_cast<char>(std::toupper(ch));
  if (upper.rfind(prefix, 0) == 0) return upper;
  return prefix + upper;
}

// Converts a YAML tree to JSON text for protobuf's JSON parser. `enum_prefix` is set while inside
// a value whose scalars are enum names. Returns false with `error` set on unsupported input.
bool ToJson(const YAML::Node& node, const char* enum_prefix, int depth, std::string* out,
            std::string* error) {
  if (depth > kMaxDepth) {
    *error = "nested deeper than " + std::to_string(kMaxDepth) + " levels";
    return false;
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      *out += "null";
      return true;
    case YAML::NodeType::Scalar: {
      const std::string& v = node.Scalar();
      const bool quoted = node.Tag() == "!";
      if (enum_prefix != nullptr) {
        *out += JsonEscape(EnumValue(v, enum_prefix));
      } else if (!quoted && (v == "true" || v == "false" || LooksNumeric(v))) {
        *out += v;
      } else if (!quoted && (v == "null" || v == "~")) {
        *out += "null";
      } else {
        *out += JsonEscape(v);
      }
      return true;
    }
    case YAML::NodeType::Sequence: {
      *out += '[';
      bool first = true;
      for (const auto& item : node) {
        if (!first) *out += ',';
        first = false;
        if (!ToJson(item, enum_prefix, depth + 1, out, error)) return false;
      }
      *out += ']';
      return true;
    }
    case YAML::NodeType::Map: {
      *out += '{';
      bool first = true;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          *error =
              "line " + std::to_string(kv.first.Mark().line + 1) + ": keys must be plain names";
          return false;
        }
        if (!first) *out += ',';
        first = false;
        const std::string key = kv.first.Scalar();
        *out += JsonEscape(key) + ':';
        if (!ToJson(kv.second, EnumPrefix(key), depth + 1, out, error)) return false;
      }
      *out += '}';
      return true;
    }
  }
  return true;
}

class Checker {
 public:
  explicit Checker(const pb::RoutingConfig& c) : c_(c) {}

  Status Run() {
    SB_RETURN_IF_ERROR(Names("skills", c_.skills(), &skills_));
    SB_RETURN_IF_ERROR(Names("domains", c_.domains(), &domains_));
    SB_RETURN_IF_ERROR(Names("queues", c_.queues(), &queues_));
    if (c_.domains_size() == 0) return InvalidArgument("domains: at least one domain is required");
    if (c_.queues_size() == 0) return InvalidArgument("queues: at least one queue is required");
    for (int i = 0; i < c_.queues_size(); ++i) SB_RETURN_IF_ERROR(Queue(i));
    SB_RETURN_IF_ERROR(Capacity());
    for (int i = 0; i < c_.cross_channel_rules_size(); ++i) {
      const auto& r = c_.cross_channel_rules(i);
      const std::string f = "cross_channel_rules[" + std::to_string(i) + "]";
      if (r.while_on() == pb::CHANNEL_UNSPECIFIED)
        return InvalidArgument(f + ".while_on: required");
      if (r.blocks_size() == 0) return InvalidArgument(f + ".blocks: at least one channel");
      for (int j = 0; j < r.blocks_size(); ++j) {
        if (r.blocks(j) == pb::CHANNEL_UNSPECIFIED) {
          return InvalidArgument(f + ".blocks[" + std::to_string(j) + "]: channel required");
        }
      }
    }
    if (c_.difficult_cap() > 1000) {
      return InvalidArgument("difficult_cap: must be at most 1000 (got " +
                             std::to_string(c_.difficult_cap()) + ")");
    }
    return Duration("short_abandon_s", c_.short_abandon_s());
  }

 private:
  template <typename List>
  static Status Names(const std::string& list, const List& items, std::set<std::string>* seen) {
    for (int i = 0; i < items.size(); ++i) {
      const std::string f = list + "[" + std::to_string(i) + "].name";
      const std::string& name = items.Get(i).name();
      if (name.empty()) return InvalidArgument(f + ": required");
      if (name.size() > 128) return InvalidArgument(f + ": longer than 128 characters");
      if (!ValidNameChars(name)) {
        return InvalidArgument(f + ": \"" + name + "\" may use only letters, digits and _ . : -");
      }
      if (!seen->insert(name).second)
        return InvalidArgument(f + ": duplicate name \"" + name + "\"");
    }
    return Status::Ok();
  }

  static Status Duration(const std::string& f, double v) {
    if (!std::isfinite(v)) return InvalidArgument(f + ": must be a finite number of seconds");
    if (v < 0) {
      std::ostringstream got;
      got << v;
      return InvalidArgument(f + ": must not be negative (got " + got.str() + ")");
    }
    if (v > kMaxDurationS) return InvalidArgument(f + ": must be at most 30 days");
    return Status::Ok();
  }

  Status Skill(const std::string& f, const std::string& name) const {
    if (name.empty()) return InvalidArgument(f + ": required");
    if (!skills_.count(name)) return InvalidArgument(f + ": unknown skill \"" + name + "\"");
    return Status::Ok();
  }

  Status Queue(int i) {
    const pb::QueueDef& q = c_.queues(i);
    const std::string f = "queues[" + std::to_string(i) + "]";
    if (!domains_.count(q.domain())) {
      return InvalidArgument(
          f + ".domain: " +
          (q.domain().empty() ? std::string("required") : "unknown domain \"" + q.domain() + "\""));
    }
    if (q.strategy() == pb::STRATEGY_UNSPECIFIED) {
      return InvalidArgument(f +
                             ".strategy: missing (one of LONGEST_IDLE, LEAST_OCCUPIED, BEST_SKILL, "
                             "PREFERRED_AGENT)");
    }
    std::set<std::string> required;
    for (int j = 0; j < q.required_skills_size(); ++j) {
      const auto& r = q.required_skills(j);
      const std::string rf = f + ".required_skills[" + std::to_string(j) + "]";
      SB_RETURN_IF_ERROR(Skill(rf + ".skill", r.skill()));
      if (r.min_proficiency() < 1 || r.min_proficiency() > 5) {
        return InvalidArgument(rf + ".min_proficiency: must be 1..5 (got " +
                               std::to_string(r.min_proficiency()) + ")");
      }
      if (!required.insert(r.skill()).second) {
        return InvalidArgument(rf + ".skill: \"" + r.skill() + "\" listed twice");
      }
    }
    const std::pair<const char*, double> durations[] = {
        {"service_level_threshold_s", q.service_level_threshold_s()},
        {"priority_aging_s", q.priority_aging_s()},
        {"offer_timeout_s", q.offer_timeout_s()},
        {"acw_limit_s", q.acw_limit_s()},
        {"preferred_wait_s", q.preferred_wait_s()},
        {"max_wait_s", q.max_wait_s()}};
    for (const auto& [name, v] : durations) SB_RETURN_IF_ERROR(Duration(f + "." + name, v));
    if (q.offer_timeout_s() == 0) {
      return InvalidArgument(f + ".offer_timeout_s: must be > 0: an offer must time out");
    }
    if (q.service_level_target() < 0 || q.service_level_target() > 1) {
      return InvalidArgument(f + ".service_level_target: must be between 0 and 1");
    }
    if (q.strategy() == pb::STRATEGY_PREFERRED_AGENT && q.preferred_wait_s() <= 0) {
      return InvalidArgument(f + ".preferred_wait_s: must be > 0 for strategy PREFERRED_AGENT");
    }
    double previous = 0;
    for (int j = 0; j < q.bullseye_size(); ++j) {
      const auto& s = q.bullseye(j);
      const std::string sf = f + ".bullseye[" + std::to_string(j) + "]";
      SB_RETURN_IF_ERROR(Duration(sf + ".after_s", s.after_s()));
      if (s.after_s() <= previous) {
        return InvalidArgument(sf + ".after_s: must be greater than the previous step's (and > 0)");
      }
      previous = s.after_s();
      if (s.relax_proficiency() == 0 && s.drop_skills_size() == 0 && s.overflow_queue().empty()) {
        return InvalidArgument(sf +
                               ": changes nothing (set relax_proficiency, drop_skills or "
                               "overflow_queue)");
      }
      if (s.relax_proficiency() > 4)
        return InvalidArgument(sf + ".relax_proficiency: must be 0..4");
      for (int k = 0; k < s.drop_skills_size(); ++k) {
        const std::string df = sf + ".drop_skills[" + std::to_string(k) + "]";
        SB_RETURN_IF_ERROR(Skill(df, s.drop_skills(k)));
        if (!required.count(s.drop_skills(k))) {
          return InvalidArgument(df + ": \"" + s.drop_skills(k) +
                                 "\" is not required by this queue");
        }
      }
      if (!s.overflow_queue().empty()) {
        if (!queues_.count(s.overflow_queue())) {
          return InvalidArgument(sf + ".overflow_queue: unknown queue \"" + s.overflow_queue() +
                                 "\"");
        }
        if (s.overflow_queue() == q.name()) {
          return InvalidArgument(sf + ".overflow_queue: a queue cannot overflow into itself");
        }
      }
    }
    return Status::Ok();
  }

  Status Capacity() const {
    const auto& cap = c_.capacity();
    if (cap.agent_units() < 1 || cap.agent_units() > 10000) {
      return InvalidArgument("capacity.agent_units: must be 1..10000 (got " +
                             std::to_string(cap.agent_units()) + ")");
    }
    std::set<int> seen;
    for (int i = 0; i < cap.costs_size(); ++i) {
      const auto& cost = cap.costs(i);
      const std::string f = "capacity.costs[" + std::to_string(i) + "]";
      if (cost.channel() == pb::CHANNEL_UNSPECIFIED)
        return InvalidArgument(f + ".channel: required");
      if (!seen.insert(cost.channel()).second) {
        return InvalidArgument(f + ".channel: " + pb::Channel_Name(cost.channel()) +
                               " listed twice");
      }
      if (cost.units() < 1 || cost.units() > cap.agent_units()) {
        return InvalidArgument(f + ".units: must be 1..capacity.agent_units (got " +
                               std::to_string(cost.units()) + ")");
      }
    }
    return Status::Ok();
  }

  const pb::RoutingConfig& c_;
  std::set<std::string> skills_, domains_, queues_;
};

}  // namespace

void ApplyDefaults(RoutingConfig* config) {
  auto* cap = config->mutable_capacity();
  if (cap->agent_units() == 0) cap->set_agent_units(100);
  const std::pair<pb::Channel, uint32_t> defaults[] = {{pb::CHANNEL_VOICE, 100},
                                                       {pb::CHANNEL_CALLBACK, 100},
                                                       {pb::CHANNEL_CHAT, 34},
                                                       {pb::CHANNEL_EMAIL, 20},
                                                       {pb::CHANNEL_TASK, 25}};
  for (const auto& [channel, units] : defaults) {
    bool listed = false;
    for (const auto& c : cap->costs()) listed |= c.channel() == channel;
    if (listed) continue;
    auto* c = cap->add_costs();
    c->set_channel(channel);
    c->set_units(std::min(units, cap->agent_units()));
  }
  for (auto& q : *config->mutable_queues()) {
    if (q.service_level_threshold_s() == 0) q.set_service_level_threshold_s(20);
    if (q.service_level_target() == 0) q.set_service_level_target(0.8);
  }
}

Status Validate(const RoutingConfig& config) { return Checker(config).Run(); }

Result<RoutingConfig> ParseRoutingConfig(std::string_view text) {
  if (text.size() > kMaxConfigBytes) return InvalidArgument("config: larger than 4 MiB");
  std::string json;
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) return InvalidArgument("config: the top level must be a mapping of fields");
    std::string error;
    if (!ToJson(root, nullptr, 0, &json, &error)) return InvalidArgument("config: " + error);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("config: line " + std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  RoutingConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &config, options);
  if (!status.ok()) return InvalidArgument("config: " + std::string(status.message()));
  ApplyDefaults(&config);
  SB_RETURN_IF_ERROR(Validate(config));
  return config;
}

Result<RoutingConfig> LoadRoutingConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open routing config");
  std::ostringstream buf;
  buf << in.rdbuf();
  auto config = ParseRoutingConfig(buf.str());
  if (!config.ok()) return Status(config.status().code(), path + ": " + config.status().message());
  return config;
}

}  // namespace sb::config
