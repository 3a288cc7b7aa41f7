#include "router/gateway/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/config/config.h"
#include "common/config/text.h"

namespace sb::gateway {
namespace pb = ::switchboard::v1;

namespace {

constexpr std::string_view kBearer = "Bearer ";
constexpr size_t kMaxTokenChars = 512;
constexpr size_t kMaxAgentIdChars = 128;

std::string ToHex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

std::array<unsigned char, 32> Sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<Role> ParseRole(const std::string& name) {
  if (name == "agent") return Role::kAgent;
  if (name == "supervisor") return Role::kSupervisor;
  if (name == "integrator") return Role::kIntegrator;
  if (name == "admin") return Role::kAdmin;
  return InvalidArgument("unknown role " + config::Quote(name) +
                         " (one of agent, supervisor, integrator, admin)");
}

// Bit per role.
constexpr unsigned Bit(Role r) { return 1u << static_cast<unsigned>(r); }
constexpr unsigned kAgentB = Bit(Role::kAgent), kSupB = Bit(Role::kSupervisor),
                   kIntB = Bit(Role::kIntegrator), kAdmB = Bit(Role::kAdmin);

struct MethodRoles {
  std::string_view method;
  unsigned roles;
};

// The role table. Supervisors see and steer operations; only admins change the cluster.
constexpr MethodRoles kMethodRoles[] = {
    {"/switchboard.v1.ContactService/Submit", kIntB | kSupB | kAdmB},
    {"/switchboard.v1.ContactService/Get", kIntB | kSupB | kAdmB},
    {"/switchboard.v1.ContactService/Cancel", kIntB | kSupB | kAdmB},
    {"/switchboard.v1.ContactService/Watch", kIntB | kSupB | kAdmB},
    {"/switchboard.v1.ContactService/Transfer", kAgentB | kIntB | kSupB | kAdmB},
    {"/switchboard.v1.AgentService/Session", kAgentB | kSupB | kAdmB},
    {"/switchboard.v1.FollowUpService/Create", kAgentB | kIntB | kSupB | kAdmB},
    {"/switchboard.v1.FollowUpService/List", kAgentB | kIntB | kSupB | kAdmB},
    {"/switchboard.v1.FollowUpService/Cancel", kAgentB | kIntB | kSupB | kAdmB},
    {"/switchboard.v1.FollowUpService/RecordOutcome", kAgentB | kIntB | kSupB | kAdmB},
    {"/switchboard.v1.AdminService/GetConfig", kSupB | kAdmB},
    {"/switchboard.v1.AdminService/ApplyConfig", kAdmB},
    {"/switchboard.v1.AdminService/QueueStats", kSupB | kAdmB},
    {"/switchboard.v1.AdminService/ListAgents", kSupB | kAdmB},
    {"/switchboard.v1.AdminService/Drain", kAdmB},
    {"/switchboard.v1.AdminService/Report", kSupB | kAdmB},
};

// Ids and names go into logs and messages: no line breaks or terminal escapes.
bool NoControlCharacters(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Status WritePrivateFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  // A new file, never one left (or planted: a symlink, a file others may read) at that name.
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot create " + tmp);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Unavailable("cannot write " + path);
  }
  return Status::Ok();
}

// `[d00, d01]`: a list of routing domain names.
Result<std::set<std::string>> ParseDomains(const YAML::Node& d, const std::string& at) {
  if (!d.IsSequence()) return InvalidArgument(at + ": expected a list of domain names");
  std::set<std::string> domains;
  for (size_t i = 0; i < d.size(); ++i) {
    if (!d[i].IsScalar() || !config::ValidNameChars(d[i].Scalar())) {
      return InvalidArgument(config::Field(at, static_cast<int>(i)) + ": not a domain name");
    }
    domains.insert(d[i].Scalar());
  }
  return domains;
}

// `profile: {domains: [d00], skills: {general: 3}, capacity_units: 100}` of an agent token.
Result<AgentProfile> ParseProfile(const YAML::Node& node, const std::string& at) {
  if (!node.IsMap()) return InvalidArgument(at + ": expected {domains, skills, capacity_units}");
  AgentProfile p;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (key != "domains" && key != "skills" && key != "capacity_units") {
      return InvalidArgument(at + "." + config::Printable(key) + ": unknown field");
    }
  }
  if (const YAML::Node d = node["domains"]; d) {
    auto domains = ParseDomains(d, at + ".domains");
    if (!domains.ok()) return domains.status();
    p.domains = std::move(*domains);
  }
  const YAML::Node skills = node["skills"];
  if (!skills || !skills.IsMap()) {
    return InvalidArgument(at + ".skills: required, {skill: highest proficiency 1..5, ...}");
  }
  for (const auto& kv : skills) {
    const std::string skill = kv.first.Scalar();
    const std::string level = kv.second.IsScalar() ? kv.second.Scalar() : "";
    if (!config::ValidNameChars(skill)) {
      return InvalidArgument(at + ".skills: " + config::Quote(skill) + " is not a skill name");
    }
    if (level.size() != 1 || level[0] < '1' || level[0] > '5') {
      return InvalidArgument(at + ".skills." + skill + ": a proficiency 1..5");
    }
    p.skills[skill] = static_cast<uint32_t>(level[0] - '0');
  }
  if (const YAML::Node c = node["capacity_units"]; c) {
    const std::string v = c.IsScalar() ? c.Scalar() : "";
    if (v.empty() || v.size() > 5 || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(v) > 10000) {
      return InvalidArgument(at + ".capacity_units: 0..10000");
    }
    p.max_capacity_units = static_cast<uint32_t>(std::stoul(v));
  }
  return p;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAgent:
      return "agent";
    case Role::kSupervisor:
      return "supervisor";
    case Role::kIntegrator:
      return "integrator";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

Result<TokenTable> TokenTable::Parse(std::string_view yaml) {
  try {
    return ParseYaml(YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {  // DeepRecursion included: nesting is bounded
    return InvalidArgument("token file: not YAML: " + config::Printable(e.what()));
  }
}

Result<TokenTable> TokenTable::ParseYaml(const YAML::Node& root) {
  if (!root.IsMap() || !root["tokens"] || !root["tokens"].IsSequence()) {
    return InvalidArgument("tokens: required (a list of {sha256, role, agent_id})");
  }
  TokenTable table;
  const YAML::Node list = root["tokens"];
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = config::Field("tokens", static_cast<int>(i));
    const YAML::Node e = list[i];
    if (!e.IsMap()) return InvalidArgument(at + ": expected {sha256, role, agent_id}");
    for (const auto& kv : e) {
      const std::string key = kv.first.Scalar();
      if (key != "sha256" && key != "role" && key != "agent_id" && key != "name" &&
          key != "profile" && key != "domains") {
        return InvalidArgument(at + "." + config::Printable(key) + ": unknown field");
      }
    }
    const std::string hex = e["sha256"] && e["sha256"].IsScalar() ? e["sha256"].Scalar() : "";
    if (hex.size() != 64) return InvalidArgument(at + ".sha256: expected 64 hex digits");
    Entry entry;
    for (size_t k = 0; k < 64; k += 2) {
      const int hi = HexValue(hex[k]), lo = HexValue(hex[k + 1]);
      if (hi < 0 || lo < 0) return InvalidArgument(at + ".sha256: expected 64 hex digits");
      entry.sha256.push_back(static_cast<char>(hi * 16 + lo));
    }
    for (size_t j = 0; j < table.entries_.size(); ++j) {
      if (table.entries_[j].sha256 == entry.sha256) {
        return InvalidArgument(at + ".sha256: the same token as tokens[" + std::to_string(j) +
                               "] (one token, one caller)");
      }
    }
    auto role = ParseRole(e["role"] && e["role"].IsScalar() ? e["role"].Scalar() : "");
    if (!role.ok()) return InvalidArgument(at + ".role: " + role.status().message());
    entry.principal.role = *role;
    const std::string agent =
        e["agent_id"] && e["agent_id"].IsScalar() ? e["agent_id"].Scalar() : "";
    if (*role == Role::kAgent) {
      if (agent.empty() || agent.size() > kMaxAgentIdChars || !NoControlCharacters(agent)) {
        return InvalidArgument(at +
                               ".agent_id: required for role agent (at most 128 printable chars)");
      }
      entry.principal.agent_id = agent;
    } else if (!agent.empty()) {
      return InvalidArgument(at + ".agent_id: only for role agent");
    }
    if (e["profile"]) {
      if (*role != Role::kAgent) return InvalidArgument(at + ".profile: only for role agent");
      auto profile = ParseProfile(e["profile"], at + ".profile");
      if (!profile.ok()) return profile.status();
      entry.principal.profile = std::move(*profile);
    }
    if (e["domains"]) {
      if (*role != Role::kSupervisor) {
        return InvalidArgument(at +
                               ".domains: only for role supervisor (an agent's: profile.domains)");
      }
      auto domains = ParseDomains(e["domains"], at + ".domains");
      if (!domains.ok()) return domains.status();
      if (domains->empty()) {
        return InvalidArgument(at +
                               ".domains: at least one domain (or leave it out: every domain)");
      }
      entry.principal.domains = std::move(*domains);
    }
    const std::string name = e["name"] && e["name"].IsScalar() ? e["name"].Scalar() : "";
    if (name.size() > kMaxAgentIdChars || !NoControlCharacters(name)) {
      return InvalidArgument(at + ".name: at most 128 printable characters");
    }
    // Unnamed: its own name all the same (agents by agent id, others by a prefix of the hash),
    // so two tokens never share idempotency keys nor see each other's contacts.
    entry.principal.name = !name.empty() ? name
                           : *role == Role::kAgent
                               ? "agent/" + agent
                               : std::string(RoleName(*role)) + "/" + hex.substr(0, 12);
    table.entries_.push_back(std::move(entry));
  }
  return table;
}

Result<TokenTable> TokenTable::LoadFile(const std::string& path) {
  struct stat file {};
  if (::stat(path.c_str(), &file) == 0 && (file.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(file.st_mode & 07777));
    return InvalidArgument(path + ": mode " + mode +
                           " lets other users read or change the tokens; chmod 600 it");
  }
  std::string text;
  Status st = config::ReadConfigFile(path, &text);
  if (!st.ok()) return st;
  auto table = Parse(text);
  if (!table.ok()) return InvalidArgument(path + ": " + table.status().message());
  return table;
}

AuthResult TokenTable::Authenticate(std::string_view authorization) const {
  AuthResult r;
  if (authorization.empty()) {
    r.code = AuthCode::kUnauthenticated;
    r.message = "missing authorization: send \"authorization: Bearer <token>\"";
    return r;
  }
  if (!authorization.starts_with(kBearer) || authorization.size() == kBearer.size() ||
      authorization.size() > kBearer.size() + kMaxTokenChars) {
    r.code = AuthCode::kUnauthenticated;
    r.message = "malformed authorization: expected \"Bearer <token>\"";
    return r;
  }
  const auto digest = Sha256(authorization.substr(kBearer.size()));
  // Every entry is compared, in constant time each, so timing tells nothing about which (or
  // whether one) matched.
  const Entry* found = nullptr;
  for (const Entry& e : entries_) {
    if (CRYPTO_memcmp(e.sha256.data(), digest.data(), digest.size()) == 0) found = &e;
  }
  if (found == nullptr) {
    r.code = AuthCode::kUnauthenticated;
    r.message = "unknown token";
    return r;
  }
  r.principal = found->principal;
  return r;
}

bool RoleMayCall(Role role, std::string_view method) {
  for (const MethodRoles& m : kMethodRoles) {
    if (m.method == method) return (m.roles & Bit(role)) != 0;
  }
  return false;
}

AuthResult Authorize(const TokenTable& tokens, std::string_view authorization,
                     std::string_view method) {
  AuthResult r = tokens.Authenticate(authorization);
  if (!r.ok()) return r;
  if (!RoleMayCall(r.principal.role, method)) {
    r.code = AuthCode::kPermissionDenied;
    r.message = "role " + std::string(RoleName(r.principal.role)) + " may not call " +
                config::Printable(method);
  }
  return r;
}

AuthResult CheckActsAs(const Principal& principal, std::string_view agent_id) {
  AuthResult r;
  r.principal = principal;
  if (principal.role == Role::kAgent && principal.agent_id != agent_id) {
    r.code = AuthCode::kPermissionDenied;
    r.message = "agent " + config::Quote(principal.agent_id) + " may not act as agent " +
                config::Quote(agent_id);
  }
  return r;
}

size_t TokenTable::agents_without_profile() const {
  size_t n = 0;
  for (const Entry& e : entries_) n += e.principal.role == Role::kAgent && !e.principal.profile;
  return n;
}

AuthResult CheckAgentProfile(const Principal& principal, const pb::Agent& agent) {
  AuthResult r;
  r.principal = principal;
  if (!ReachesDomain(principal, agent.domain())) {
    r.code = AuthCode::kPermissionDenied;
    r.message = "login.agent.domain: " + config::Quote(agent.domain()) +
                " is not a domain supervisor " + config::Quote(principal.name) + " supervises";
    return r;
  }
  if (principal.role != Role::kAgent || !principal.profile) return r;
  const AgentProfile& p = *principal.profile;
  auto deny = [&](const std::string& message) {
    r.code = AuthCode::kPermissionDenied;
    r.message = message + " (agent " + config::Quote(principal.agent_id) +
                "'s profile in the token file; an administrator changes it)";
    return r;
  };
  if (!p.domains.empty() && !p.domains.count(agent.domain())) {
    return deny("login.agent.domain: " + config::Quote(agent.domain()) + " is not allowed");
  }
  for (int i = 0; i < agent.skills_size(); ++i) {
    const auto& s = agent.skills(i);
    auto it = p.skills.find(s.skill());
    const std::string at = "login.agent.skills[" + std::to_string(i) + "]: ";
    if (it == p.skills.end())
      return deny(at + "skill " + config::Quote(s.skill()) + " not granted");
    if (s.proficiency() > it->second) {
      return deny(at + "proficiency " + std::to_string(s.proficiency()) + " in " +
                  config::Quote(s.skill()) + " above the granted " + std::to_string(it->second));
    }
  }
  if (agent.capacity_units() > p.max_capacity_units) {
    return deny("login.agent.capacity_units: " + std::to_string(agent.capacity_units()) +
                " above the granted " + std::to_string(p.max_capacity_units));
  }
  return r;
}

bool ReachesDomain(const Principal& principal, std::string_view domain) {
  return principal.role != Role::kSupervisor || principal.domains.empty() ||
         principal.domains.contains(std::string(domain));
}

AuthResult CheckFollowUpAccess(const Principal& principal, std::string_view task_id,
                               std::string_view owner, std::string_view submitted_by,
                               std::string_view domain) {
  AuthResult r;
  r.principal = principal;
  if (!ReachesDomain(principal, domain)) {
    r.code = AuthCode::kPermissionDenied;
    r.message = "follow-up task " + config::Quote(task_id) + " is in domain " +
                config::Quote(domain) + ", not one supervisor " + config::Quote(principal.name) +
                " supervises";
  }
  if (principal.role == Role::kAgent && principal.agent_id != owner) {
    r.code = AuthCode::kPermissionDenied;
    r.message = "follow-up task " + config::Quote(task_id) + " is not owned by agent " +
                config::Quote(principal.agent_id) + ": an agent reaches only its own follow-ups";
  }
  // Tasks created before submitters were recorded (empty) stay reachable by every integrator.
  if (principal.role == Role::kIntegrator && !submitted_by.empty() &&
      submitted_by != principal.name) {
    r.code = AuthCode::kPermissionDenied;
    r.message = "follow-up task " + config::Quote(task_id) +
                " was submitted by another caller: an integrator reaches only its own";
  }
  return r;
}

AuthResult ScopeFollowUpList(const Principal& principal, std::string* owner,
                             std::string* submitted_by) {
  AuthResult r;
  r.principal = principal;
  if (principal.role == Role::kIntegrator) *submitted_by = principal.name;
  if (principal.role != Role::kAgent) return r;
  if (!owner->empty() && *owner != principal.agent_id) {
    r.code = AuthCode::kPermissionDenied;
    r.message = "owner: agent " + config::Quote(principal.agent_id) +
                " lists only its own follow-ups, not those of " + config::Quote(*owner);
    return r;
  }
  *owner = principal.agent_id;
  return r;
}

std::string Sha256Hex(std::string_view data) {
  const auto d = Sha256(data);
  return ToHex(d.data(), d.size());
}

Result<std::string> GenerateToken() {
  std::array<unsigned char, 32> bytes{};
  std::ifstream in("/dev/urandom", std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), bytes.size())) {
    return Unavailable("cannot read /dev/urandom");
  }
  return "sbt_" + ToHex(bytes.data(), bytes.size());
}

