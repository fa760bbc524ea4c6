// From tables to sequences, windows, normalisation and padded batches, against hand-built ones.
#include "recur/dataset.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "recur/error.hpp"

namespace recur {
namespace {

const char* kTable =
    "id,x,y\n"
    "a,1,10\n"
    "a,2,20\n"
    "a,3,30\n"
    "b,4,40\n"
    "b,5,50\n";

TEST(Dataset, SplitsBySequenceColumn) {
  const CsvTable t = parse_csv(kTable, "d.csv");
  const auto seqs = build_sequences(t, {{"x"}, {"y"}, "id", false, 0, 0});
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_EQ(seqs[0].id, "a");
  EXPECT_EQ(seqs[0].length, 3);
  EXPECT_EQ(seqs[0].inputs, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(seqs[0].targets, (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(seqs[1].first_line, 5);
}

TEST(Dataset, ForecastTargetsAreTheNextStep) {
  const CsvTable t = parse_csv(kTable, "d.csv");
  const auto seqs = build_sequences(t, {{"x", "y"}, {"y"}, "id", true, 0, 0});
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_EQ(seqs[0].length, 2);
  EXPECT_EQ(seqs[0].inputs, (std::vector<double>{1, 10, 2, 20}));
  EXPECT_EQ(seqs[0].targets, (std::vector<double>{20, 30}));
  EXPECT_THROW(build_sequences(t, {{"x", "y"}, {"y"}, "id", false, 0, 0}), Error);
}

TEST(Dataset, WindowsWithStride) {
  const CsvTable t = parse_csv("x,y\n1,1\n2,2\n3,3\n4,4\n5,5\n", "d.csv");
  const auto w = build_sequences(t, {{"x"}, {"y"}, "", false, 2, 1});
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[3].inputs, (std::vector<double>{4, 5}));
  const auto whole = build_sequences(t, {{"x"}, {"y"}, "", false, 9, 0});
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].length, 5);
}

TEST(Dataset, RefusesShortAndScatteredSequences) {
  const CsvTable one = parse_csv("id,x\na,1\na,2\nb,3\n", "d.csv");
  try {
    build_sequences(one, {{"x"}, {"x"}, "id", true, 0, 0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "d.csv:4: sequence \"b\" has 1 row; a sequence needs at least 2 steps");
  }
  const CsvTable scattered = parse_csv("id,x\na,1\na,2\nb,3\nb,4\na,5\na,6\n", "d.csv");
  try {
    build_sequences(scattered, {{"x"}, {"x"}, "id", true, 0, 0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "d.csv:6: sequence \"a\" started before, at line 2; the rows of one sequence "
                 "must be consecutive");
  }
}

TEST(Dataset, ZscoreUsesPopulationStatistics) {
  Sequence s;
  s.length = 4;
  s.inputs = {1, 2, 3, 4};
  s.targets = {5, 5, 5, 5};
  const Normalization n = Normalization::fit({s}, 1, 1);
  EXPECT_DOUBLE_EQ(n.input_mean[0], 2.5);
  EXPECT_DOUBLE_EQ(n.input_std[0], std::sqrt(1.25));
  EXPECT_EQ(n.target_std[0], 1.0);  // no spread: left as is
  Sequence copy = s;
  n.apply(copy);
  EXPECT_DOUBLE_EQ(copy.inputs[0], -1.5 / std::sqrt(1.25));
  std::vector<double> back = copy.targets;
  n.invert_targets(back);
  EXPECT_EQ(back, s.targets);
}

TEST(Dataset, ZscoreOfHugeValuesStaysFinite) {
  Sequence s;
  s.length = 3;
  s.inputs = {1e308, -1e308, 1.7e308};
  s.targets = {1e200, -1e200, 1e200};
  const Normalization n = Normalization::fit({s}, 1, 1);
  EXPECT_NEAR(n.input_mean[0], 1.7e308 / 3, 1e294);
  EXPECT_TRUE(std::isfinite(n.input_std[0]));
  EXPECT_NEAR(n.target_std[0], std::sqrt(8.0 / 9.0) * 1e200, 1e186);
  n.apply(s);
  for (double v : s.inputs) EXPECT_TRUE(std::isfinite(v));
}

TEST(Dataset, BatchesPadTimeMajor) {
  Sequence a, b;
  a.length = 3;
  a.inputs = {1, 2, 3};
  a.targets = {-1, -2, -3};
  b.length = 1;
  b.inputs = {9};
  b.targets = {-9};
  Batch<float> batch;
  make_batch<float>({a, b}, {1, 0}, 0, 2, 1, 1, batch);
  EXPECT_EQ(batch.seq_len, 3);
  EXPECT_EQ(batch.lengths, (std::vector<int>{1, 3}));
  EXPECT_EQ(batch.x, (std::vector<float>{9, 1, 0, 2, 0, 3}));  // [t][b]
  EXPECT_EQ(batch.target, (std::vector<float>{-9, -1, 0, -2, 0, -3}));
}

}  // namespace
}  // namespace recur
