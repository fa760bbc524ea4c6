// LinesAhead against the lines its regions cover, counted by hand: every line of every row
// handed out once, region by region in the order added and row by row, none outside, all
// within the calls it was told of.
#include "lines_ahead.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace recur {
namespace {

constexpr int kLine = LinesAhead::kLine;

// The lines LinesAhead hands out, as offsets from `base`, `calls` calls at most.
std::vector<long> fetched(LinesAhead& ahead, const char* base, int calls,
                          std::vector<int>* per_call = nullptr) {
  std::vector<long> lines;
  for (int c = 0; c < calls; ++c) {
    int here = 0;
    ahead.issue([&](const char* line) {
      lines.push_back(line - base);
      ++here;
    });
    if (per_call != nullptr) per_call->push_back(here);
  }
  return lines;
}

alignas(64) char memory[1 << 16];

TEST(LinesAhead, HandsOutEachRowsLinesInOrderRegionByRegion) {
  LinesAhead ahead;
  // Two rows of 100 bytes from byte 10, 256 apart: lines [0, 64) and [64, 128) of each row
  // (10..109), at 0 and 256. Then three rows of 64 bytes from byte 1000 (1000..1063 spans
  // the lines at 960 and 1024), 128 apart.
  ASSERT_TRUE(ahead.add(memory + 10, 256, 100, 2));
  ASSERT_TRUE(ahead.add(memory + 1000, 128, 64, 3));
  EXPECT_EQ(ahead.lines(), 2 * 2 + 3 * 2);
  ahead.spread_over(1);
  const std::vector<long> want = {0, 64, 256, 320, 960, 1024, 1088, 1152, 1216, 1280};
  EXPECT_EQ(fetched(ahead, memory, 1), want);
  EXPECT_TRUE(fetched(ahead, memory, 3).empty());  // all handed out: nothing more
}

TEST(LinesAhead, CountsRowsThatLieAcrossLinesUnevenly) {
  LinesAhead ahead;
  // 40-byte rows 40 apart from byte 0: rows at 0, 40, 80, 120 span 1, 2, 1, 2 lines.
  ASSERT_TRUE(ahead.add(memory, 40, 40, 4));
  EXPECT_EQ(ahead.lines(), 6);
  ahead.spread_over(1);
  // 0..39: 0; 40..79: 0, 64; 80..119: 64; 120..159: 64, 128
  const std::vector<long> want = {0, 0, 64, 64, 64, 128};
  EXPECT_EQ(fetched(ahead, memory, 1), want);
  ahead.clear();  // a row whose last byte begins a line: 65 bytes from 0 are in two
  ASSERT_TRUE(ahead.add(memory, 65, 65, 1));
  EXPECT_EQ(ahead.lines(), 2);
  ahead.spread_over(1);
  EXPECT_EQ(fetched(ahead, memory, 1), (std::vector<long>{0, 64}));
}

TEST(LinesAhead, SpreadsItsLinesOverTheCallsItWasToldOf) {
  LinesAhead ahead;
  ASSERT_TRUE(ahead.add(memory, 1024, 1024, 25));  // 16 lines a row, 400 in all
  ahead.spread_over(7);                            // 400 / 7 + 1 = 58 a call
  std::vector<int> per_call;
  const std::vector<long> lines = fetched(ahead, memory, 7, &per_call);
  ASSERT_EQ(lines.size(), 400u);
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], static_cast<long>(i) * kLine);
  for (int c = 0; c < 6; ++c) EXPECT_EQ(per_call[c], 58);
  EXPECT_EQ(per_call[6], 400 - 6 * 58);
}

TEST(LinesAhead, HoldsAtMostItsRegionsAndNothingOnceCleared) {
  LinesAhead ahead;
  for (int r = 0; r < LinesAhead::kMostRegions; ++r) {
    EXPECT_TRUE(ahead.add(memory + r * 4096, 64, 64, 1));
  }
  EXPECT_FALSE(ahead.add(memory, 64, 64, 1));
  EXPECT_EQ(ahead.lines(), LinesAhead::kMostRegions);
  ahead.spread_over(1);
  EXPECT_EQ(fetched(ahead, memory, 1), (std::vector<long>{0, 4096, 8192}));
  ahead.clear();
  EXPECT_EQ(ahead.lines(), 0);
  EXPECT_TRUE(fetched(ahead, memory, 2).empty());
  EXPECT_TRUE(ahead.add(memory, 64, 0, 5));  // an empty region adds nothing
  EXPECT_TRUE(ahead.add(memory, 64, 64, 0));
  EXPECT_EQ(ahead.lines(), 0);
}