Result<GeneratedAdmin> EnsureAdminToken(const std::string& data_dir) {
  std::error_code ec;
  const bool created = std::filesystem::create_directories(data_dir, ec);
  if (ec) return Unavailable("cannot create " + data_dir + ": " + ec.message());
  if (created) {  // the admin token lives here: the owner's only
    std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, ec);
    if (ec) return Unavailable("cannot restrict " + data_dir + ": " + ec.message());
  }
  GeneratedAdmin g;
  g.token_path = (std::filesystem::path(data_dir) / "admin.token").string();
  g.tokens_file = (std::filesystem::path(data_dir) / "tokens.yaml").string();
  std::string token;
  if (std::filesystem::exists(g.token_path)) {
    std::ifstream in(g.token_path);
    std::getline(in, token);
    if (token.empty()) return Unavailable(g.token_path + ": empty; remove it to make a new one");
  } else {
    auto fresh = GenerateToken();
    if (!fresh.ok()) return fresh.status();
    token = *fresh;
    // The token file first: a crash between the two leaves no token without its hash.
    SB_RETURN_IF_ERROR(
        WritePrivateFile(g.tokens_file,
                         "# generated by switchboard router: the admin token in admin.token\n"
                         "tokens:\n  - {sha256: " +
                             Sha256Hex(token) + ", role: admin}\n"));
    SB_RETURN_IF_ERROR(WritePrivateFile(g.token_path, token + "\n"));
    return g;
  }
  // Reused: make sure the token file still holds its hash (rewritten if it was lost).
  auto table = TokenTable::LoadFile(g.tokens_file);
  if (!table.ok() || !table->Authenticate("Bearer " + token).ok()) {
    SB_RETURN_IF_ERROR(
        WritePrivateFile(g.tokens_file,
                         "# generated by switchboard router: the admin token in admin.token\n"
                         "tokens:\n  - {sha256: " +
                             Sha256Hex(token) + ", role: admin}\n"));
  }
  return g;
}

}  // namespace sb::gateway
