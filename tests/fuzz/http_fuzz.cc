// Fuzz target: the HTTP servers a router runs, as any client on the network reaches them. The
// wallboard (Boost.Beast) and /metrics (prometheus-cpp, civetweb) are started once, on loopback
// port 0; the first byte of an input picks:
//   0: the rest is sent to the wallboard as raw bytes over a new connection (then the write half
//      is shut), and its answer read;
//   1: the same against /metrics;
//   2: the rest, as a JSON string in a snapshot, is inlined into the wallboard page (Page()).
//   3: the rest is sent to a second wallboard that takes a token (ServerOptions::authorize, as
//      off loopback): it may answer 200 only to a request that carries the token.
// Every kLivenessEvery inputs every server must still answer a well-formed GET.
// Crashes, hangs, a server that stops answering, an answer that is not one of the documented
// statuses (a 200 only for a GET of a wallboard path), and an inlined snapshot that can end or
// unbalance the page's <script> element or does not read back as the same JSON are not fine.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "common/metrics/server.h"
#include "router/wallboard/page.h"
#include "router/wallboard/server.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

constexpr char kTarget[] = "http_fuzz";
constexpr int kIoTimeoutMs = 200;
constexpr uint64_t kLivenessEvery = 64;
constexpr size_t kMaxAnswerBytes = 1 << 20;
constexpr char kSnapshot[] = R"({"queues":[],"domains":[],"followups":[],"totals":{}})";
constexpr std::string_view kToken = "fuzz-wallboard-token";

struct Servers {
  std::unique_ptr<sb::wallboard::Server> wallboard;
  std::unique_ptr<sb::wallboard::Server> guarded;  // takes kToken
  std::unique_ptr<sb::metrics::Server> metrics;
};

Servers& Started() {
  static Servers* servers = [] {
    auto* s = new Servers();  // never destroyed: the server threads run until exit
    sb::wallboard::ServerOptions options;
    options.bind = "127.0.0.1";
    options.port = 0;
    auto wallboard = sb::wallboard::Server::Start(options, [] { return std::string(kSnapshot); });
    if (!wallboard.ok()) sb::fuzz::Die(kTarget, "wallboard", wallboard.status().ToString());
    s->wallboard = std::move(*wallboard);
    options.authorize = [](std::string_view token) { return token == kToken; };
    auto guarded = sb::wallboard::Server::Start(options, [] { return std::string(kSnapshot); });
    if (!guarded.ok()) sb::fuzz::Die(kTarget, "guarded wallboard", guarded.status().ToString());
    s->guarded = std::move(*guarded);
    auto metrics = sb::metrics::Server::Start("127.0.0.1", 0);
    if (!metrics.ok()) sb::fuzz::Die(kTarget, "metrics", metrics.status().ToString());
    s->metrics = std::move(*metrics);
    return s;
  }();
  return *servers;
}

// libFuzzer's timers interrupt a connect() with a signal now and then; the connection goes on.
bool ConnectedAfterSignal(int fd) {
  if (errno != EINTR) return false;
  pollfd p{fd, POLLOUT, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, kIoTimeoutMs);
  } while (ready < 0 && errno == EINTR);
  int error = 0;
  socklen_t len = sizeof error;
  if (ready != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
    errno = ready == 1 ? error : ETIMEDOUT;
    return false;
  }
  return true;
}

// Sends `request` on a new loopback connection to `port`, shuts the write half and returns what
// comes back within the timeouts. Shutting the write half first leaves the connection in
// TIME_WAIT here for a minute: each connection comes from another address of 127.0.0.0/8, or the
// ephemeral ports of one address would run out after some 28,000 inputs.
std::string Exchange(int port, std::string_view request) {
  static uint32_t connections = 0;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) sb::fuzz::Die(kTarget, "socket", std::strerror(errno));
  const timeval tv{0, kIoTimeoutMs * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;  // the port is picked at connect(), for the whole address pair
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl((127u << 24) | (1u << 16) | (connections++ % 65000 + 1));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0) {
    sb::fuzz::Die(kTarget, "bind", std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      !ConnectedAfterSignal(fd)) {
    sb::fuzz::Die(kTarget, "the server does not accept connections",
                  std::to_string(port) + ": " + std::strerror(errno));
  }
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server closed early (a refusal) or does not read: fine
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[4096];
  while (answer.size() < kMaxAnswerBytes) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // closed, reset or timed out
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

// The status code of an HTTP/1.1 answer; 0 when `answer` is empty.
int StatusOf(const std::string& answer, const char* who) {
  if (answer.empty()) return 0;
  if (answer.size() < 12 || !answer.starts_with("HTTP/1.") || answer[8] != ' ') {
    sb::fuzz::Die(kTarget, who, "answer is not HTTP: " + answer.substr(0, 64));
  }
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (answer[i] < '0' || answer[i] > '9') sb::fuzz::Die(kTarget, who, "no status code");
    status = status * 10 + (answer[i] - '0');
  }
  return status;
}

