// Randomized property test: 100k random events over 500 agents; after every event the engine
// agrees with an independent model (nothing lost, nothing offered twice, nobody over capacity,
// no ineligible offer, nothing passed over beyond the aging bound).
#include "unit/engine/random_world.h"

namespace sb::engine::testing {
namespace {

TEST(EnginePropertyTest, HundredThousandRandomEventsKeepEveryInvariant) {
  ManualClock clock(1'700'000'000'000);
  auto engine = Engine::Create(RandomWorldConfig(), &clock);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  RandomWorld world(/*seed=*/20261122, /*agents=*/500, &clock);
  for (int i = 0; i < 100'000; ++i) {
    ASSERT_NO_FATAL_FAILURE(world.Step(engine->get())) << "event " << i;
    ASSERT_NO_FATAL_FAILURE(world.CheckAgainst(**engine, /*full=*/i % 100 == 0)) << "event " << i;
  }
  // The run must have exercised the engine, or it proves nothing.
  EXPECT_GT(world.offers(), 20'000u);
  EXPECT_GT(world.terminal(), 10'000u);
  EXPECT_GT(world.accepts(), 10'000u);
  EXPECT_EQ(world.connections(), world.accepts());
}

// Same events, same decisions: an engine restored from a snapshot taken mid-run decides exactly
// like the one that kept running.
TEST(EngineDeterminismTest, RestoredEngineDecidesLikeTheOriginal) {
  ManualClock clock(1'700'000'000'000);
  auto original = Engine::Create(RandomWorldConfig(), &clock);
  ASSERT_TRUE(original.ok());
  RandomWorld world(/*seed=*/7, /*agents=*/200, &clock);
  for (int i = 0; i < 20'000; ++i) ASSERT_NO_FATAL_FAILURE(world.Step(original->get()));
  const pb::EngineState snapshot = (*original)->ExportState();
  ASSERT_GT(snapshot.contacts_size(), 10);

  // Round trip through bytes, as the state store will.
  pb::EngineState parsed;
  ASSERT_TRUE(parsed.ParseFromString(snapshot.SerializeAsString()));
  ManualClock restored_clock(clock.NowMs());
  auto restored = Engine::Restore(RandomWorldConfig(), &restored_clock, parsed);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(Diff((*restored)->ExportState(), snapshot), "")
      << "restore then export must give the snapshot back";

  const size_t start = world.log().size();
  for (int i = 0; i < 20'000; ++i) ASSERT_NO_FATAL_FAILURE(world.Step(original->get()));
  ASSERT_NO_FATAL_FAILURE(world.Replay(start, restored->get(), &restored_clock));
  EXPECT_EQ(Diff((*restored)->ExportState(), (*original)->ExportState()), "");
}

}  // namespace
}  // namespace sb::engine::testing
