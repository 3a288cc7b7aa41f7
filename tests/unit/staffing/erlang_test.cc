// Erlang C / Erlang A against the textbook, against each other, and at scale.
#include "tools/staffing/erlang.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

namespace sb::erlang {
namespace {

Load Textbook() {
  Load l;
  l.arrivals_per_hour = 200;  // 100 contacts per 30 minutes
  l.aht_s = 180;
  l.threshold_s = 20;
  return l;
}

TEST(ErlangCTest, TextbookCase) {
  const auto p = Predict(Textbook(), 14);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_NEAR(p->p_wait, 0.1741, 0.00005);
  EXPECT_NEAR(p->service_level, 0.8884, 0.00005);
  EXPECT_NEAR(p->asa_s, 7.84, 0.005);
  EXPECT_NEAR(p->occupancy, 0.714, 0.0005);
  EXPECT_EQ(p->abandon_rate, 0);
  EXPECT_DOUBLE_EQ(p->offered_erlangs, 10);
}

TEST(ErlangCTest, RequiredAgentsIsTheSmallestCountMeetingTheTarget) {
  const auto p = RequiredAgents(Textbook(), {.service_level = 0.8});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->agents, 14);
  EXPECT_LT(Predict(Textbook(), 13)->service_level, 0.8);
  // An ASA target or an occupancy cap can only add agents.
  EXPECT_EQ(RequiredAgents(Textbook(), {.service_level = 0.8, .max_asa_s = 5})->agents, 15);
  EXPECT_EQ(RequiredAgents(Textbook(), {.service_level = 0.8, .max_occupancy = 0.6})->agents, 17);
}

TEST(ErlangCTest, UnstableAndBadInputAreErrorsNamingTheField) {
  EXPECT_NE(Predict(Textbook(), 10).status().message().find("unstable"), std::string::npos);
  Load bad = Textbook();
  bad.arrivals_per_hour = -5;
  EXPECT_EQ(Predict(bad, 14).status().message(),
            "arrivals_per_hour: must be positive and at most 1e+09 (got -5)");
  bad = Textbook();
  bad.aht_s = NAN;
  EXPECT_EQ(Predict(bad, 14).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Predict(Textbook(), 0).status().code(), Code::kInvalidArgument);
  EXPECT_NE(RequiredAgents(Textbook(), {.service_level = 1.0}).status().message().find("target_sl"),
            std::string::npos);
}

TEST(ErlangCTest, ThousandsOfAgentsStayFiniteAndFast) {
  Load l = Textbook();
  l.arrivals_per_hour = 200000;  // 10,000 erlangs
  const auto start = std::chrono::steady_clock::now();
  const auto p = RequiredAgents(l, {.service_level = 0.8});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_GT(p->agents, 10000);
  EXPECT_LT(p->agents, 10100);
  EXPECT_TRUE(std::isfinite(p->asa_s));
  EXPECT_GE(p->service_level, 0.8);
  // Generous: a factorial-based or per-step O(N²) method would take far longer (or overflow).
  EXPECT_LT(seconds, 30);
  // More agents never hurt.
  double last = 0;
  for (int n = 10001; n < 10100; n += 7) {
    const double sl = Predict(l, n)->service_level;
    EXPECT_GE(sl, last);
    last = sl;
  }
}

TEST(ErlangATest, BecomesErlangCAsPatienceGrows) {
  Load a = Textbook();
  a.patience_s = 2e6;  // ~23 days: nobody leaves in practice
  const auto pa = Predict(a, 14);
  const auto pc = Predict(Textbook(), 14);
  ASSERT_TRUE(pa.ok()) << pa.status().ToString();
  EXPECT_NEAR(pa->p_wait, pc->p_wait, 1e-4);
  EXPECT_NEAR(pa->service_level, pc->service_level, 1e-4);
  EXPECT_NEAR(pa->asa_s, pc->asa_s, 0.02);
  EXPECT_LT(pa->abandon_rate, 1e-4);
}

TEST(ErlangATest, StableWhenOverloadedAndAbandonmentCarriesTheExcess) {
  Load l = Textbook();
  l.arrivals_per_hour = 400;  // 20 erlangs on 14 agents
  l.patience_s = 60;
  const auto p = Predict(l, 14);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  // Flow balance: what is answered is what the agents carry.
  const double carried = (1 - p->abandon_rate) * p->offered_erlangs;
  EXPECT_NEAR(carried, p->occupancy * 14, 1e-6);
  EXPECT_GT(p->abandon_rate, 0.25);  // at least the excess 6/20 must leave, minus idle time
  EXPECT_LT(p->abandon_rate, 0.5);
  EXPECT_GT(p->occupancy, 0.95);
}

// An independent computation of Erlang A's abandonment: the birth-death balance equations
// solved by plain forward recursion in double precision (fine at this small size).
TEST(ErlangATest, AbandonmentMatchesDirectBalanceEquations) {
  const double lambda = 250 / 3600.0, mu = 1 / 180.0, gamma = 1 / 120.0;
  const int n = 14;
  std::vector<double> pi{1.0};
  for (int k = 1; k < 2000; ++k) {
    const double death = std::min(k, n) * mu + std::max(k - n, 0) * gamma;
    pi.push_back(pi.back() * lambda / death);
  }
  double total = 0, queued = 0, waiting = 0;
  for (int k = 0; k < static_cast<int>(pi.size()); ++k) {
    total += pi[k];
    queued += std::max(k - n, 0) * pi[k];
    if (k >= n) waiting += pi[k];
  }
  Load l;
  l.arrivals_per_hour = 250;
  l.aht_s = 180;
  l.patience_s = 120;
  const auto p = Predict(l, n);
  ASSERT_TRUE(p.ok());
  EXPECT_NEAR(p->abandon_rate, gamma * queued / total / lambda, 1e-9);
  EXPECT_NEAR(p->p_wait, waiting / total, 1e-9);
  // Service level and ASA checked against the simulator in tests/integration/sim; here, bounds:
  EXPECT_GT(p->service_level, 1 - p->p_wait);
  EXPECT_LT(p->service_level, 1 - p->abandon_rate);
}

TEST(ErlangATest, LargeSystemsStayFinite) {
  Load l;
  l.arrivals_per_hour = 400000;  // 20,000 erlangs
  l.aht_s = 180;
  l.patience_s = 300;
  const auto p = Predict(l, 20000);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(std::isfinite(p->service_level) && std::isfinite(p->asa_s));
  EXPECT_GT(p->abandon_rate, 0);
  EXPECT_LT(p->abandon_rate, 0.05);
}

}  // namespace
}  // namespace sb::erlang
