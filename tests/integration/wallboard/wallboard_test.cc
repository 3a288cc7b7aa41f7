// The wallboard server on a loopback port, fed by a StatsView the test fills by hand.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "router/wallboard/server.h"
#include "router/wallboard/snapshot.h"

namespace sb::wallboard {
namespace {

namespace pb = ::switchboard::v1;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Live(int64_t epoch, uint32_t waiting, uint32_t overdue) {
  pb::ShardLive s;
  s.set_shard(0);
  s.set_epoch(epoch);
  s.set_at_ms(NowMs());
  auto* q = s.add_queues();
  q->set_queue("d00.general");
  q->set_domain("d00");
  q->set_waiting(waiting);
  q->set_oldest_wait_s(12.5);
  q->set_estimated_wait_s(-1);
  q->set_sl_threshold_s(20);
  q->set_sl_target(0.8);
  q->mutable_today()->set_offered(10);
  q->mutable_today()->set_answered(9);
  q->mutable_today()->set_answered_within_sl(9);
  auto* d = s.add_domains();
  d->set_domain("d00");
  auto* a = d->add_agents();
  a->set_state("ready");
  a->set_agents(3);
  a = d->add_agents();
  a->set_state("busy");
  a->set_agents(2);
  auto* f = s.add_followups();
  f->set_kind("callback");
  f->set_pending(4);
  f->set_overdue(overdue);
  return s.SerializeAsString();
}

// The view the server reads, changed by the test between requests.
struct HandFed {
  std::mutex mu;
  stats::StatsView view;
  int64_t epoch = 1;
  void Set(uint32_t waiting, uint32_t overdue) {
    std::lock_guard<std::mutex> lock(mu);
    (void)view.Apply("live/0", Live(++epoch, waiting, overdue), {0, epoch});
  }
  std::string Json() {
    std::lock_guard<std::mutex> lock(mu);
    return Snapshot(view, NowMs()).dump();
  }
};

// Sends `request` raw and returns everything read until the server closes or `until` appears.
std::string Exchange(int port, const std::string& request, const std::string& until = "",
                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  net::write(sock, net::buffer(request));
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  sock.non_blocking(true);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    boost::system::error_code ec;
    const size_t n = sock.read_some(net::buffer(buf), ec);
    if (ec == net::error::would_block) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (ec) break;
    got.append(buf, n);
    if (!until.empty() && got.find(until) != std::string::npos) break;
  }
  return got;
}

std::string Get(int port, const std::string& path) {
  return Exchange(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

std::string Body(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

class WallboardServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fed_.Set(7, 0);
    ServerOptions o;
    o.bind = "127.0.0.1";
    o.port = 0;
    o.push_interval_ms = 100;
    o.max_connections = 4;
    o.sse_events_per_connection = 1000;
    auto s = Server::Start(o, [this] { return fed_.Json(); });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
  }
  HandFed fed_;
  std::unique_ptr<Server> server_;
};

TEST_F(WallboardServerTest, DataIsTheSnapshotJson) {
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(server_->port()) + "/wallboard");
  const std::string r = Get(server_->port(), "/wallboard/data");
  ASSERT_TRUE(r.starts_with("HTTP/1.1 200")) << r;
  EXPECT_NE(r.find("application/json"), std::string::npos);
  const json j = json::parse(Body(r));
  ASSERT_EQ(j["queues"].size(), 1u);
  const json& q = j["queues"][0];
  EXPECT_EQ(q["queue"], "d00.general");
  EXPECT_EQ(q["waiting"], 7);
  EXPECT_DOUBLE_EQ(q["oldest_wait_s"].get<double>(), 12.5);
  EXPECT_TRUE(q["estimated_wait_s"].is_null());  // -1: unknown
  EXPECT_DOUBLE_EQ(q["sl_today"].get<double>(), 1.0);
  EXPECT_EQ(q["sl_ok"], true);
  EXPECT_EQ(j["domains"][0]["agents"]["ready"], 3);
  EXPECT_EQ(j["domains"][0]["agents_total"], 5);
  EXPECT_EQ(j["totals"]["waiting"], 7);
  EXPECT_EQ(j["totals"]["offered_today"], 10);
  EXPECT_EQ(j["totals"]["agents"], 5);
  EXPECT_EQ(j["totals"]["followups_overdue"], 0);
  EXPECT_EQ(j["shards_fresh"], 1);
  EXPECT_TRUE(j["error"].is_null());
}

TEST_F(WallboardServerTest, PageIsSelfContainedWithTheSnapshotInlined) {
  const std::string r = Get(server_->port(), "/wallboard");
  ASSERT_TRUE(r.starts_with("HTTP/1.1 200")) << r.substr(0, 200);
  EXPECT_NE(r.find("text/html"), std::string::npos);
  const std::string body = Body(r);
  EXPECT_NE(body.find("data-testid=\"total-waiting\""), std::string::npos);
  EXPECT_NE(body.find("\"d00.general\""), std::string::npos);
  EXPECT_NE(body.find("new EventSource('/wallboard/events')"), std::string::npos);
  EXPECT_EQ(body.find("http://"), std::string::npos);  // no external assets
  EXPECT_EQ(body.find("https://"), std::string::npos);
}

TEST_F(WallboardServerTest, EventsPushFreshSnapshots) {
  // The first event is sent at once, the next ones every push interval: change the view between.
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_->port())});
  net::write(sock, net::buffer(std::string("GET /wallboard/events HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string got;
  std::vector<json> events;
  // Reads what the socket has and parses every complete event in it.
  auto read_events = [&] {
    char buf[8192];
    const size_t n = sock.read_some(net::buffer(buf));
    got.append(buf, n);
    size_t at;
    while ((at = got.find("data: ")) != std::string::npos) {
      const size_t end = got.find("\n\n", at);
      if (end == std::string::npos) break;
      events.push_back(json::parse(got.substr(at + 6, end - at - 6)));
      got.erase(0, end + 2);
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (events.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    const bool first = events.empty();
    read_events();
    if (first && !events.empty()) fed_.Set(9, 2);  // changed once the first event came
  }
  ASSERT_GE(events.size(), 2u) << got;
  EXPECT_EQ(events[0]["totals"]["waiting"], 7);
  // Events pushed before the change reached the snapshot may repeat the first; wait for the new.
  while (events.back()["totals"]["waiting"] != 9 && std::chrono::steady_clock::now() < deadline) {
    read_events();
  }
  EXPECT_EQ(events.back()["totals"]["waiting"], 9);
  EXPECT_EQ(events.back()["totals"]["followups_overdue"], 2);
}

TEST(WallboardStreamTest, EventStreamEndsAfterItsEventCountForTheBrowserToReconnect) {
  HandFed fed;
  fed.Set(1, 0);
  ServerOptions o;
  o.bind = "127.0.0.1";
  o.push_interval_ms = 50;
  o.sse_events_per_connection = 3;
  auto s = Server::Start(o, [&fed] { return fed.Json(); });
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  // Exchange reads until the server closes.
  const std::string r = Exchange((*s)->port(), "GET /wallboard/events HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(r.find("retry: 1000\n"), std::string::npos);
  size_t events = 0;
  for (size_t at = r.find("data: "); at != std::string::npos; at = r.find("data: ", at + 1)) {
    ++events;
  }
  EXPECT_EQ(events, 3u) << r;
}

TEST_F(WallboardServerTest, UnknownPathsBadRequestsAndOtherMethods) {
  EXPECT_TRUE(Get(server_->port(), "/nope").starts_with("HTTP/1.1 404"));
  EXPECT_TRUE(Get(server_->port(), "/wallboard/data/../../etc").starts_with("HTTP/1.1 404"));
  EXPECT_TRUE(Exchange(server_->port(), "GARBAGE\r\n\r\n").starts_with("HTTP/1.1 400"));
  EXPECT_TRUE(Exchange(server_->port(), "GET nopath HTTP/1.1\r\nHost: x\r\n\r\n")
                  .starts_with("HTTP/1.1 400"));
  EXPECT_TRUE(
      Exchange(server_->port(), "POST /wallboard HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
          .starts_with("HTTP/1.1 405"));
  const std::string huge = "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_TRUE(Exchange(server_->port(), huge).starts_with("HTTP/1.1 400"));
  // Still serving after all that.
  EXPECT_TRUE(Get(server_->port(), "/wallboard/data").starts_with("HTTP/1.1 200"));
}

TEST_F(WallboardServerTest, ConnectionsAreBounded) {
  net::io_context ioc;
  std::vector<std::unique_ptr<tcp::socket>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<tcp::socket>(ioc));
    held.back()->connect(
        {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_->port())});
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(Get(server_->port(), "/wallboard/data").starts_with("HTTP/1.1 503"));
  held.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(Get(server_->port(), "/wallboard/data").starts_with("HTTP/1.1 200"));
}

// Off loopback the wallboard takes a token: from the query (which sets an HttpOnly cookie for
// the page's event stream), the cookie, or a Bearer header; without one, or with an unknown one,
// 401 and nothing of the data.
TEST(WallboardTokenTest, EveryRequestNeedsATokenTheAuthorizerAccepts) {
  HandFed fed;
  fed.Set(1, 0);
  ServerOptions o;
  o.bind = "127.0.0.1";
  o.authorize = [](std::string_view token) { return token == "good-token"; };
  auto s = Server::Start(o, [&fed] { return fed.Json(); });
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const int port = (*s)->port();
  for (const char* path : {"/wallboard", "/wallboard/data", "/wallboard/events",
                           "/wallboard/data?token=bad-token", "/wallboard?token="}) {
    const std::string r = Get(port, path);
    EXPECT_TRUE(r.starts_with("HTTP/1.1 401")) << path << ": " << r.substr(0, 80);
    EXPECT_EQ(r.find("\"queues\""), std::string::npos) << path;
  }
  const std::string page = Get(port, "/wallboard?token=good-token");
  EXPECT_TRUE(page.starts_with("HTTP/1.1 200")) << page.substr(0, 80);
  EXPECT_NE(page.find("Set-Cookie: sb_wallboard=good-token; Path=/wallboard; HttpOnly; "
                      "SameSite=Strict"),
            std::string::npos)
      << page.substr(0, 400);
  EXPECT_TRUE(Exchange(port,
                       "GET /wallboard/data HTTP/1.1\r\nHost: x\r\nCookie: theme=dark; "
                       "sb_wallboard=good-token\r\nConnection: close\r\n\r\n")
                  .starts_with("HTTP/1.1 200"));
  EXPECT_TRUE(Exchange(port,
                       "GET /wallboard/data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                       "good-token\r\nConnection: close\r\n\r\n")
                  .starts_with("HTTP/1.1 200"));
  EXPECT_TRUE(Exchange(port,
                       "GET /wallboard/data HTTP/1.1\r\nHost: x\r\nCookie: "
                       "sb_wallboard=good-token x\r\nConnection: close\r\n\r\n")
                  .starts_with("HTTP/1.1 401"));
}

}  // namespace
}  // namespace sb::wallboard
