// Bearer-token authentication and the per-RPC role table of the gateway. Pure: no gRPC, no I/O
// except the token-file helpers at the bottom (startup only).
//
// Tokens are never stored: the token file lists SHA-256 hashes (hex) with a role, and for role
// agent the agent id the token may act as. A presented token is hashed and compared with every
// entry in constant time.
//
// Threads: a TokenTable is immutable after Parse/Load; any thread may call it concurrently.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "switchboard/v1/agent.pb.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace sb::gateway {

enum class Role { kAgent, kSupervisor, kIntegrator, kAdmin };

std::string_view RoleName(Role role);

// What an agent token may log in with (the token file's `profile`, set by whoever administers
// tokens): an agent does not grant itself skills, domains or capacity.
struct AgentProfile {
  std::set<std::string> domains;           // routing domains it may serve; empty: any
  std::map<std::string, uint32_t> skills;  // skill -> the highest proficiency it may claim
  uint32_t max_capacity_units = 0;         // 0: the configured default only (0 at login)
};

struct Principal {
  Role role = Role::kAgent;
  std::string agent_id;  // set for role agent only: the one agent it may act as
  // The caller's stable name: the namespace of its idempotency keys (contact ids derive from it).
  // From the token entry's `name`; default: the role name (agents: "agent/<agent_id>").
  std::string name;
  // Role agent: what its logins are checked against; unset: the agent declares its own skills
  // (warned about when the token file is loaded).
  std::optional<AgentProfile> profile;
  // Role supervisor: the routing domains it supervises (the token file's `domains`); its
  // follow-ups, live views, reports and proxied logins stay within them. Empty: every domain.
  std::set<std::string> domains;
};

// Whether `principal` reaches routing domain `domain`: a supervisor with domains only those;
// every other role every domain (agents are held to their own tasks and profile instead).
bool ReachesDomain(const Principal& principal, std::string_view domain);

// Why a call is refused; kOk means allowed.
enum class AuthCode { kOk, kUnauthenticated, kPermissionDenied };

struct AuthResult {
  AuthCode code = AuthCode::kOk;
  std::string message;  // empty when ok
  Principal principal;  // valid when ok
  bool ok() const { return code == AuthCode::kOk; }
};

class TokenTable {
 public:
  // Parses a token file:
  //   tokens:
  //     - {sha256: <64 hex>, role: agent|supervisor|integrator|admin, agent_id: <id>, name: <n>,
  //        profile: {domains: [<domain>...], skills: {<skill>: <1..5>...}, capacity_units: <n>},
  //        domains: [<domain>...]}
  // `profile` (role agent only): what its desktop logins may claim (AgentProfile). `domains`
  // (role supervisor only): the domains it supervises (Principal::domains).
  // agent_id is required for role agent and refused for the others. `name` (optional, at most 128
  // characters) names the caller (default: "agent/<agent_id>", else "<role>/<12 hex digits of the
  // hash>"); two integrators sharing a name share idempotency keys and contacts. Errors
  // name the field (tokens[1].role: ...); the same hash twice is refused.
  [[nodiscard]] static Result<TokenTable> Parse(std::string_view yaml);
  // Refused when group or others may read or write the file (chmod 600).
  [[nodiscard]] static Result<TokenTable> LoadFile(const std::string& path);

  // `authorization` is the request's "authorization" metadata value, "Bearer <token>".
  // kUnauthenticated when missing, malformed or unknown.
  AuthResult Authenticate(std::string_view authorization) const;
  size_t size() const { return entries_.size(); }
  // Agent tokens without a profile (their agents declare their own skills at login).
  size_t agents_without_profile() const;

 private:
  static Result<TokenTable> ParseYaml(const YAML::Node& root);
  struct Entry {
    std::string sha256;  // 32 raw bytes
    Principal principal;
  };
  std::vector<Entry> entries_;
};

// Whether `role` may call `method` (full gRPC method name, "/switchboard.v1.ContactService/Get").
// Unknown methods are refused for every role.
bool RoleMayCall(Role role, std::string_view method);

// Authenticates and checks the role table in one step.
AuthResult Authorize(const TokenTable& tokens, std::string_view authorization,
                     std::string_view method);

// An agent token may act only as its own agent; the other roles may act for any agent.
// kPermissionDenied otherwise.
AuthResult CheckActsAs(const Principal& principal, std::string_view agent_id);

// Whether `principal` may log `agent` in with the skills, domain and capacity it asks for: an
// agent token with a profile only within it (kPermissionDenied naming the field); a supervisor
// into its domains only; other roles (a CTI proxy) and agent tokens without a profile as asked.
AuthResult CheckAgentProfile(const Principal& principal, const ::switchboard::v1::Agent& agent);

// Follow-up tasks carry customers' personal data (phone, surname, notes): an agent token reaches
// only the tasks its agent owns (request.owner): it lists, cancels and reports attempts of those;
// an integrator those it submitted; a supervisor those of its domains (`domain`: the routing
// domain of the task's queue); admins every task. kPermissionDenied otherwise (the message names
// no customer).
AuthResult CheckFollowUpAccess(const Principal& principal, std::string_view task_id,
                               std::string_view owner, std::string_view submitted_by,
                               std::string_view domain);
// The filters of a List: an agent's owner is its own id, whatever it asked (asking for another
// owner's is kPermissionDenied); an integrator lists only what it submitted (`*submitted_by` =
// its name); supervisors and admins list as asked (a supervisor with domains: the service keeps
// the list to their queues, FollowUpFilter::queues).
AuthResult ScopeFollowUpList(const Principal& principal, std::string* owner,
                             std::string* submitted_by);

// SHA-256 of `data` as 64 lower-case hex digits (OpenSSL libcrypto).
std::string Sha256Hex(std::string_view data);

// A fresh random token ("sbt_" + 64 hex digits from /dev/urandom).
[[nodiscard]] Result<std::string> GenerateToken();

// The router's default when neither a token file nor --no-auth is given: an admin token in
// `<data_dir>/admin.token` (mode 0600) and a token file `<data_dir>/tokens.yaml` holding its hash,
// both created on first start and reused afterwards. Returns the token file's path.
struct GeneratedAdmin {
  std::string token_path;
  std::string tokens_file;
};
[[nodiscard]] Result<GeneratedAdmin> EnsureAdminToken(const std::string& data_dir);

}  // namespace sb::gateway
