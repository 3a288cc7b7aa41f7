// Token file parsing, constant-time token lookup, the role table, acting as an agent.
#include "router/gateway/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "support/files.h"
#include "support/temp_dir.h"

namespace sb::gateway {
namespace {

namespace pb = ::switchboard::v1;

using ::sb::testing::ReadAll;
using ::sb::testing::TempDir;

std::string TokenFile() {
  return "tokens:\n"
         "  - {sha256: " +
         Sha256Hex("agent-secret") +
         ", role: agent, agent_id: a7}\n"
         "  - {sha256: " +
         Sha256Hex("int-secret") +
         ", role: integrator, name: crm}\n"
         "  - {sha256: " +
         Sha256Hex("admin-secret") + ", role: admin}\n";
}

TEST(AuthTest, Sha256OfKnownInput) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuthTest, TokensMapToTheirRoles) {
  auto t = TokenTable::Parse(TokenFile());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto agent = t->Authenticate("Bearer agent-secret");
  ASSERT_TRUE(agent.ok());
  EXPECT_EQ(agent.principal.role, Role::kAgent);
  EXPECT_EQ(agent.principal.agent_id, "a7");
  EXPECT_EQ(agent.principal.name, "agent/a7");
  auto integrator = t->Authenticate("Bearer int-secret");
  ASSERT_TRUE(integrator.ok());
  EXPECT_EQ(integrator.principal.role, Role::kIntegrator);
  EXPECT_EQ(integrator.principal.name, "crm");
  // Unnamed: named by its hash, never by its role alone (two such tokens would share contacts).
  EXPECT_EQ(t->Authenticate("Bearer admin-secret").principal.name,
            "admin/" + Sha256Hex("admin-secret").substr(0, 12));
}

TEST(AuthTest, MissingMalformedOrUnknownTokenIsUnauthenticated) {
  auto t = TokenTable::Parse(TokenFile());
  ASSERT_TRUE(t.ok());
  for (const char* bad : {"", "agent-secret", "Bearer ", "bearer agent-secret", "Basic abc",
                          "Bearer agent-secret2", "Bearer agent-secre"}) {
    EXPECT_EQ(t->Authenticate(bad).code, AuthCode::kUnauthenticated) << bad;
  }
  EXPECT_EQ(t->Authenticate("Bearer " + std::string(10000, 'x')).code, AuthCode::kUnauthenticated);
}

TEST(AuthTest, TokenFileErrorsNameTheField) {
  struct Case {
    std::string yaml, field;
  } cases[] = {
      {"tokens: []\nx: 1\n", ""},  // no entries is allowed
      {"{}", "tokens"},
      {"tokens:\n  - {sha256: abc, role: admin}\n", "tokens[0].sha256"},
      {"tokens:\n  - {sha256: " + std::string(64, 'g') + ", role: admin}\n", "tokens[0].sha256"},
      {"tokens:\n  - {sha256: " + std::string(64, 'a') + ", role: root}\n", "tokens[0].role"},
      {"tokens:\n  - {sha256: " + std::string(64, 'a') + ", role: agent}\n", "tokens[0].agent_id"},
      {"tokens:\n  - {sha256: " + std::string(64, 'a') + ", role: admin, agent_id: a}\n",
       "tokens[0].agent_id"},
      {"tokens:\n  - {sha256: " + std::string(64, 'a') + ", role: admin, colour: red}\n",
       "tokens[0].colour"},
      {"tokens: [", "token file"},
      {"tokens:\n  - {sha256: " + std::string(64, 'a') + ", role: admin}\n  - {sha256: " +
           std::string(64, 'a') + ", role: agent, agent_id: a1}\n",
       "tokens[1].sha256"},  // one token, two callers: refused
      {"tokens:\n  - {sha256: " + std::string(64, 'a') + ", role: agent, agent_id: \"a\\nb\"}\n",
       "tokens[0].agent_id"},  // a line break would forge log lines
      {"tokens:\n  - {sha256: " + std::string(64, 'a') + ", role: admin, name: \"x\\e[2J\"}\n",
       "tokens[0].name"},
  };
  for (const auto& c : cases) {
    auto t = TokenTable::Parse(c.yaml);
    if (c.field.empty()) {
      EXPECT_TRUE(t.ok()) << c.yaml;
      continue;
    }
    ASSERT_FALSE(t.ok()) << c.yaml;
    EXPECT_NE(t.status().message().find(c.field), std::string::npos) << t.status().message();
  }
}

// The file names every caller's token hash and role: only its owner reads it.
TEST(AuthTest, ATokenFileOthersMayReadIsRefused) {
  const TempDir dir("sb-auth-test-");
  const std::string path = (dir.path() / "tokens.yaml").string();
  std::ofstream(path) << TokenFile();
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto t = TokenTable::LoadFile(path);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("mode 0644"), std::string::npos) << t.status().ToString();
  EXPECT_NE(t.status().message().find("chmod 600"), std::string::npos) << t.status().ToString();
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  t = TokenTable::LoadFile(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->size(), 3u);
}