void CheckAlive() {
  Servers& s = Started();
  const std::string board =
      Exchange(s.wallboard->port(), "GET /wallboard/data HTTP/1.1\r\nHost: localhost\r\n\r\n");
  if (StatusOf(board, "wallboard") != 200 || !board.ends_with(kSnapshot)) {
    sb::fuzz::Die(kTarget, "the wallboard no longer answers", board.substr(0, 256));
  }
  const std::string page =
      Exchange(s.wallboard->port(), "GET /wallboard HTTP/1.1\r\nHost: localhost\r\n\r\n");
  if (StatusOf(page, "wallboard") != 200 || page.find("</html>") == std::string::npos) {
    sb::fuzz::Die(kTarget, "the wallboard page no longer answers", page.substr(0, 256));
  }
  const std::string refused =
      Exchange(s.guarded->port(), "GET /wallboard/data HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const std::string admitted =
      Exchange(s.guarded->port(),
               "GET /wallboard/data HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " +
                   std::string(kToken) + "\r\n\r\n");
  if (StatusOf(refused, "guarded") != 401 || StatusOf(admitted, "guarded") != 200) {
    sb::fuzz::Die(kTarget, "the guarded wallboard no longer checks its token",
                  refused.substr(0, 128) + " / " + admitted.substr(0, 128));
  }
  const std::string metrics =
      Exchange(s.metrics->port(), "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  if (StatusOf(metrics, "metrics") != 200) {
    sb::fuzz::Die(kTarget, "/metrics no longer answers", metrics.substr(0, 256));
  }
}

void Wallboard(std::string_view request) {
  const std::string answer = Exchange(Started().wallboard->port(), request);
  // server.h: 200 for the pages, else 400, 404, 405 or 503 (nothing, when the connection ends).
  static const std::set<int> kDocumented = {0, 200, 400, 404, 405, 503};
  const int status = StatusOf(answer, "wallboard");
  if (!kDocumented.count(status)) {
    sb::fuzz::Die(kTarget, "undocumented wallboard status", answer.substr(0, 256));
  }
  const size_t start = request.find_first_not_of("\r\n");
  if (status == 200 &&
      (start == std::string_view::npos || !request.substr(start).starts_with("GET /wallboard"))) {
    sb::fuzz::Die(kTarget, "200 for a request that is not a GET of the wallboard",
                  std::string(request.substr(0, 256)));
  }
}

// Without the token nothing but a refusal: a 200 (or a session cookie) only for a request that
// carries it, in whichever of its three places.
void GuardedWallboard(std::string_view request) {
  const std::string answer = Exchange(Started().guarded->port(), request);
  static const std::set<int> kDocumented = {0, 200, 400, 401, 404, 405, 503};
  const int status = StatusOf(answer, "guarded");
  if (!kDocumented.count(status)) {
    sb::fuzz::Die(kTarget, "undocumented guarded wallboard status", answer.substr(0, 256));
  }
  const bool carries = request.find(kToken) != std::string_view::npos;
  if ((status == 200 || answer.find("Set-Cookie") != std::string::npos) && !carries) {
    sb::fuzz::Die(kTarget, "the guarded wallboard served a request without its token",
                  std::string(request.substr(0, 256)));
  }
}

// civetweb (prometheus-cpp's server) copies the request's protocol version into the status line
// of its error answers, whatever bytes it holds: only the start of the answer is checked.
void Metrics(std::string_view request) {
  const std::string answer = Exchange(Started().metrics->port(), request);
  if (!answer.empty() && !answer.starts_with("HTTP/")) {
    sb::fuzz::Die(kTarget, "metrics answer is not HTTP", answer.substr(0, 256));
  }
}

// The page inlines the snapshot inside <script>: nothing in it may end that element ("</") or
// switch the HTML parser to the escaped states that swallow the real end tag ("<!--").
void InlinedPage(std::string_view text) {
  nlohmann::json snapshot = nlohmann::json::parse(kSnapshot);
  snapshot["queues"].push_back({{"queue", std::string(text)}, {"waiting", 1}});
  snapshot["error"] = std::string(text);
  const std::string json = snapshot.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string page = sb::wallboard::Page(json);
  constexpr std::string_view kBefore = "const initial = ";
  constexpr std::string_view kAfter = ";\nfunction esc(";
  const size_t from = page.find(kBefore);
  const size_t to = page.rfind(kAfter);
  if (from == std::string::npos || to == std::string::npos || to < from + kBefore.size()) {
    sb::fuzz::Die(kTarget, "page without its inlined snapshot", json.substr(0, 256));
  }
  const std::string inlined = page.substr(from + kBefore.size(), to - from - kBefore.size());
  if (inlined.find("</") != std::string::npos || inlined.find("<!--") != std::string::npos) {
    sb::fuzz::Die(kTarget, "the inlined snapshot can end or unbalance <script>", inlined);
  }
  const nlohmann::json read = nlohmann::json::parse(inlined, nullptr, /*allow_exceptions=*/false);
  if (read != nlohmann::json::parse(json)) {
    sb::fuzz::Die(kTarget, "the inlined snapshot does not read back as the same JSON", inlined);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t inputs = 0;
  if (inputs++ % kLivenessEvery == 0) CheckAlive();
  if (size == 0 || size > sb::fuzz::kMaxInputBytes) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      Wallboard(rest);
      break;
    case 1:
      Metrics(rest);
      break;
    case 2:
      InlinedPage(rest);
      break;
    default:
      GuardedWallboard(rest);
      break;
  }
  return 0;
}
