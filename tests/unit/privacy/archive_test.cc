// The archive directory: one line per ended task in the file of its day, never twice, durable
// positions, a line cut by a crash removed, and the right to erasure rewriting only what holds
// the customer.
#include "tools/privacy/archive.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/temp_dir.h"

namespace sb::privacy {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kMarch2 = 1772409600000;  // 2026-03-02T00:00:00Z

pb::FollowUpTaskRecord Ended(const std::string& id, const std::string& customer, int64_t at_ms) {
  pb::FollowUpTaskRecord r;
  r.set_shard(3);
  r.set_epoch(7);
  pb::FollowUpTask* t = r.mutable_task();
  t->set_id(id);
  t->set_state(pb::FOLLOW_UP_STATE_DONE);
  t->set_ended_at_ms(at_ms);
  t->mutable_request()->set_customer_id(customer);
  t->mutable_request()->set_customer_phone("+8613800000000");
  t->mutable_request()->set_note("line one\nline \"two\"");
  return r;
}

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ArchiveTest : public ::testing::Test {
 protected:
  void Open() {
    auto a = ArchiveDir::Open(dir_.string());
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    archive_ = std::move(*a);
    ASSERT_TRUE(archive_->Lock().ok());
  }
  const sb::testing::TempDir tmp_{"sb_archive_"};
  const std::filesystem::path dir_ = tmp_.path() / "archive";
  std::unique_ptr<ArchiveDir> archive_;
};

TEST_F(ArchiveTest, OneLinePerTaskInTheFileOfItsDayAndPositionsAfterIt) {
  Open();
  EXPECT_EQ((std::filesystem::status(dir_).permissions() & std::filesystem::perms::all),
            std::filesystem::perms::owner_all);
  EXPECT_TRUE(archive_->Positions()->empty());
  EXPECT_TRUE(*archive_->Add(Ended("a", "cust-1", kMarch2 + 5)));
  EXPECT_TRUE(*archive_->Add(Ended("b", "cust-2", kMarch2 + kDay - 1)));
  EXPECT_TRUE(*archive_->Add(Ended("c", "cust-1", kMarch2 + kDay)));
  EXPECT_FALSE(*archive_->Add(Ended("a", "cust-1", kMarch2 + 5)));  // read again: not twice
  ASSERT_TRUE(archive_->Commit({{0, 12}, {3, 40}}).ok());
  EXPECT_EQ(ArchiveDir::FileOf(kMarch2), "followups-2026-03-02.jsonl");
  const std::string day1 = Read(dir_ / "followups-2026-03-02.jsonl");
  EXPECT_EQ(std::count(day1.begin(), day1.end(), '\n'), 2);
  const std::string day2 = Read(dir_ / "followups-2026-03-03.jsonl");
  EXPECT_EQ(std::count(day2.begin(), day2.end(), '\n'), 1);
  // Each line reads back as the record it was, newlines in text fields included.
  const std::string first = day1.substr(0, day1.find('\n'));
  Result<pb::FollowUpTaskRecord> back = FromArchiveLine(first);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->SerializeAsString(), Ended("a", "cust-1", kMarch2 + 5).SerializeAsString());
  EXPECT_NE(first.find("\"customer_id\""), std::string::npos);  // the .proto's field names
  // Another process (after Unlock) sees the tasks already there, and the positions.
  archive_.reset();
  Open();
  EXPECT_FALSE(*archive_->Add(Ended("b", "cust-2", kMarch2 + kDay - 1)));
  EXPECT_EQ(*archive_->Positions(), (std::map<int32_t, int64_t>{{0, 12}, {3, 40}}));
}

