// PartShares and PartSplit against hand-worked splits and a model of parts whose times are
// known: t = a + b rows, with a per part for the weights every step streams whatever its rows,
// and b per row, larger on a slower thread. The split that ends both parts together solves
// a + b0 x = a + b1 (units - x) by hand.
#include "part_split.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "recur/threads.hpp"

namespace recur {
namespace {

std::vector<int> bounds(const PartSplit& split) {
  std::vector<int> out;
  for (int p = 0; p <= split.parts(); ++p) out.push_back(split.begin(p));
  return out;
}

TEST(PartSplit, EvenUntilTimed) {
  PartShares shares;
  EXPECT_EQ(bounds(PartSplit(shares, 2, 64, 8)), (std::vector<int>{0, 32, 64}));
  EXPECT_EQ(bounds(PartSplit(shares, 3, 45, 8)), (std::vector<int>{0, 15, 30, 45}));
  EXPECT_EQ(bounds(PartSplit(shares, 1, 7, 8)), (std::vector<int>{0, 7}));
  // More parts than can have `least` each, or than kMostParts: even, as before shares.
  EXPECT_EQ(bounds(PartSplit(shares, 3, 20, 8)), (std::vector<int>{0, 6, 13, 20}));
  const int many = PartShares::kMostParts + 1;
  const PartSplit wide(shares, many, 10 * many, 1);
  for (int p = 0; p <= many; ++p) EXPECT_EQ(wide.begin(p), 10 * p);
}

TEST(PartShares, TheSlowerPartLosesWeightByTheSquareRootOfItsTimes) {
  PartShares shares;
  const double seconds[] = {1.0, 1.21};  // mean 1.105
  shares.update(2, seconds);
  const double w0 = std::sqrt(1.105 / 1.0), w1 = std::sqrt(1.105 / 1.21);
  EXPECT_NEAR(shares.weight(2, 0), 2 * w0 / (w0 + w1), 1e-12);
  EXPECT_NEAR(shares.weight(2, 1), 2 * w1 / (w0 + w1), 1e-12);
  EXPECT_GT(PartSplit(shares, 2, 64, 8).begin(1), 32);  // the faster part 0 takes more rows
}

TEST(PartShares, AFactorIsHeldWithinAQuarterAndWeightsWithinBounds) {
  PartShares shares;
  const double preempted[] = {1.0, 100.0};
  shares.update(2, preempted);
  EXPECT_NEAR(shares.weight(2, 0) / shares.weight(2, 1), 1.25 * 1.25, 1e-12);
  for (int run = 0; run < 100; ++run) shares.update(2, preempted);
  EXPECT_LE(shares.weight(2, 0), 5.0);
  EXPECT_EQ(shares.weight(2, 1), 0.2);
  // However lopsided, each part keeps `least` rows.
  EXPECT_EQ(bounds(PartSplit(shares, 2, 20, 8)), (std::vector<int>{0, 12, 20}));
}

TEST(PartShares, UnmeasuredRunsAndNewCountsStartOver) {
  PartShares shares;
  const double unmeasured[] = {1.0, 0.0};
  shares.update(2, unmeasured);
  EXPECT_EQ(shares.weight(2, 0), 1.0);
  const double seconds[] = {1.0, 2.0};
  shares.update(2, seconds);
  EXPECT_NE(shares.weight(2, 0), 1.0);
  EXPECT_EQ(shares.weight(3, 0), 1.0);  // weights are for the count they were learned at
  const double three[] = {1.0, 1.0, 1.0};
  shares.update(3, three);
  EXPECT_EQ(shares.weight(2, 0), 1.0);
  EXPECT_NEAR(shares.weight(3, 2), 1.0, 1e-12);
}

// Parts of a + b_p rows each: the shares settle where both end together, to within a row.
TEST(PartShares, SettleWhereModelledPartsEndTogether) {
  struct Case {
    double a, b0, b1;
    int units;
  };
  for (const Case& c : {Case{1.0, 0.05, 0.065, 64}, Case{3.0, 0.05, 0.04, 64},
                        Case{0.0, 1.0, 1.3, 45}, Case{0.5, 0.2, 0.2, 32}}) {
    PartShares shares;
    int cut = 0;
    for (int run = 0; run < 60; ++run) {
      const PartSplit split(shares, 2, c.units, 8);
      cut = split.begin(1);
      const double seconds[] = {c.a + c.b0 * cut, c.a + c.b1 * (c.units - cut)};
      shares.update(2, seconds);
    }
    const double equal = c.units * c.b1 / (c.b0 + c.b1);  // a + b0 x = a + b1 (units - x)
    EXPECT_LE(std::abs(cut - equal), 1.0) << c.a << " " << c.b0 << " " << c.b1;
  }
}

// run() hands each unit to exactly one part, through the pool where there are threads, and
// learns from the parts' times only then.
TEST(PartSplit, RunCoversEveryUnitOnceAndLearnsFromPooledRuns) {
  const int saved = threads();
  set_threads(2);
  PartShares shares;
  std::vector<std::atomic<int>> seen(64);
  const auto body = [&](int b0, int b1) {
    for (int b = b0; b < b1; ++b) seen[b].fetch_add(1);
    volatile double sink = 0;  // time enough for the clock to see
    for (int i = 0; i < 20000 * (b0 == 0 ? 1 : 10); ++i) sink = sink + i;
  };
  PartSplit(shares, 2, 64, 8).run(body);
  for (const auto& s : seen) EXPECT_EQ(s.load(), 1);
  EXPECT_GT(shares.weight(2, 0), 1.0);  // part 1 ran ten times as long
  // Parts run one after another on this thread (inside another part): nothing learned.
  const InlineParts inside(true);
  PartShares inline_shares;
  PartSplit(inline_shares, 2, 64, 8).run(body);
  for (const auto& s : seen) EXPECT_EQ(s.load(), 2);
  EXPECT_EQ(inline_shares.weight(2, 0), 1.0);
  set_threads(saved);
}

}  // namespace
}  // namespace recur
