// Fuzz target: sb.control records as a router or gateway reads them (ControlState; any producer
// can write to the topic). The input is a sequence of records separated by 0x1e; each starts with
// one byte choosing how the rest becomes a record:
//   0 raw: key, NUL, value (no NUL: a tombstone);
//   1 a config version: the rest is a RoutingConfig, written under its own version as AdminService
//     does (so valid versions are reachable), or given to Add() like a node's --config file;
//   2 config/current: the rest is the version named (empty: a tombstone);
//   3 drain/<node>: node id, NUL, requested_by (no NUL: a tombstone).
// Malformed records are fine; crashes, unreadable error messages, a config held under a version
// that is not its own, a held version forgotten, and a current pointer or drain request other than
// the last one accepted are not. (The current pointer may name a version not held: compaction can
// remove it, and ControlFollower::ChooseStartConfig falls back to the file's config then.)
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.h"
#include "router/control/control.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

constexpr char kTarget[] = "control_fuzz";
// CheckCompatible runs over every pair of valid configs held: bounded so an input stays fast.
constexpr size_t kMaxPairedConfigs = 8;

namespace pb = ::switchboard::v1;
namespace control = ::sb::control;
using google::protobuf::util::MessageDifferencer;

enum Kind : uint8_t { kRaw, kConfig, kCurrent, kDrain };

// What the log says so far, kept independently of ControlState.
struct Model {
  std::set<std::string> versions;
  std::optional<pb::ConfigCurrent> current;
  std::map<std::string, pb::NodeDrain> drains;
};

sb::kafka::Record ToRecord(std::string_view rec, int64_t offset, Model* model,
                           control::ControlState* state, bool* applied) {
  sb::kafka::Record r;
  r.topic = "sb.control";
  r.offset = offset;
  *applied = true;
  const auto kind = static_cast<Kind>(static_cast<uint8_t>(rec[0]) % 4);
  const bool add_locally = static_cast<uint8_t>(rec[0]) & 4;
  rec.remove_prefix(1);
  const size_t nul = rec.find('\0');
  switch (kind) {
    case kRaw:
      r.key = std::string(rec.substr(0, nul));
      if (nul != std::string_view::npos) r.value = std::string(rec.substr(nul + 1));
      break;
    case kConfig: {
      pb::ConfigVersion v;
      if (!v.mutable_config()->ParseFromArray(rec.data(), static_cast<int>(rec.size()))) {
        *applied = false;
        return r;
      }
      v.set_version(control::ConfigVersionOf(v.config()));
      if (add_locally) {
        state->Add(v.config());
        model->versions.insert(v.version());
        *applied = false;
        return r;
      }
      r.key = control::ConfigKey(v.version());
      r.value = v.SerializeAsString();
      break;
    }
    case kCurrent:
      r.key = control::kCurrentConfigKey;
      if (!rec.empty()) {
        pb::ConfigCurrent c;
        c.set_version(std::string(rec));
        c.set_applied_by("control_fuzz");
        r.value = c.SerializeAsString();
      }
      break;
    case kDrain:
      r.key = control::DrainKey(rec.substr(0, nul));
      if (nul != std::string_view::npos) {
        pb::NodeDrain d;
        d.set_node_id(std::string(rec.substr(0, nul)));
        d.set_requested_by(std::string(rec.substr(nul + 1)));
        r.value = d.SerializeAsString();
      }
      break;
  }
  return r;
}

// What an accepted record changes, derived from the record alone.
void Expect(const sb::kafka::Record& r, Model* model) {
  if (r.key == control::kCurrentConfigKey) {
    model->current.reset();
    if (r.value) model->current.emplace().ParseFromString(*r.value);
  } else if (r.key.starts_with("config/")) {
    if (r.value) model->versions.insert(r.key.substr(7));
  } else if (r.key.starts_with("drain/")) {
    const std::string node = r.key.substr(6);
    if (r.value) {
      model->drains[node].ParseFromString(*r.value);
    } else {
      model->drains.erase(node);
    }
  }
}

void CheckAgainst(const control::ControlState& state, const Model& model, uint64_t records) {
  if (state.records() != records) sb::fuzz::Die(kTarget, "records miscounted", "");
  for (const std::string& v : model.versions) {
    auto config = state.Find(v);
    if (config == nullptr) sb::fuzz::Die(kTarget, "a held version was forgotten", v);
    if (control::ConfigVersionOf(*config) != v) {
      sb::fuzz::Die(kTarget, "a config held under a version not its own", v);
    }
  }
  if (state.current().has_value() != model.current.has_value() ||
      (model.current && !MessageDifferencer::Equals(*state.current(), *model.current))) {
    sb::fuzz::Die(kTarget, "current pointer is not the last accepted one", "");
  }
  if (state.current() && state.current()->version().empty()) {
    sb::fuzz::Die(kTarget, "current pointer without a version", "");
  }
  if (state.drains().size() != model.drains.size()) {
    sb::fuzz::Die(kTarget, "drain requests miscounted", "");
  }
  for (const auto& [node, drain] : state.drains()) {
    auto it = model.drains.find(node);
    if (it == model.drains.end() || drain.node_id() != node ||
        !MessageDifferencer::Equals(drain, it->second)) {
      sb::fuzz::Die(kTarget, "drain request is not the last accepted one", node);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Invalid UTF-8 in a string field fails the parse, and protobuf logs it: quiet.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  if (size > sb::fuzz::kMaxInputBytes) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  control::ControlState state;
  Model model;
  uint64_t records = 0;
  int64_t offset = 0;
  for (const std::string_view rec : sb::fuzz::Records(input)) {
    bool applied = false;
    const sb::kafka::Record r = ToRecord(rec, offset++, &model, &state, &applied);
    if (applied) {
      ++records;
      sb::Status st = state.Apply(r);
      if (st.ok()) {
        Expect(r, &model);
      } else {
        sb::fuzz::CheckErrorMessage(kTarget, st.message());
      }
    }
    CheckAgainst(state, model, records);
  }
  // The compatibility check over the valid configs the log holds, as AdminService.ApplyConfig
  // makes it (both configs validated): a config may always replace itself.
  std::vector<std::shared_ptr<const pb::RoutingConfig>> valid;
  for (const std::string& v : model.versions) {
    auto config = state.Find(v);
    if (valid.size() < kMaxPairedConfigs && sb::config::Validate(*config).ok()) {
      valid.push_back(std::move(config));
    }
  }
  for (const auto& running : valid) {
    if (!control::CheckCompatible(*running, *running).ok()) {
      sb::fuzz::Die(kTarget, "a config may not replace itself", running->ShortDebugString());
    }
    for (const auto& next : valid) {
      sb::Status st = control::CheckCompatible(*running, *next);
      if (!st.ok()) sb::fuzz::CheckErrorMessage(kTarget, st.message());
    }
  }
  return 0;
}