TEST(LinesAhead, KeepsTheOrderAddedAcrossRowsWithGaps) {
  LinesAhead ahead;
  // Region 0 from byte 4126: two rows of 80 bytes 200 apart (4126..4205: lines 4096, 4160;
  // 4326..4405: 4288, 4352, the last byte 4405 in 4352). Region 1 from byte 30: three rows of
  // 40 bytes 100 apart (30..69: 0, 64; 130..169: 128; 230..269: 192, 256).
  ASSERT_TRUE(ahead.add(memory + 4126, 200, 80, 2));
  ASSERT_TRUE(ahead.add(memory + 30, 100, 40, 3));
  EXPECT_EQ(ahead.lines(), 4 + 5);
  ahead.spread_over(4);  // 9 / 4 + 1 = 3 a call: the second call crosses into region 1
  std::vector<int> per_call;
  const std::vector<long> want = {4096, 4160, 4288, 4352, 0, 64, 128, 192, 256};
  EXPECT_EQ(fetched(ahead, memory, 4, &per_call), want);
  EXPECT_EQ(per_call, (std::vector<int>{3, 3, 3, 0}));
}

TEST(LinesAhead, FewerLinesThanCallsOneACall) {
  LinesAhead ahead;
  ASSERT_TRUE(ahead.add(memory, 64, 64, 5));
  ahead.spread_over(8);
  std::vector<int> per_call;
  EXPECT_EQ(fetched(ahead, memory, 8, &per_call), (std::vector<long>{0, 64, 128, 192, 256}));
  EXPECT_EQ(per_call, (std::vector<int>{1, 1, 1, 1, 1, 0, 0, 0}));
}

TEST(LinesAhead, EmptyRegionsTakeNoSlot) {
  LinesAhead ahead;
  for (int r = 0; r < LinesAhead::kMostRegions; ++r) {
    EXPECT_TRUE(ahead.add(memory, 64, 0, 3));
    EXPECT_TRUE(ahead.add(memory, 64, 64, 0));
  }
  for (int r = 0; r < LinesAhead::kMostRegions; ++r) {
    EXPECT_TRUE(ahead.add(memory + r * 1024, 64, 64, 1));
  }
  ahead.spread_over(1);
  EXPECT_EQ(fetched(ahead, memory, 1), (std::vector<long>{0, 1024, 2048}));
}

TEST(LinesAhead, ClearedMidRowStartsAfresh) {
  LinesAhead ahead;
  ASSERT_TRUE(ahead.add(memory, 256, 128, 2));  // 2 lines a row, 4 in all
  ahead.spread_over(3);                         // 4 / 3 + 1 = 2 a call
  ASSERT_EQ(fetched(ahead, memory, 1), (std::vector<long>{0, 64}));
  ahead.spread_over(5);  // 4 / 5 + 1 = 1 a call: stop in the second row
  ASSERT_EQ(fetched(ahead, memory, 1), (std::vector<long>{256}));
  ahead.clear();
  ASSERT_TRUE(ahead.add(memory + 8192, 64, 64, 2));
  ahead.spread_over(1);
  EXPECT_EQ(fetched(ahead, memory, 2), (std::vector<long>{8192, 8256}));
}

TEST(LinesAhead, PrefetchesWithoutHarm) {  // the real fetch: a hint, the memory unchanged
  std::vector<char> before(memory, memory + 4096);
  LinesAhead ahead;
  ASSERT_TRUE(ahead.add(memory, 100, 90, 40));
  ahead.spread_over(7);
  for (int c = 0; c < 8; ++c) ahead.issue();
  EXPECT_EQ(std::vector<char>(memory, memory + 4096), before);
  EXPECT_TRUE(fetched(ahead, memory, 1).empty());  // all handed out
}

TEST(LinesAhead, UntoldOfCallsHandsEverythingOutAtOnce) {
  LinesAhead ahead;
  ASSERT_TRUE(ahead.add(memory, 64, 64, 5));
  ahead.spread_over(0);
  EXPECT_EQ(fetched(ahead, memory, 1).size(), 5u);
}

}  // namespace
}  // namespace recur
