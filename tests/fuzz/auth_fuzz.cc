// Fuzz target: the gateway's two parsers of credentials. First byte even: the rest is a token
// file (TokenTable::Parse); odd: an "authorization" header checked against a fixed table. Refusals
// are fine; crashes, hangs, refusals whose message is not one bounded printable line, a parsed
// table whose callers carry control characters, and any header but the known tokens' own being
// accepted are not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "router/gateway/auth.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

constexpr char kTarget[] = "auth_fuzz";
using sb::gateway::AuthResult;
using sb::gateway::Sha256Hex;
using sb::gateway::TokenTable;

const TokenTable& KnownTable() {
  static const TokenTable* t = [] {
    auto table = TokenTable::Parse("tokens:\n  - {sha256: " + Sha256Hex("agent-secret") +
                                   ", role: agent, agent_id: a7}\n  - {sha256: " +
                                   Sha256Hex("admin-secret") + ", role: admin}\n");
    if (!table.ok()) sb::fuzz::Die(kTarget, "bad built-in table", table.status().ToString());
    return new TokenTable(std::move(*table));
  }();
  return *t;
}

void CheckPrintable(const std::string& s, const std::string& what) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) sb::fuzz::Die(kTarget, "control character in a caller", what);
  }
}

void TokenFile(std::string_view text) {
  auto table = TokenTable::Parse(text);
  if (!table.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, table.status().message());
    return;
  }
  // Whatever the file says, a header it does not hold the token of is refused.
  if (table->Authenticate("Bearer not-a-token-of-any-file").ok()) {
    sb::fuzz::Die(kTarget, "an unknown token was accepted", std::string(text));
  }
}

void Header(std::string_view header) {
  const AuthResult r = KnownTable().Authenticate(header);
  if (!r.ok()) {
    sb::fuzz::CheckErrorMessage(kTarget, r.message);
    return;
  }
  if (header != "Bearer agent-secret" && header != "Bearer admin-secret") {
    sb::fuzz::Die(kTarget, "accepted a header that holds no known token", std::string(header));
  }
  CheckPrintable(r.principal.name, r.principal.name);
  CheckPrintable(r.principal.agent_id, r.principal.agent_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > sb::fuzz::kMaxInputBytes) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    TokenFile(rest);
  } else {
    Header(rest);
  }
  return 0;
}