TEST_F(ArchiveTest, ALineCutByACrashIsRemovedAndWrittenAgain) {
  Open();
  ASSERT_TRUE(*archive_->Add(Ended("a", "cust-1", kMarch2)));
  ASSERT_TRUE(archive_->Commit({}).ok());
  archive_.reset();
  const auto file = dir_ / ArchiveDir::FileOf(kMarch2);
  const std::string line_b = ToArchiveLine(Ended("b", "cust-1", kMarch2));
  std::ofstream(file, std::ios::app) << line_b.substr(0, line_b.size() / 2);  // no newline
  Open();
  EXPECT_TRUE(*archive_->Add(Ended("b", "cust-1", kMarch2)));
  ASSERT_TRUE(archive_->Commit({}).ok());
  const std::string text = Read(file);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_TRUE(text.ends_with(line_b + "\n"));
}

TEST_F(ArchiveTest, EraseRewritesOnlyTheFilesHoldingTheCustomer) {
  Open();
  ASSERT_TRUE(*archive_->Add(Ended("a", "cust-1", kMarch2)));
  ASSERT_TRUE(*archive_->Add(Ended("b", "cust-2", kMarch2)));
  ASSERT_TRUE(*archive_->Add(Ended("c", "cust-1", kMarch2 + kDay)));
  ASSERT_TRUE(*archive_->Add(Ended("d", "cust-3", kMarch2 + 2 * kDay)));
  ASSERT_TRUE(archive_->Commit({}).ok());
  const auto day3 = dir_ / ArchiveDir::FileOf(kMarch2 + 2 * kDay);
  const auto untouched = std::filesystem::last_write_time(day3);
  Result<std::vector<ArchiveDir::Erased>> erased = archive_->EraseCustomer("cust-1");
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  ASSERT_EQ(erased->size(), 2u);
  EXPECT_EQ((*erased)[0].lines, 1);
  EXPECT_TRUE((*erased)[0].file.ends_with("followups-2026-03-02.jsonl"));
  EXPECT_EQ(Read(dir_ / ArchiveDir::FileOf(kMarch2)),
            ToArchiveLine(Ended("b", "cust-2", kMarch2)) + "\n");
  EXPECT_EQ(Read(dir_ / ArchiveDir::FileOf(kMarch2 + kDay)), "");
  EXPECT_EQ(std::filesystem::last_write_time(day3), untouched);
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_FALSE(e.path().string().ends_with(".tmp")) << e.path();
  }
  // Appends after an erasure go to the rewritten files (not to the replaced ones).
  EXPECT_TRUE(*archive_->Add(Ended("e", "cust-2", kMarch2)));
  ASSERT_TRUE(archive_->Commit({}).ok());
  const std::string day1 = Read(dir_ / ArchiveDir::FileOf(kMarch2));
  EXPECT_EQ(std::count(day1.begin(), day1.end(), '\n'), 2);
  EXPECT_TRUE(archive_->EraseCustomer("nobody")->empty());
}

TEST_F(ArchiveTest, ALineThatIsNotARecordStopsEverythingNamingFileAndLine) {
  Open();
  ASSERT_TRUE(*archive_->Add(Ended("a", "cust-1", kMarch2)));
  ASSERT_TRUE(archive_->Commit({}).ok());
  const auto file = dir_ / ArchiveDir::FileOf(kMarch2);
  std::ofstream(file, std::ios::app) << "{not json\n";
  const std::string before = Read(file);
  Result<std::vector<ArchiveDir::Erased>> erased = archive_->EraseCustomer("cust-1");
  ASSERT_FALSE(erased.ok());
  EXPECT_NE(erased.status().message().find("followups-2026-03-02.jsonl:2"), std::string::npos)
      << erased.status().ToString();
  EXPECT_EQ(Read(file), before);
  EXPECT_FALSE(archive_->Add(Ended("z", "cust-9", kMarch2)).ok());
  std::ofstream(dir_ / "positions") << "0 12\nbogus\n";
  EXPECT_FALSE(archive_->Positions().ok());
}

TEST(ArchiveDirTest, APathThatIsAFileIsRefused) {
  const sb::testing::TempDir tmp("sb_archive_");
  std::ofstream(tmp.path() / "file") << "x";
  auto a = ArchiveDir::Open((tmp.path() / "file").string());
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("not a directory"), std::string::npos);
}

}  // namespace
}  // namespace sb::privacy
