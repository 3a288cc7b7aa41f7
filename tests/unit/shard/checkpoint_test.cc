// The local checkpoint of a shard in a real RocksDB (temp dir): what SaveCheckpoint writes loads
// back, a checkpoint the log no longer holds is ignored, a malformed one is named, never thrown.
#include "router/shard/checkpoint.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/temp_dir.h"

namespace sb::shard {
namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::Store::Open((tmp_.path() / "store").string(), {});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  Result<ChangelogState> Load(LogRange log = {0, 100}) {
    return LoadCheckpoint(*store_, "store", 0, log);
  }

  const testing::TempDir tmp_{"sb_checkpoint_"};
  std::unique_ptr<store::Store> store_;
};

TEST_F(CheckpointTest, ASavedCheckpointLoadsBack) {
  pb::EngineState engine;
  engine.add_agents()->mutable_agent()->set_id("a1");
  pb::ShardMeta meta;
  meta.set_next_seq(7);
  ASSERT_TRUE(SaveCheckpoint(store_.get(), engine, meta, 3, 41, nullptr).ok());
  auto state = Load();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->epoch(), 3u);
  EXPECT_EQ(state->next_offset(), 42);
  auto restored = state->ToEngineState();
  ASSERT_TRUE(restored.ok());
  ASSERT_EQ(restored->agents_size(), 1);
  EXPECT_EQ(restored->agents(0).agent().id(), "a1");
  EXPECT_EQ(restored->next_seq(), 7u);
}

TEST_F(CheckpointTest, ACheckpointTheLogNoLongerHoldsIsIgnored) {
  ASSERT_TRUE(SaveCheckpoint(store_.get(), {}, {}, 3, 41, nullptr).ok());
  auto state = Load({50, 100});
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->next_offset(), 0);
  EXPECT_EQ(state->epoch(), 0u);
}

// Found by checkpoint_fuzz: the stored epoch was read with std::stoull, which threw (the shard
// died) on a value without digits and took "3x" for 3 and "-1" for the largest epoch.
TEST_F(CheckpointTest, AMalformedEpochIsNamed) {
  for (const std::string bad : {"", "x3", "3x", "-1", " 3", "18446744073709551616"}) {
    ASSERT_TRUE(SaveCheckpoint(store_.get(), {}, {}, 3, 41, nullptr).ok());
    store::Batch batch = store_->NewBatch();
    batch.PutMeta("shard_epoch", bad);
    ASSERT_TRUE(store_->Commit(std::move(batch)).ok());
    auto state = Load();
    ASSERT_FALSE(state.ok()) << "epoch \"" << bad << "\" was taken";
    EXPECT_EQ(state.status().code(), Code::kFailedPrecondition);
    EXPECT_NE(state.status().message().find("malformed epoch"), std::string::npos)
        << state.status().message();
  }
}

}  // namespace
}  // namespace sb::shard
