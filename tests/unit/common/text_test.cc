// common/text.h: one quoting and one rule per input format for every module.
#include "common/text.h"

#include <gtest/gtest.h>

namespace sb {
namespace {

TEST(TextTest, QuoteEscapesAndCutsAtACharacterBoundary) {
  EXPECT_EQ(Quote("c1"), "\"c1\"");
  EXPECT_EQ(Quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(Quote(std::string(100, 'x')), "\"" + std::string(64, 'x') + "...\"");
  // 63 ASCII bytes, then a 2-byte character that would straddle the 64-byte cut: left out whole.
  EXPECT_EQ(Quote(std::string(63, 'x') + "\xc3\xa9" + "yy"), "\"" + std::string(63, 'x') + "...\"");
}

TEST(TextTest, PhoneIsPlusAndSixToTwentyDigits) {
  EXPECT_TRUE(ValidPhone("+123456"));
  EXPECT_TRUE(ValidPhone("+8613800000000"));
  EXPECT_TRUE(ValidPhone("+" + std::string(20, '9')));
  EXPECT_FALSE(ValidPhone("+12345"));
  EXPECT_FALSE(ValidPhone("+" + std::string(21, '9')));
  EXPECT_FALSE(ValidPhone("13800000000"));  // no country code
  EXPECT_FALSE(ValidPhone("+86 138 0000 0000"));
  EXPECT_FALSE(ValidPhone("+86-13800000000"));
  EXPECT_FALSE(ValidPhone(""));
}

TEST(TextTest, DateIsARealCalendarDay) {
  EXPECT_TRUE(IsDate("2026-12-07"));
  EXPECT_TRUE(IsDate("2024-02-29"));
  EXPECT_TRUE(IsDate("2000-02-29"));
  EXPECT_FALSE(IsDate("1900-02-29"));
  EXPECT_FALSE(IsDate("2026-02-29"));
  EXPECT_FALSE(IsDate("2026-04-31"));
  EXPECT_FALSE(IsDate("2026-13-01"));
  EXPECT_FALSE(IsDate("2026-00-10"));
  EXPECT_FALSE(IsDate("2026-01-00"));
  EXPECT_FALSE(IsDate("2026-1-07"));
  EXPECT_FALSE(IsDate("2026/12/07"));
  EXPECT_FALSE(IsDate("20261207xx"));
}

}  // namespace
}  // namespace sb