TEST(AuthTest, RoleTable) {
  const std::string submit = "/switchboard.v1.ContactService/Submit";
  const std::string apply = "/switchboard.v1.AdminService/ApplyConfig";
  const std::string stats = "/switchboard.v1.AdminService/QueueStats";
  const std::string session = "/switchboard.v1.AgentService/Session";
  EXPECT_TRUE(RoleMayCall(Role::kIntegrator, submit));
  EXPECT_FALSE(RoleMayCall(Role::kAgent, submit));
  EXPECT_TRUE(RoleMayCall(Role::kAdmin, apply));
  EXPECT_FALSE(RoleMayCall(Role::kSupervisor, apply));
  EXPECT_TRUE(RoleMayCall(Role::kSupervisor, stats));
  EXPECT_FALSE(RoleMayCall(Role::kIntegrator, stats));
  EXPECT_TRUE(RoleMayCall(Role::kAgent, session));
  EXPECT_FALSE(RoleMayCall(Role::kIntegrator, session));
  EXPECT_FALSE(RoleMayCall(Role::kAdmin, "/switchboard.v1.AdminService/Nope"));

  auto t = TokenTable::Parse(TokenFile());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Authorize(*t, "Bearer agent-secret", apply).code, AuthCode::kPermissionDenied);
  EXPECT_EQ(Authorize(*t, "Bearer nope", apply).code, AuthCode::kUnauthenticated);
  EXPECT_TRUE(Authorize(*t, "Bearer admin-secret", apply).ok());
}

// Skills are granted, not claimed: an agent token with a profile logs in only within it.
TEST(AuthTest, AnAgentLogsInOnlyWithTheSkillsItsProfileGrants) {
  auto t = TokenTable::Parse(
      "tokens:\n"
      "  - {sha256: " +
      Sha256Hex("agent-secret") +
      ", role: agent, agent_id: a7,\n"
      "     profile: {domains: [d00], skills: {general: 3, billing: 2}, capacity_units: 100}}\n"
      "  - {sha256: " +
      Sha256Hex("free-secret") + ", role: agent, agent_id: a8}\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->agents_without_profile(), 1u);
  const AuthResult a7 = t->Authenticate("Bearer agent-secret");
  ASSERT_TRUE(a7.ok());
  pb::Agent agent;
  agent.set_id("a7");
  agent.set_domain("d00");
  auto* general = agent.add_skills();
  general->set_skill("general");
  general->set_proficiency(3);
  agent.set_capacity_units(100);
  EXPECT_TRUE(CheckAgentProfile(a7.principal, agent).ok());
  general->set_proficiency(5);
  AuthResult denied = CheckAgentProfile(a7.principal, agent);
  EXPECT_EQ(denied.code, AuthCode::kPermissionDenied);
  EXPECT_NE(denied.message.find("login.agent.skills[0]"), std::string::npos) << denied.message;
  general->set_proficiency(3);
  auto* vip = agent.add_skills();
  vip->set_skill("vip");
  vip->set_proficiency(1);
  EXPECT_NE(CheckAgentProfile(a7.principal, agent).message.find("\"vip\" not granted"),
            std::string::npos);
  agent.mutable_skills()->RemoveLast();
  agent.set_domain("d01");
  EXPECT_NE(CheckAgentProfile(a7.principal, agent).message.find("login.agent.domain"),
            std::string::npos);
  agent.set_domain("d00");
  agent.set_capacity_units(200);
  EXPECT_NE(CheckAgentProfile(a7.principal, agent).message.find("capacity_units"),
            std::string::npos);
  // No profile: as declared (warned about at load); other roles log agents in as asked.
  EXPECT_TRUE(CheckAgentProfile(t->Authenticate("Bearer free-secret").principal, agent).ok());
  for (const char* bad :
       {"{skills: {general: 9}}", "{skills: [general]}", "{domains: [x]}",
        "{skills: {general: 1}, capacity_units: -1}", "{skills: {general: 1}, x: 1}"}) {
    auto refused = TokenTable::Parse("tokens:\n  - {sha256: " + Sha256Hex("s") +
                                     ", role: agent, agent_id: a9, profile: " + bad + "}\n");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("tokens[0].profile"), std::string::npos)
        << refused.status().message();
  }
  auto not_agent = TokenTable::Parse("tokens:\n  - {sha256: " + Sha256Hex("s") +
                                     ", role: admin, profile: {skills: {general: 1}}}\n");
  EXPECT_FALSE(not_agent.ok());
}

