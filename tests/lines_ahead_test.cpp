// LinesAhead against the lines its regions cover, counted by hand: every line of every row
// handed out once, region by region and row by row in order, none outside, spread evenly
// over the calls it was told of.
#include "lines_ahead.hpp"

#include <gtest/gtest.h>

#include <cstdint>
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

TEST(LinesAhead, UntoldOfCallsHandsEverythingOutAtOnce) {
  LinesAhead ahead;
  ASSERT_TRUE(ahead.add(memory, 64, 64, 5));
  ahead.spread_over(0);
  EXPECT_EQ(fetched(ahead, memory, 1).size(), 5u);
}

}  // namespace
}  // namespace recur
