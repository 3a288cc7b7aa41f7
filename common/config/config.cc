#include "common/config/config.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "common/config/text.h"

namespace sb::config {
namespace {

namespace pb = ::switchboard::v1;

// A routing config is a few hundred lines; the caps only keep hostile input from costing much.
constexpr size_t kMaxConfigBytes = 4 << 20;
// Aliases make the YAML tree a DAG that expands exponentially when written out ("billion
// laughs"). Capping the JSON we write at a multiple of the input bounds what any input can cost;
// without aliases the JSON stays under about 5x the YAML (`{a,b}` → `{"a":null,"b":null}`).
constexpr size_t kJsonExpansion = 8;
constexpr size_t kMinJsonBudget = 64 << 10;
// No field of RoutingConfig nests deeper than 5 levels; deeper input is junk, and stopping early
// keeps our recursion (and protobuf's) shallow.
constexpr int kMaxDepth = 32;

// A JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?  Written by hand: std::regex
// recurses per character and overflows the stack on long input.
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

// The first `max` bytes of `s`, backed off so no UTF-8 sequence is split, and "..." if cut.

// The zero value of enums like Strategy means "not set"; of others (Priority: NORMAL) it is a
// real value.
bool Unspecified(const google::protobuf::EnumValueDescriptor& v) {
  const std::string& name = v.name();
  constexpr std::string_view kSuffix = "_UNSPECIFIED";
  return v.number() == 0 && name.size() >= kSuffix.size() &&
         name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

// "Strategy" → "STRATEGY_": the prefix protobuf style puts on every value of an enum type.
std::string EnumPrefix(const google::protobuf::EnumDescriptor& e) {
  std::string prefix;
  for (size_t i = 0; i < e.name().size(); ++i) {
    const unsigned char ch = e.name()[i];
    if (i > 0 && std::isupper(ch)) prefix += '_';
    prefix += static_cast<char>(std::toupper(ch));
  }
  return prefix + "_";
}

// Writes a YAML tree as JSON for protobuf's JSON parser, guided by the message schema: enum
// values may be written short ("chat") and in any case, string fields stay strings even when they
// look like numbers (a queue named 112), and numbers stay numbers. Keys the schema does not know
// are written as they are, for protobuf to reject naming them.
class JsonWriter {
 public:
  JsonWriter(std::string* out, size_t budget) : out_(out), budget_(budget) {}

  // `field` is the field `node` is the value of (null at the top or where the schema has no
  // field); `in_list` is set for the elements of a repeated field. Returns false with error() set
  // on input no RoutingConfig can come from.
  bool Write(const YAML::Node& node, const google::protobuf::Descriptor* message,
             const google::protobuf::FieldDescriptor* field, bool in_list, const std::string& path,
             int depth) {
    if (depth > kMaxDepth) {
      return Fail(path, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    if (out_->size() > budget_) {
      return Fail(path, "expands to more than " + std::to_string(budget_) +
                            " bytes of JSON (aliases used too often?)");
    }
    // Below a repeated field the schema applies to each element, not to the list.
    const bool repeated = field != nullptr && field->is_repeated() && !in_list;
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        *out_ += "null";
        return true;
      case YAML::NodeType::Scalar:
        return WriteScalar(node, repeated ? nullptr : field, path);
      case YAML::NodeType::Sequence: {
        *out_ += '[';
        int index = 0;
        for (const auto& item : node) {
          if (index > 0) *out_ += ',';
          if (!Write(item, nullptr, repeated ? field : nullptr, true, Field(path, index),
                     depth + 1)) {
            return false;
          }
          ++index;
        }
        *out_ += ']';
        return true;
      }
      case YAML::NodeType::Map: {
        const google::protobuf::Descriptor* type = message;
        if (field != nullptr) {
          type = !repeated && field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE
                     ? field->message_type()
                     : nullptr;
        }
        *out_ += '{';
        bool first = true;
        for (const auto& kv : node) {
          if (!kv.first.IsScalar()) {
            return Fail(path, "line " + std::to_string(kv.first.Mark().line + 1) +
                                  ": keys must be plain field names");
          }
          if (!first) *out_ += ',';
          first = false;
          const std::string& key = kv.first.Scalar();
          AppendJsonString(key, out_);
          *out_ += ':';
          const google::protobuf::FieldDescriptor* child = type ? FindField(*type, key) : nullptr;
          if (!Write(kv.second, nullptr, child, false, path.empty() ? key : path + "." + key,
                     depth + 1)) {
            return false;
          }
        }
        *out_ += '}';
        return true;
      }
    }
    return Fail(path, "unsupported YAML node");
  }

  const std::string& error() const { return error_; }

 private:
  // By the name in config.proto, or by the lowerCamelCase name the protobuf JSON mapping allows.
  static const google::protobuf::FieldDescriptor* FindField(const google::protobuf::Descriptor& m,
                                                            const std::string& key) {
    if (const auto* f = m.FindFieldByName(key)) return f;
    for (int i = 0; i < m.field_count(); ++i) {
      if (m.field(i)->json_name() == key) return m.field(i);
    }
    return nullptr;
  }

  bool WriteScalar(const YAML::Node& node, const google::protobuf::FieldDescriptor* field,
                   const std::string& path) {
    using FD = google::protobuf::FieldDescriptor;
    const std::string& v = node.Scalar();
    // yaml-cpp tags plain (unquoted, untagged) scalars "?"; a quoted "10" is the string "10".
    const bool plain = node.Tag() == "?";
    const FD::CppType type = field ? field->cpp_type() : FD::CPPTYPE_MESSAGE;
    if (type == FD::CPPTYPE_ENUM) return WriteEnum(v, *field->enum_type(), path);
    if (type != FD::CPPTYPE_STRING && plain && (v == "true" || v == "false" || LooksNumeric(v))) {
      *out_ += v;
    } else {
      // A string; or a number protobuf takes in quotes too ("NaN", "1e3"), naming the field if
      // it cannot.
      AppendJsonString(v, out_);
    }
    return true;
  }

  // Short names ("chat", "Longest_Idle") become full ones; full names pass through upper-cased.
  bool WriteEnum(const std::string& v, const google::protobuf::EnumDescriptor& e,
                 const std::string& path) {
    const std::string prefix = EnumPrefix(e);
    std::string full;
    full.reserve(prefix.size() + v.size());
    for (unsigned char ch : v) full += static_cast<char>(std::toupper(ch));
    if (full.rfind(prefix, 0) != 0) full = prefix + full;
    const google::protobuf::EnumValueDescriptor* value = e.FindValueByName(full);
    if (value == nullptr || Unspecified(*value)) {
      // "Unspecified" is never a meaningful choice; say what is.
      std::string choices;
      for (int i = 0; i < e.value_count(); ++i) {
        if (Unspecified(*e.value(i))) continue;
        if (!choices.empty()) choices += ", ";
        const std::string& name = e.value(i)->name();
        choices += name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
      }
      return Fail(path, "unknown value " + Quote(v) + " (one of " + choices + ")");
    }
    AppendJsonString(full, out_);
    return true;
  }

  bool Fail(const std::string& path, const std::string& error) {
    error_ = path.empty() ? error : path + ": " + error;
    return false;
  }

  std::string* out_;
  size_t budget_;
  std::string error_;
};

// Protobuf reports "(queues[0]) foo: Cannot find field." or "(difficult_cap): invalid value ...",
// followed by a snippet of the JSON we generated, which the user never wrote. Keep the first line
// and turn the parenthesized path into the field-path form every other error uses.
std::string JsonErrorMessage(std::string_view raw) {
  std::string m(raw.substr(0, raw.find('\n')));
  constexpr std::string_view kCannotFind = ": Cannot find field.";
  if (m.size() > kCannotFind.size() &&
      m.compare(m.size() - kCannotFind.size(), kCannotFind.size(), kCannotFind) == 0) {
    m.resize(m.size() - kCannotFind.size());
    m += ": unknown field";
  }
  if (!m.empty() && m[0] == '(') {
    const size_t close = m.find(')');
    if (close != std::string::npos && close + 1 < m.size()) {
      const std::string path = m.substr(1, close - 1);
      if (m[close + 1] == ':') return path + m.substr(close + 1);
      if (m[close + 1] == ' ') return path + "." + m.substr(close + 2);
    }
  }
  return m;
}

std::string YamlErrorMessage(const YAML::Exception& e, const std::string& what) {
  std::string where;
  if (!e.mark.is_null()) {
    where = "line " + std::to_string(e.mark.line + 1) + ", column " +
            std::to_string(e.mark.column + 1) + ": ";
  }
  return "config: " + where + what;
}

// Converts YAML (or JSON, which is YAML) text into the JSON protobuf parses. yaml-cpp reports
// errors by throwing; this is where they become Status.
Status YamlToJson(std::string_view text, const google::protobuf::Descriptor* schema,
                  std::string* json) {
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) return InvalidArgument("config: the top level must be a mapping of fields");
    JsonWriter writer(json, std::max(kMinJsonBudget, kJsonExpansion * text.size()));
    if (!writer.Write(root, schema, nullptr, false, "", 0)) {
      return InvalidArgument("config: " + writer.error());
    }
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp 0.7 gives this one the message "bad file".
    return InvalidArgument(
        YamlErrorMessage(e, "nested deeper than " + std::to_string(e.depth()) + " levels"));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(YamlErrorMessage(e, e.msg));
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("config: cannot parse: ") + e.what());
  }
  return Status::Ok();
}

// Reads at most `limit` + 1 bytes so a huge (or endless, like /dev/zero) file costs little.
Status ReadBounded(const std::string& path, size_t limit, std::string* out) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    return NotFound(path + ": file not found");
  }
  if (std::filesystem::is_directory(status)) {
    return InvalidArgument(path + ": is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(path + ": cannot open file");
  out->resize(limit + 1);
  in.read(out->data(), static_cast<std::streamsize>(out->size()));
  if (in.bad()) return InvalidArgument(path + ": cannot read file");
  out->resize(static_cast<size_t>(in.gcount()));
  return Status::Ok();
}

}  // namespace