TEST(AuthTest, AnAgentActsOnlyAsItself) {
  Principal agent{Role::kAgent, "a7", "agent/a7", {}, {}};
  EXPECT_TRUE(CheckActsAs(agent, "a7").ok());
  EXPECT_EQ(CheckActsAs(agent, "a8").code, AuthCode::kPermissionDenied);
  Principal supervisor{Role::kSupervisor, "", "supervisor", {}, {}};
  EXPECT_TRUE(CheckActsAs(supervisor, "a8").ok());
}

TEST(AuthTest, AnAgentReachesOnlyTheFollowUpsItOwns) {
  Principal agent{Role::kAgent, "a7", "agent/a7", {}, {}};
  EXPECT_TRUE(CheckFollowUpAccess(agent, "cb-1", "a7", "crm", "d00").ok());
  AuthResult denied = CheckFollowUpAccess(agent, "cb-2", "a8", "crm", "d00");
  EXPECT_EQ(denied.code, AuthCode::kPermissionDenied);
  EXPECT_NE(denied.message.find("cb-2"), std::string::npos) << denied.message;
  EXPECT_EQ(CheckFollowUpAccess(agent, "cb-3", "", "", "d00").code, AuthCode::kPermissionDenied);
  Principal integrator{Role::kIntegrator, "", "crm", {}, {}};
  EXPECT_TRUE(CheckFollowUpAccess(integrator, "cb-2", "a8", "crm", "d00").ok());
  // An integrator reaches the tasks it submitted (and those from before submitters were kept).
  EXPECT_EQ(CheckFollowUpAccess(integrator, "cb-4", "a8", "billing", "d00").code,
            AuthCode::kPermissionDenied);
  EXPECT_TRUE(CheckFollowUpAccess(integrator, "cb-5", "a8", "", "d00").ok());
  Principal admin{Role::kAdmin, "", "admin", {}, {}};
  EXPECT_TRUE(CheckFollowUpAccess(admin, "cb-4", "a8", "billing", "d00").ok());

  std::string owner, submitted_by;
  ASSERT_TRUE(ScopeFollowUpList(agent, &owner, &submitted_by).ok());
  EXPECT_EQ(owner, "a7");  // an agent's List is of its own tasks, asked or not
  owner = "a8";
  EXPECT_EQ(ScopeFollowUpList(agent, &owner, &submitted_by).code, AuthCode::kPermissionDenied);
  owner.clear();
  ASSERT_TRUE(ScopeFollowUpList(integrator, &owner, &submitted_by).ok());
  EXPECT_TRUE(owner.empty());
  EXPECT_EQ(submitted_by, "crm");  // an integrator's List is of what it submitted
}

