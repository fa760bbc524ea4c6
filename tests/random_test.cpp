// NumpyRandom against numbers printed by numpy 1.24's legacy RandomState.
#include "recur/random.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace recur {
namespace {

TEST(NumpyRandom, SeedFortyTwoGivesTheNotebooksNormals) {
  // np.random.seed(42); np.random.randn(10), as printed in the issue and the notebook.
  const double expected[] = {0.49671415,  -0.1382643, 0.64768854, 1.52302986,  -0.23415337,
                             -0.23413696, 1.57921282, 0.76743473, -0.46947439, 0.54256004};
  NumpyRandom random(42);
  for (double e : expected) EXPECT_NEAR(random.randn(), e, 5e-9);
}

TEST(NumpyRandom, NormalsMatchNumpyToTheLastBit) {
  // np.random.seed(42); np.random.randn(4).tolist()
  NumpyRandom random(42);
  EXPECT_EQ(random.randn(), 0.4967141530112327);
  EXPECT_EQ(random.randn(), -0.13826430117118466);
  EXPECT_EQ(random.randn(), 0.6476885381006925);
  EXPECT_EQ(random.randn(), 1.5230298564080254);
  // np.random.seed(4294967295); np.random.randn(3).tolist(): the largest seed numpy accepts.
  random.seed(4294967295U);
  EXPECT_EQ(random.randn(), 0.6484086742306527);
  EXPECT_EQ(random.randn(), 0.6693235306338161);
  EXPECT_EQ(random.randn(), -1.0805437227474493);
}

TEST(NumpyRandom, UniformsMatchNumpy) {
  // np.random.seed(0); np.random.rand(3).tolist()
  NumpyRandom random(0);
  EXPECT_EQ(random.random_sample(), 0.5488135039273248);
  EXPECT_EQ(random.random_sample(), 0.7151893663724195);
  EXPECT_EQ(random.random_sample(), 0.6027633760716439);
}

TEST(NumpyRandom, Mt19937ReferenceOutput) {
  // The reference mt19937ar.c: init_genrand(5489) first outputs 3499211612, 581869302.
  NumpyRandom random(5489);
  EXPECT_EQ(random.next_uint32(), 3499211612U);
  EXPECT_EQ(random.next_uint32(), 581869302U);
}

TEST(NumpyRandom, SpareNormalCarriesAcrossCalls) {
  // randn(3) then randn(3) is randn(6): the odd call's spare value is kept, as numpy does.
  NumpyRandom a(7), b(7);
  std::vector<double> first(3), second(3), whole(6);
  a.randn(first);
  a.randn(second);
  b.randn(whole);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(first[i], whole[i]);
    EXPECT_EQ(second[i], whole[i + 3]);
  }
}

TEST(NumpyRandom, ReseedingForgetsTheSpareNormal) {
  // np.random.seed(0); randn(); np.random.seed(0); randn() gives 1.764052345967664 twice.
  NumpyRandom random(0);
  EXPECT_EQ(random.randn(), 1.764052345967664);
  random.seed(0);
  EXPECT_EQ(random.randn(), 1.764052345967664);
  EXPECT_EQ(random.randn(), 0.4001572083672233);
}

}  // namespace
}  // namespace recur