// Shared with validate.cc (declared in text.h).
std::string Field(const std::string& list, int index) {
  return list + "[" + std::to_string(index) + "]";
}

// A value from the input, quoted for an error message: control characters escaped so a message
// stays one printable line, and cut short so a huge value does not make a huge message.
Result<int> ParseTimeOfDay(std::string_view text, bool allow_end_of_day) {
  auto digit = [&](size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  const std::string expected = allow_end_of_day ? "HH:MM, 00:00..24:00" : "HH:MM";
  if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
    return InvalidArgument(Quote(text) + " is not a time of day " + expected);
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  const bool end_of_day = allow_end_of_day && h == 24 && m == 0;
  if ((h > 23 || m > 59) && !end_of_day) {
    return InvalidArgument(Quote(text) + " is not a time of day " + expected);
  }
  return h * 60 + m;
}

// Every error leaves this module through here: messages can carry input keys (which may hold any
// byte) and end up on terminals and in logs, so control characters are escaped and length capped.
std::string Printable(std::string_view message) {
  constexpr size_t kMaxBytes = 512;
  std::string out;
  for (unsigned char ch : message) {
    // Cut only where a character starts, so no UTF-8 sequence is split.
    if (out.size() >= kMaxBytes && (ch & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    if (ch < 0x20 || ch == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

bool ValidNameChars(const std::string& name) {
  return std::all_of(name.begin(), name.end(), [](unsigned char ch) {
    return std::isalnum(ch) || ch == '_' || ch == '.' || ch == ':' || ch == '-';
  });
}

std::string FormatNumber(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void ApplyDefaults(RoutingConfig* config) {
  pb::CapacityModel* cap = config->mutable_capacity();
  if (cap->agent_units() == 0) cap->set_agent_units(100);
  const std::pair<pb::Channel, uint32_t> defaults[] = {{pb::CHANNEL_VOICE, 100},
                                                       {pb::CHANNEL_CALLBACK, 100},
                                                       {pb::CHANNEL_CHAT, 33},
                                                       {pb::CHANNEL_EMAIL, 20},
                                                       {pb::CHANNEL_TASK, 25}};
  for (const auto& [channel, units] : defaults) {
    bool listed = false;
    for (const pb::ChannelCost& c : cap->costs()) listed |= c.channel() == channel;
    if (listed) continue;
    pb::ChannelCost* cost = cap->add_costs();
    cost->set_channel(channel);
    // With agent_units below a default, the default would fail validation although the user never
    // wrote it; the channel becomes exclusive instead.
    cost->set_units(std::min(units, cap->agent_units()));
  }
  for (pb::QueueDef& q : *config->mutable_queues()) {
    if (q.service_level_threshold_s() == 0) q.set_service_level_threshold_s(20);
    if (q.service_level_target() == 0) q.set_service_level_target(0.8);
  }
}

Status ParseMessage(std::string_view text, google::protobuf::Message* out) {
  if (text.size() > kMaxConfigBytes) {
    return InvalidArgument("config: larger than " + std::to_string(kMaxConfigBytes >> 20) + " MiB");
  }
  std::string json;
  if (Status status = YamlToJson(text, out->GetDescriptor(), &json); !status.ok()) {
    return InvalidArgument(Printable(status.message()));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelt field must not silently fall back to 0
  const auto status = google::protobuf::util::JsonStringToMessage(json, out, options);
  if (!status.ok()) {
    return InvalidArgument("config: " + Printable(JsonErrorMessage(std::string_view(
                                            status.message().data(), status.message().size()))));
  }
  return Status::Ok();
}

Status ReadConfigFile(const std::string& path, std::string* text) {
  return ReadBounded(path, kMaxConfigBytes, text);
}

Result<RoutingConfig> ParseRoutingConfig(std::string_view text) {
  RoutingConfig config;
  SB_RETURN_IF_ERROR(ParseMessage(text, &config));
  ApplyDefaults(&config);
  SB_RETURN_IF_ERROR(Validate(config));
  return config;
}

Result<RoutingConfig> LoadRoutingConfigFile(const std::string& path) {
  std::string text;
  SB_RETURN_IF_ERROR(ReadConfigFile(path, &text));
  Result<RoutingConfig> config = ParseRoutingConfig(text);
  if (!config.ok()) return Status(config.status().code(), path + ": " + config.status().message());
  return config;
}

}  // namespace sb::config