// A supervisor token may name the domains it supervises: its follow-ups, proxied logins (and, in
// the services, its live views, reports and contacts) stay within them. Only supervisors have
// domains; without, a supervisor reaches every domain.
TEST(AuthTest, ASupervisorReachesOnlyTheDomainsItSupervises) {
  auto table = TokenTable::Parse("tokens:\n  - {sha256: " + Sha256Hex("sup") +
                                 ", role: supervisor, name: team-a, domains: [d00, d01]}\n");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  AuthResult sup = table->Authenticate("Bearer sup");
  ASSERT_TRUE(sup.ok());
  EXPECT_EQ(sup.principal.domains, (std::set<std::string>{"d00", "d01"}));
  EXPECT_TRUE(ReachesDomain(sup.principal, "d01"));
  EXPECT_FALSE(ReachesDomain(sup.principal, "d02"));
  EXPECT_TRUE(CheckFollowUpAccess(sup.principal, "cb-1", "a8", "crm", "d00").ok());
  AuthResult denied = CheckFollowUpAccess(sup.principal, "cb-2", "a8", "crm", "d02");
  EXPECT_EQ(denied.code, AuthCode::kPermissionDenied);
  EXPECT_NE(denied.message.find("\"d02\""), std::string::npos) << denied.message;
  pb::Agent agent;
  agent.set_id("a9");
  agent.set_domain("d02");
  EXPECT_EQ(CheckAgentProfile(sup.principal, agent).code, AuthCode::kPermissionDenied);
  agent.set_domain("d00");
  EXPECT_TRUE(CheckAgentProfile(sup.principal, agent).ok());
  Principal everywhere{Role::kSupervisor, "", "supervisor", {}, {}};
  EXPECT_TRUE(ReachesDomain(everywhere, "d02"));
  Principal admin{Role::kAdmin, "", "admin", {}, {}};
  EXPECT_TRUE(CheckFollowUpAccess(admin, "cb-2", "a8", "crm", "d02").ok());
  for (const char* bad : {"role: admin, domains: [d00]", "role: supervisor, domains: []",
                          "role: supervisor, domains: d00", "role: supervisor, domains: ['a b']"}) {
    auto refused =
        TokenTable::Parse("tokens:\n  - {sha256: " + Sha256Hex("s") + ", " + bad + "}\n");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("tokens[0].domains"), std::string::npos)
        << refused.status().message();
  }
}

TEST(AuthTest, GeneratedAdminTokenIsPrivateAndReused) {
  const TempDir dir("sb-auth-test-");
  auto first = EnsureAdminToken(dir.path().string());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(first->token_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string token;
  std::getline(std::ifstream(first->token_path), token);
  EXPECT_TRUE(token.starts_with("sbt_"));
  EXPECT_EQ(token.size(), 4u + 64u);
  auto table = TokenTable::LoadFile(first->tokens_file);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto who = table->Authenticate("Bearer " + token);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who.principal.role, Role::kAdmin);
  // The file holds the hash, never the token.
  EXPECT_EQ(ReadAll(first->tokens_file).find(token), std::string::npos);

  auto second = EnsureAdminToken(dir.path().string());
  ASSERT_TRUE(second.ok());
  std::string again;
  std::getline(std::ifstream(second->token_path), again);
  EXPECT_EQ(again, token);
}

// A file left at the temporary name (a crash, or planted: readable by others, or a symlink to
// somewhere else) is never written through: the token file is created afresh, 0600, and a data
// directory the router creates is its owner's only.
TEST(AuthTest, GeneratedTokenFilesAreCreatedAfreshAndPrivate) {
  const TempDir dir("sb-auth-test-");
  const std::filesystem::path data = dir.path() / "data";
  const std::filesystem::path elsewhere = dir.path() / "elsewhere";
  std::filesystem::create_directories(data);
  std::ofstream(elsewhere) << "untouched\n";
  std::filesystem::create_symlink(elsewhere, data / "tokens.yaml.tmp");
  std::ofstream(data / "admin.token.tmp") << "old\n";
  ASSERT_EQ(::chmod((data / "admin.token.tmp").c_str(), 0644), 0);
  auto made = EnsureAdminToken(data.string());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(ReadAll(elsewhere), "untouched\n");
  for (const std::string& path : {made->token_path, made->tokens_file}) {
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
  }
  auto fresh = EnsureAdminToken((dir.path() / "new-data").string());
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "new-data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

}  // namespace
}  // namespace sb::gateway
