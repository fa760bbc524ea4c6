// PartShares and PartSplit against hand-worked splits and a model of parts whose times are
// known: t = a + b rows, with a per part for the weights every step streams whatever its rows,
// and b per row, larger on a slower thread. The split that ends both parts together solves
// a + b0 x = a + b1 (units - x) by hand.
#include "part_split.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
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

TEST(PartShares, AWeightIsHeldAtFiveTimesTheMean) {
  PartShares shares;
  constexpr int kParts = PartShares::kMostParts;
  double seconds[kParts];
  for (double& s : seconds) s = 100.0;
  seconds[0] = 1.0;
  for (int run = 0; run < 100; ++run) shares.update(kParts, seconds);
  EXPECT_EQ(shares.weight(kParts, 0), 5.0);
  for (int p = 1; p < kParts; ++p) EXPECT_EQ(shares.weight(kParts, p), 0.2);
}

// For shares learned from any times, the cuts rise, give each part `least` rows or more, and
// end at the units: checked over random times, part counts and sizes.
TEST(PartSplit, AnySharesCutInOrderWithLeastEach) {
  std::uint32_t state = 12345;
  const auto next = [&] { return state = state * 1664525u + 1013904223u; };
  for (int trial = 0; trial < 500; ++trial) {
    const int parts = 2 + static_cast<int>(next() % 7), least = 1 + static_cast<int>(next() % 9);
    const int units = parts * least + static_cast<int>(next() % 200);
    PartShares shares;
    double seconds[PartShares::kMostParts];
    for (int run = 0; run < static_cast<int>(next() % 40); ++run) {
      for (int p = 0; p < parts; ++p) seconds[p] = 0.001 * (1 + next() % 1000);
      shares.update(parts, seconds);
    }
    const PartSplit split(shares, parts, units, least);
    EXPECT_EQ(split.begin(0), 0);
    EXPECT_EQ(split.begin(parts), units);
    for (int p = 0; p < parts; ++p) {
      EXPECT_GE(split.begin(p + 1) - split.begin(p), least) << trial << ": part " << p;
    }
  }
}

TEST(PartShares, NonFiniteTimesChangeNothing) {
  PartShares shares;
  const double infinite[] = {1.0, std::numeric_limits<double>::infinity()};
  shares.update(2, infinite);
  const double nan[] = {std::numeric_limits<double>::quiet_NaN(), 1.0};
  shares.update(2, nan);
  EXPECT_EQ(shares.weight(2, 0), 1.0);
  EXPECT_EQ(shares.weight(2, 1), 1.0);
}

// A cut held back to give a part `least` rows learns nothing: 16 rows in two parts are cut 8
// and 8 whatever the times, and the shares stop where the next cut would need the clamp.
TEST(PartSplit, ACutHeldAtLeastLearnsNothing) {
  const int saved = threads();
  set_threads(2);
  PartShares shares;
  const auto body = [](int, int b0, int) {
    volatile double sink = 0;
    for (int i = 0; i < (b0 == 0 ? 10000 : 300000); ++i) sink = sink + i;
  };
  for (int run = 0; run < 30; ++run) {
    const PartSplit split(shares, 2, 16, 8);
    EXPECT_EQ(split.begin(1), 8);
    PartSplit(shares, 2, 16, 8).run(body);
  }
  // Part 0 ran far faster, and its share grew while the cut it asked for stayed 8 (a share
  // under 8.5 / 16), then by one run's most at the last: weights' ratio times 1.25 / 0.8.
  const double share = shares.weight(2, 0) / (shares.weight(2, 0) + shares.weight(2, 1));
  const double most_ratio = 8.5 / 7.5 * (1.25 / 0.8);
  EXPECT_GT(share, 0.5);
  EXPECT_LT(share, most_ratio / (1 + most_ratio));
  set_threads(saved);
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

// run() hands each unit to exactly one part, with its number, through the pool where there
// are threads, and learns from the parts' times only then.
TEST(PartSplit, RunCoversEveryUnitOnceAndLearnsFromPooledRuns) {
  const int saved = threads();
  set_threads(2);
  PartShares shares;
  std::vector<std::atomic<int>> seen(64);
  std::atomic<int> misnamed{0};
  const auto body = [&](int part, int b0, int b1) {
    if ((part == 0) != (b0 == 0)) misnamed.fetch_add(1);  // each part told its own number
    for (int b = b0; b < b1; ++b) seen[b].fetch_add(1);
    volatile double sink = 0;  // part 1 runs for milliseconds: a preempted part 0 stays shorter
    for (int i = 0; i < (b0 == 0 ? 10000 : 3000000); ++i) sink = sink + i;
  };
  PartSplit(shares, 2, 64, 8).run(body);
  for (const auto& s : seen) EXPECT_EQ(s.load(), 1);
  EXPECT_GT(shares.weight(2, 0), 1.0);  // part 1 ran far longer
  // Parts run one after another on this thread (inside another part): nothing learned.
  const InlineParts inside(true);
  PartShares inline_shares;
  PartSplit(inline_shares, 2, 64, 8).run(body);
  for (const auto& s : seen) EXPECT_EQ(s.load(), 2);
  EXPECT_EQ(inline_shares.weight(2, 0), 1.0);
  EXPECT_EQ(misnamed.load(), 0);
  set_threads(saved);
}

}  // namespace
}  // namespace recur
