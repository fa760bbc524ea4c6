// The fast products against a plain triple loop in long double: the blocked kernel for every
// transpose combination, and the packed recurrent product, at sizes that cut through every
// edge (rows not a multiple of the kernel's group of rows, columns not a multiple of the panel,
// depth across the blocks of kBlockDepth rows, one row, one column, depth 1).
#include "packed_gemm.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "layer.hpp"
#include "recur/cache_aligned.hpp"
#include "recur/network.hpp"
#include "recur/random.hpp"
#include "recur/threads.hpp"
#include "reference_network.hpp"
#include "thread_pool.hpp"

namespace recur {
namespace {

template <typename T>
std::vector<T> random_matrix(NumpyRandom& random, std::size_t size) {
  std::vector<T> v(size);
  for (T& x : v) x = static_cast<T>(random.randn());
  return v;
}

// Hands the pool's workers an empty job, so that they still spin when the next product comes
// (workers_awake) and it splits as right after a time loop.
void wake_workers() {
  int calls = 0;
  auto nothing = [&](int part) { calls += part == 0; };
  parallel_for_parts(free_threads(), nothing);
}

// C = alpha op(A) op(B) + beta C, by the definition, and for each element the sum of the
// magnitudes of its terms, which bounds the rounding of any order of summation.
struct Reference {
  std::vector<long double> value, magnitude;
};

template <typename T>
Reference reference(bool ta, bool tb, int m, int n, int k, double alpha, const std::vector<T>& a,
                    const std::vector<T>& b, double beta, const std::vector<T>& c) {
  Reference out{std::vector<long double>(static_cast<std::size_t>(m) * n),
                std::vector<long double>(static_cast<std::size_t>(m) * n)};
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      long double sum = 0, magnitude = 0;
      for (int p = 0; p < k; ++p) {
        const long double x = ta ? a[p * m + i] : a[i * k + p];
        const long double y = tb ? b[j * k + p] : b[p * n + j];
        sum += x * y;
        magnitude += std::abs(x * y);
      }
      const long double c_ij = static_cast<long double>(c[i * n + j]);
      out.value[i * n + j] = alpha * sum + beta * c_ij;
      out.magnitude[i * n + j] = std::abs(alpha) * magnitude + std::abs(beta * c_ij);
    }
  }
  return out;
}

// Within the classic bound for a sum of k + 2 terms: (k + 2) units of rounding of the terms'
// magnitudes (a wrong term or a missed block is off by far more).
template <typename T>
void expect_close(const std::vector<T>& got, const Reference& want, int k, double epsilon,
                  const std::string& what) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double bound = (k + 2) * epsilon * static_cast<double>(want.magnitude[i]) + 1e-300;
    ASSERT_NEAR(static_cast<double>(got[i]), static_cast<double>(want.value[i]), bound)
        << what << " element " << i;
  }
}

template <typename T>
void check_blocked(double epsilon) {
  NumpyRandom random(3);
  // Last panels of one vector or less ({17, 48, 40} in float, {10, 24, 30} in double: exactly
  // one; 33, 70, 100: less), of more; of 1 to 4 columns (float: 33, 68, 257, 290; 3 alone),
  // which A^T meets along its rows (narrow_kernel); a last depth block of one row. The last
  // five: split among threads and ragged at both ends, with A^T read in place (lda = m;
  // copied only where rows alias, tested below); few columns and enough work to split rows
  // (A as it is, and A^T in place; with A^T, sources of 4.4 MB, more than L2, in 7 depth
  // blocks of 512 rows, and well over 32M multiply-adds: k summed in halves, cut by rows
  // too on 5 threads); and a product of no terms. With A^T, every shape of 128 rows of k or
  // more sums k in halves (sums_depth_halves). Before each call the pool's workers are woken,
  // so that the products below 32M multiply-adds split as they do right after a time loop.
  constexpr int D = kBlockDepth;
  const int shapes[][3] = {{1, 1, 1},          {8, 32, 16},     {9, 33, 17},     {7, 5, 300},
                           {17, 48, 40},       {10, 24, 30},    {130, 70, 3},    {64, 257, D + 1},
                           {3, 100, 1},        {203, 68, 300},  {203, 150, 300}, {203, 290, 300},
                           {12, 300, D + 188}, {300, 40, 3200}, {9, 300, 0}};
  const int default_threads = threads();
  for (const auto& [m, n, k] : shapes) {
    for (int transposes = 0; transposes < 4; ++transposes) {
      const bool ta = transposes & 1, tb = transposes & 2;
      const auto a = random_matrix<T>(random, static_cast<std::size_t>(m) * k);
      const auto b = random_matrix<T>(random, static_cast<std::size_t>(k) * n);
      const auto c0 = random_matrix<T>(random, static_cast<std::size_t>(m) * n);
      const double alpha = 0.75, beta = m % 2 ? 0.0 : -1.5;
      const auto want = reference(ta, tb, m, n, k, alpha, a, b, beta, c0);
      std::vector<T> one_thread;
      // 5 threads: a product whose k is summed in halves (A^T, few columns) cuts each half
      // by rows too.
      for (const int count : {1, 3, 5}) {
        set_threads(count);
        wake_workers();
        auto c = c0;
        gemm_blocked(ta ? Trans::kYes : Trans::kNo, tb ? Trans::kYes : Trans::kNo, m, n, k,
                     static_cast<T>(alpha), a.data(), ta ? m : k, b.data(), tb ? k : n,
                     static_cast<T>(beta), c.data(), n);
        const std::string what = "m=" + std::to_string(m) + " n=" + std::to_string(n) +
                                 " k=" + std::to_string(k) + (ta ? " A^T" : "") +
                                 (tb ? " B^T" : "") + " threads=" + std::to_string(count);
        expect_close(c, want, k, epsilon, what);
        if (count == 1) one_thread = c;
        ASSERT_EQ(c, one_thread) << what << ": not as on one thread";
      }
    }
  }
  set_threads(default_threads);
}

TEST(PackedGemm, BlockedMatchesTheDefinitionInFloat) {
  check_blocked<float>(6e-8);
}
TEST(PackedGemm, BlockedMatchesTheDefinitionInDouble) {
  check_blocked<double>(1.2e-16);
}

// A^T whose rows lie 2 KB apart, which gemm_blocked copies out block by block (L1 set
// aliasing; the shapes above, with lda = m, read it in place): ragged rows and columns, a
// last depth block not a multiple of 8 rows, one thread and split, the same on any threads
// (all but {9, 33, 17} sum k in halves).
template <typename T>
void check_copied_transposed_a(double epsilon) {
  NumpyRandom random(7);
  constexpr int lda = 2048 / sizeof(T), D = kBlockDepth;
  const int shapes[][3] = {
      {203, 70, D + 44}, {9, 33, 17}, {130, 100, 2 * D + 88}, {8, 64, D}, {77, 68, D + 44}};
  const int default_threads = threads();
  for (const auto& [m, n, k] : shapes) {
    const auto a = random_matrix<T>(random, static_cast<std::size_t>(k) * m);  // [k, m]
    std::vector<T> padded(static_cast<std::size_t>(k) * lda, T(1e30));
    for (int p = 0; p < k; ++p)
      std::copy(a.begin() + p * m, a.begin() + (p + 1) * m, &padded[p * lda]);
    const auto b = random_matrix<T>(random, static_cast<std::size_t>(k) * n);
    const auto c0 = random_matrix<T>(random, static_cast<std::size_t>(m) * n);
    const auto want = reference(true, false, m, n, k, 0.5, a, b, 2.0, c0);
    std::vector<T> one_thread;
    for (const int count : {1, 3, 5}) {
      set_threads(count);
      wake_workers();
      auto c = c0;
      gemm_blocked(Trans::kYes, Trans::kNo, m, n, k, T(0.5), padded.data(), lda, b.data(), n, T(2),
                   c.data(), n);
      const std::string what = "m=" + std::to_string(m) + " n=" + std::to_string(n) +
                               " k=" + std::to_string(k) + " threads=" + std::to_string(count);
      expect_close(c, want, k, epsilon, what);
      if (count == 1) one_thread = c;
      ASSERT_EQ(c, one_thread) << what << ": not as on one thread";
    }
  }
  set_threads(default_threads);
}

TEST(PackedGemm, TransposedAWithAliasingRowsCopiedOut) {
  check_copied_transposed_a<float>(6e-8);
  check_copied_transposed_a<double>(1.2e-16);
}

// The weight gradients' pair of products sharing A (gemm_tn_pair): each C as the definition
// gives it and as gemm gives it alone, bit for bit (but where the pair keeps k whole and a
// product alone, of fewer columns, sums it in halves), and A's column sums (the bias
// gradient) in order from row 0 (or each half so, the halves then added), on one thread and
// split, the same on any number of threads, with A's rows lda = m apart (read in place) and
// 2 KB apart (copied once for both). Shapes: ragged rows, a last panel of one column and a
// ragged depth block; a one-panel product sharing the other's copy; three depth blocks; one
// product small enough for gemm's small loop and the other not; both small; one read in
// place large enough (32M multiply-adds) that its rows split among the threads whether or
// not the workers are awake, each part summing its own; and pairs whose k is summed in
// halves (few columns, in float and in double), the last two with an odd k, cut by rows
// too on 5 threads. Before each call the pool's workers are woken (wake_workers).
template <typename T>
void check_tn_pair(double epsilon) {
  NumpyRandom random(6);
  constexpr int D = kBlockDepth;
  const int shapes[][4] = {{203, 65, 290, D + 44}, {203, 16, 40, 17},    {130, 3, 100, 2 * D + 88},
                           {64, 2, 64, 200},       {512, 64, 256, 300},  {40, 3, 5, 9},
                           {264, 64, 256, 400},    {300, 64, 256, 2801}, {301, 16, 48, 2801}};
  const int default_threads = threads();
  for (const auto& [m, n1, n2, k] : shapes) {
    const auto a = random_matrix<T>(random, static_cast<std::size_t>(k) * m);  // [k, m]
    const auto b1 = random_matrix<T>(random, static_cast<std::size_t>(k) * n1);
    const auto b2 = random_matrix<T>(random, static_cast<std::size_t>(k) * n2);
    const std::vector<T> zero1(static_cast<std::size_t>(m) * n1), zero2(zero1.size() / n1 * n2);
    const auto want1 = reference(true, false, m, n1, k, 1.0, a, b1, 0.0, zero1);
    const auto want2 = reference(true, false, m, n2, k, 1.0, a, b2, 0.0, zero2);
    // A's column sums as the pair takes them: over all of k, or each half in order, added
    // (where the pair is blocked, not two products for gemm's small loop).
    const bool blocked = static_cast<long>(m) * std::min(n1, n2) * k > detail::kSmallGemm;
    const bool halves = blocked && sums_depth_halves<T>(m, n1 + n2, k);
    std::vector<T> want_sums(m);
    for (int i = 0; i < m; ++i) {
      T first = 0, second = 0;
      for (int p = 0; p < k; ++p) {
        (halves && p >= k / 2 ? second : first) += a[static_cast<std::size_t>(p) * m + i];
      }
      want_sums[i] = halves ? first + second : first;
    }
    for (const int lda : {m, std::max<int>(m, 2048 / sizeof(T))}) {
      std::vector<T> padded(static_cast<std::size_t>(k) * lda, T(1e30));
      for (int p = 0; p < k; ++p) {
        std::copy(a.begin() + p * m, a.begin() + (p + 1) * m, padded.begin() + p * lda);
      }
      std::vector<T> first1, first2;  // as on one thread
      for (const int count : {1, 3, 5}) {
        set_threads(count);
        std::vector<T> c1(zero1.size(), T(1e30)), c2(zero2.size(), T(1e30)), alone1(c1), alone2(c2);
        std::vector<T> sums(m, T(1e30));  // written, not added to
        wake_workers();
        gemm_tn_pair(m, k, padded.data(), lda, n1, b1.data(), n1, c1.data(), n1, n2, b2.data(), n2,
                     c2.data(), n2, sums.data());
        const std::string what = "m=" + std::to_string(m) + " n1=" + std::to_string(n1) +
                                 " n2=" + std::to_string(n2) + " k=" + std::to_string(k) +
                                 " lda=" + std::to_string(lda) +
                                 " threads=" + std::to_string(count);
        expect_close(c1, want1, k, epsilon, what + " first");
        expect_close(c2, want2, k, epsilon, what + " second");
        ASSERT_EQ(sums, want_sums) << what << (halves ? ": sums in halves" : ": sums");
        wake_workers();
        gemm(Trans::kYes, Trans::kNo, m, n1, k, T(1), padded.data(), lda, b1.data(), n1, T(0),
             alone1.data(), n1);
        wake_workers();
        gemm(Trans::kYes, Trans::kNo, m, n2, k, T(1), padded.data(), lda, b2.data(), n2, T(0),
             alone2.data(), n2);
        if (halves || !sums_depth_halves<T>(m, n1, k)) {
          EXPECT_EQ(c1, alone1) << what;
        }
        if (halves || !sums_depth_halves<T>(m, n2, k)) {
          EXPECT_EQ(c2, alone2) << what;
        }
        if (count == 1) first1 = c1, first2 = c2;
        ASSERT_EQ(c1, first1) << what << ": first product not as on one thread";
        ASSERT_EQ(c2, first2) << what << ": second product not as on one thread";
      }
    }
  }
  set_threads(default_threads);
}

TEST(PackedGemm, PairSharingAMatchesTheDefinitionOnAnyThreads) {
  check_tn_pair<float>(6e-8);
  check_tn_pair<double>(1.2e-16);
}

TEST(PackedGemm, RecurrentProductWithWeightsPackedOnce) {
  NumpyRandom random(4);
  for (const auto& [batch, hidden, gates] : {std::tuple{1, 7, 4}, {16, 64, 3}, {9, 33, 1}}) {
    const int G = gates * hidden;
    const auto w = random_matrix<float>(random, static_cast<std::size_t>(G) * hidden);  // [G, H]
    PackedMatrix<float> forward, backward;
    forward.pack(Trans::kYes, hidden, G, w.data(), hidden);  // W^T: [H, G]
    backward.pack(Trans::kNo, G, hidden, w.data(), hidden);  // W: [G, H]
    for (int step = 0; step < 3; ++step) {                   // the same packing serves every step
      const auto h = random_matrix<float>(random, static_cast<std::size_t>(batch) * hidden);
      auto out = random_matrix<float>(random, static_cast<std::size_t>(batch) * G);
      const auto want = reference(false, true, batch, G, hidden, 1.0, h, w, 1.0, out);
      gemm_packed(batch, h.data(), hidden, forward, 1.0f, out.data(), G);
      expect_close(out, want, hidden, 6e-8, "forward");
      const auto d = random_matrix<float>(random, static_cast<std::size_t>(batch) * G);
      std::vector<float> dh(static_cast<std::size_t>(batch) * hidden, 1e30f);  // beta 0: unread
      const auto want_dh = reference(false, false, batch, hidden, G, 1.0, d, w, 0.0,
                                     std::vector<float>(dh.size(), 0.0f));
      gemm_packed(batch, d.data(), G, backward, 0.0f, dh.data(), hidden);
      expect_close(dh, want_dh, G, 6e-8, "backward");
      // The same with d's columns from k1 on stored apart (GRU's backward step: dxw's r and z
      // parts, then dhw's n part, rows hidden apart).
      const int k1 = G - hidden;
      std::vector<float> d2(static_cast<std::size_t>(batch) * hidden);
      for (int i = 0; i < batch; ++i) {
        std::copy(d.begin() + i * G + k1, d.begin() + (i + 1) * G, d2.begin() + i * hidden);
      }
      std::fill(dh.begin(), dh.end(), 1e30f);
      gemm_packed<float>(batch, {{d.data(), G, k1}, {d2.data(), hidden, hidden}}, backward, 0.0f,
                         dh.data(), hidden);
      expect_close(dh, want_dh, G, 6e-8, "backward, two sources");
    }
  }
}

// A time loop split by rows runs each part's step products over its own rows only, and a
// part may begin at any row, with kMinSplitRows rows or more (PartSplit moves the cut with
// the threads' times): every cut of a 45-row batch into two such parts gives each row what
// the whole batch's product gives it, bit for bit, in float and double, for the forward
// product of [x, h] (two blocks of A) and a backward one, beta 0 and 1, panels whole and not.
template <typename T>
void check_rows_alike_at_any_cut() {
  NumpyRandom random(16);
  const int B = 45, I = 24, H = 70, G = 4 * H;
  const auto w_ih = random_matrix<T>(random, static_cast<std::size_t>(G) * I);
  const auto w_hh = random_matrix<T>(random, static_cast<std::size_t>(G) * H);
  PackedMatrix<T> forward, backward;
  forward.pack_stacked(Trans::kYes, G, I, w_ih.data(), I, H, w_hh.data(), H);
  backward.pack(Trans::kNo, G, H, w_hh.data(), H);
  const auto x = random_matrix<T>(random, static_cast<std::size_t>(B) * I);
  const auto h = random_matrix<T>(random, static_cast<std::size_t>(B) * H);
  const auto d = random_matrix<T>(random, static_cast<std::size_t>(B) * G);
  const auto start = random_matrix<T>(random, static_cast<std::size_t>(B) * G);
  for (T beta : {T(0), T(1)}) {
    std::vector<T> whole_f(start), whole_b(start.begin(), start.begin() + B * H);
    gemm_packed<T>(B, {{x.data(), I, I}, {h.data(), H, H}}, forward, beta, whole_f.data(), G);
    gemm_packed<T>(B, d.data(), G, backward, beta, whole_b.data(), H);
    for (int cut = kMinSplitRows; cut <= B - kMinSplitRows; ++cut) {
      std::vector<T> parts_f(start), parts_b(start.begin(), start.begin() + B * H);
      for (const auto& [b0, b1] : {std::pair{0, cut}, std::pair{cut, B}}) {
        gemm_packed<T>(b1 - b0, {{x.data() + b0 * I, I, I}, {h.data() + b0 * H, H, H}}, forward,
                       beta, parts_f.data() + static_cast<std::size_t>(b0) * G, G);
        gemm_packed<T>(b1 - b0, d.data() + static_cast<std::size_t>(b0) * G, G, backward, beta,
                       parts_b.data() + static_cast<std::size_t>(b0) * H, H);
      }
      EXPECT_EQ(parts_f, whole_f) << "forward, cut at row " << cut << ", beta " << beta;
      EXPECT_EQ(parts_b, whole_b) << "backward, cut at row " << cut << ", beta " << beta;
    }
  }
}

TEST(PackedGemm, RowsAlikeWhereverASplitLoopCutsItsBatch) {
  const int saved = threads();
  set_threads(1);  // the parts' products unsplit, as inside a split loop
  check_rows_alike_at_any_cut<float>();
  check_rows_alike_at_any_cut<double>();
  set_threads(saved);
}

// Stacked blocks (GRU's fused step product): columns of both sources, of the first only and
// of the second only, as [x, h] times the dense [B1^T; B2^T] with zeros where a block has
// none; widths that put whole panels inside one-source blocks and panels across their edges.
// A panel of one source's columns does not read the other's rows at all: an infinite h
// leaves the x-only columns finite, and an infinite x the h-only ones, where multiplying
// the zeros would make them NaN.
template <typename T>
void check_stacked_blocks(double epsilon) {
  NumpyRandom random(5);
  for (const auto& [batch, k1, k2, w_both, w_first, w_second] :
       {std::tuple{9, 5, 7, 64, 64, 64}, {3, 16, 33, 50, 40, 45}, {1, 1, 2, 1, 96, 1}}) {
    const int n = w_both + w_first + w_second;
    const auto b1 = random_matrix<T>(random, static_cast<std::size_t>(w_both + w_first) * k1);
    const auto b2 = random_matrix<T>(random, static_cast<std::size_t>(w_both + w_second) * k2);
    PackedMatrix<T> packed;
    packed.pack_stacked(k1, k1, k2, k2,
                        {{w_both, b1.data(), b2.data()},
                         {w_first, b1.data() + static_cast<std::size_t>(w_both) * k1, nullptr},
                         {w_second, nullptr, b2.data() + static_cast<std::size_t>(w_both) * k2}});
    const int k = k1 + k2;
    std::vector<T> dense(static_cast<std::size_t>(n) * k, T(0));  // [n, k], B stored [n, k]
    for (int j = 0; j < n; ++j) {
      const bool first = j < w_both + w_first, second = j < w_both || j >= w_both + w_first;
      const int j2 = j < w_both ? j : j - w_first;
      for (int p = 0; p < k1 && first; ++p) dense[j * k + p] = b1[j * k1 + p];
      for (int p = 0; p < k2 && second; ++p) dense[j * k + k1 + p] = b2[j2 * k2 + p];
    }
    auto x = random_matrix<T>(random, static_cast<std::size_t>(batch) * k1);
    auto h = random_matrix<T>(random, static_cast<std::size_t>(batch) * k2);
    std::vector<T> xh(static_cast<std::size_t>(batch) * k);
    for (int i = 0; i < batch; ++i) {
      std::copy(x.begin() + i * k1, x.begin() + (i + 1) * k1, xh.begin() + i * k);
      std::copy(h.begin() + i * k2, h.begin() + (i + 1) * k2, xh.begin() + i * k + k1);
    }
    std::vector<T> out(static_cast<std::size_t>(batch) * n, T(1e30));  // beta 0: unread
    const auto want =
        reference(false, true, batch, n, k, 1.0, xh, dense, 0.0, std::vector<T>(out.size(), T(0)));
    gemm_packed<T>(batch, {{x.data(), k1, k1}, {h.data(), k2, k2}}, packed, T(0), out.data(), n);
    expect_close(out, want, k, epsilon, "stacked " + std::to_string(n) + " columns");
    // Row 0's columns in panels wholly inside the block [from, to) stay finite when the
    // other source is infinite.
    const auto expect_finite = [&](int from, int to, const char* what) {
      constexpr int kPanel = PackedMatrix<T>::kPanel;
      for (int j = 0; j < n; ++j) {
        const int first = j / kPanel * kPanel, last = std::min(n, first + kPanel);
        if (first >= from && last <= to) {
          EXPECT_TRUE(std::isfinite(out[j])) << what << " column " << j << " of " << n;
        }
      }
    };
    h[0] = std::numeric_limits<T>::infinity();
    gemm_packed<T>(batch, {{x.data(), k1, k1}, {h.data(), k2, k2}}, packed, T(0), out.data(), n);
    expect_finite(w_both, w_both + w_first, "x-only");
    h[0] = T(0);
    x[0] = std::numeric_limits<T>::infinity();
    gemm_packed<T>(batch, {{x.data(), k1, k1}, {h.data(), k2, k2}}, packed, T(0), out.data(), n);
    expect_finite(w_both + w_first, n, "h-only");
  }
}

// A product whose only block of A has no values writes zeros (beta 0), a narrow last panel
// too (which against one block of values is summed along k, reading A).
TEST(PackedGemm, ABlockOfNoValuesAloneGivesZeros) {
  NumpyRandom random(12);
  for (const int n : {33, 35, 64}) {
    const int k = 20, m = 9;
    const auto w = random_matrix<float>(random, static_cast<std::size_t>(n) * k);
    PackedMatrix<float> packed;
    packed.pack(Trans::kYes, k, n, w.data(), k);
    std::vector<float> out(static_cast<std::size_t>(m) * n, 1e30f);
    gemm_packed<float>(m, {{nullptr, 0, k}}, packed, 0.0f, out.data(), n);
    for (std::size_t i = 0; i < out.size(); ++i)
      ASSERT_EQ(out[i], 0.0f) << "n " << n << " at " << i;
  }
}

// One PackedMatrix packed again and again, as a layer's buffers are from batch to batch and
// network to network: stacked blocks with a narrow last panel, then smaller plain matrices
// (one with a narrow last panel of its own, one without), then a larger one. Each packing
// gives the product of its own matrix, whatever the last left in the storage, the panels'
// rows or the narrow columns.
template <typename T>
void check_repacked(double epsilon) {
  constexpr int P = PackedMatrix<T>::kPanel;
  NumpyRandom random(14);
  PackedMatrix<T> packed;
  const int m = 5;
  const auto check = [&](int k, int n, const std::vector<T>& dense, const std::string& what) {
    const auto a = random_matrix<T>(random, static_cast<std::size_t>(m) * k);
    std::vector<T> out(static_cast<std::size_t>(m) * n, T(1e30));
    const auto want =
        reference(false, false, m, n, k, 1.0, a, dense, 0.0, std::vector<T>(out.size(), T(0)));
    gemm_packed(m, a.data(), k, packed, T(0), out.data(), n);
    expect_close(out, want, k, epsilon, what);
  };
  {  // blocks of P + 2 columns over both sources, P over the first only, 2 over the second
    const int k1 = 6, k2 = 9, w1 = P + 2, n = w1 + P + 2;  // the last panel: 4 columns
    const auto b1 = random_matrix<T>(random, static_cast<std::size_t>(w1 + P) * k1);
    const auto b2 = random_matrix<T>(random, static_cast<std::size_t>(w1 + 2) * k2);
    std::vector<T> dense(static_cast<std::size_t>(k1 + k2) * n, T(0));  // [k1 + k2, n]
    for (int j = 0; j < n; ++j) {
      const bool first = j < w1 + P, second = j < w1 || j >= w1 + P;
      const int j2 = j < w1 ? j : j - P;  // row of b2 for column j
      for (int p = 0; first && p < k1; ++p) dense[p * n + j] = b1[j * k1 + p];
      for (int p = 0; second && p < k2; ++p) dense[(k1 + p) * n + j] = b2[j2 * k2 + p];
    }
    packed.pack_stacked(k1, k1, k2, k2,
                        {{w1, b1.data(), b2.data()},
                         {P, b1.data() + w1 * k1, nullptr},
                         {2, nullptr, b2.data() + w1 * k2}});
    check(k1 + k2, n, dense, "stacked blocks, narrow last panel");
  }
  for (const auto& [k, n, trans] :
       {std::tuple{9, P + 2, true}, {3, P, false}, {40, 3 * P + 1, true}, {150, P + 3, true}}) {
    const auto b = random_matrix<T>(random, static_cast<std::size_t>(k) * n);  // op(B) [k, n]
    std::vector<T> stored(b.size());  // B as packed: [n, k] when transposed
    for (int p = 0; p < k; ++p) {
      for (int j = 0; j < n; ++j) (trans ? stored[j * k + p] : stored[p * n + j]) = b[p * n + j];
    }
    packed.pack(trans ? Trans::kYes : Trans::kNo, k, n, stored.data(), trans ? k : n);
    check(k, n, b, "k=" + std::to_string(k) + " n=" + std::to_string(n));
  }
}

TEST(PackedGemm, RepackedIntoStorageThatHeldAnotherMatrix) {
  check_repacked<float>(6e-8);
  check_repacked<double>(1.2e-16);
}

// The value of `field` (THPeligible, AnonHugePages) for the mapping of /proc/self/smaps that
// holds `address`, or -1.
long smaps_field_at(const void* address, const std::string& field) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2 &&
        line.find(':') > line.find(' ')) {  // a mapping's first line, not a "Name: value" one
      inside = begin <= at && at < end;
    } else if (inside && line.rfind(field + ":", 0) == 0) {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  return -1;
}

// cache_aligned.cpp: a buffer below kHugeFrom bytes starts on a cache line, one from it on
// on a 2 MB page, advised to the kernel for 2 MB pages: where they are given on advice (or
// always), as by this machine's Debian, its mapping is eligible for them. (Whether one was
// free to give is the system's business, and only reported.)
TEST(AlignedStorage, LargeBuffersLieOnWholeHugePages) {
  constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  const auto offset = [](const void* p, std::uintptr_t to) {
    return reinterpret_cast<std::uintptr_t>(p) % to;
  };
  AlignedVector<float> below(kHugeFrom / sizeof(float) - 1, 1.0f);
  AlignedVector<double> from(kHugeFrom / sizeof(double), 2.0);
  AlignedVector<char> odd(3 * kHugePage + 5, 'x');  // over whole pages: rounded up, not short
  EXPECT_EQ(offset(below.data(), 64), 0u);
  EXPECT_EQ(offset(from.data(), kHugePage), 0u);
  EXPECT_EQ(offset(odd.data(), kHugePage), 0u);
  EXPECT_EQ(odd.back(), 'x');
  // The packed weights of the streaming LSTM step (320 x 1024 floats, 1.3 MB)
  PackedMatrix<float> packed;
  const std::vector<float> weights(320 * 1024, 0.5f);
  packed.pack(Trans::kYes, 320, 1024, weights.data(), 320);
  EXPECT_EQ(offset(packed.panel(0), kHugePage), 0u);
  // A network's parameters and gradients (the weight gradients' C: network.hpp), here 1.3 MB
  Network<float> net({64, 256, 64, Nonlinearity::kTanh, CellKind::kLstm});
  EXPECT_EQ(offset(net.parameters().data(), kHugePage), 0u);
  EXPECT_EQ(offset(net.gradients().data(), kHugePage), 0u);
  std::ifstream mode_file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(mode_file, mode);
  if (mode.find("[madvise]") == std::string::npos && mode.find("[always]") == std::string::npos) {
    GTEST_SKIP() << "transparent huge pages are off here: " << mode;
  }
  EXPECT_EQ(smaps_field_at(from.data(), "THPeligible"), 1) << "the buffer of kHugeFrom bytes";
  EXPECT_EQ(smaps_field_at(packed.panel(0), "THPeligible"), 1) << "the packed weights";
  EXPECT_EQ(smaps_field_at(net.gradients().data(), "THPeligible"), 1) << "the gradients";
  std::printf("2 MB pages given: %ld kB under the buffer, %ld kB under the packed weights\n",
              smaps_field_at(from.data(), "AnonHugePages"),
              smaps_field_at(packed.panel(0), "AnonHugePages"));
}

// Matrices of 4 MB or more are packed by all the free threads (packed_matrix.cpp), each its
// own rows or panels: every value lands where the layout puts it (op(B)[p, j] at row p, lane
// j % kPanel of panel j / kPanel, the last panel's lanes past n zero) on any thread count,
// and pack_stacked's blocks give each panel the rows its columns have values in.
TEST(PackedGemm, LargeMatricesPackedByAllThreadsLandWhereTheLayoutSays) {
  using P = PackedMatrix<float>;
  const int threads_before = threads();
  const int k1 = 300, k2 = 805, k = k1 + k2, n = 1000;  // k n floats: 4.4 MB; n % kPanel != 0
  std::vector<float> b(static_cast<std::size_t>(k) * n);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i % 9973) + 0.5f;
  const float* b2 = b.data() + static_cast<std::size_t>(n) * k1;  // B2 [n, k2] after B1 [n, k1]
  long wrong = 0;
  const auto check = [&](const P& packed, const auto& want, const std::string& what) {
    for (int jp = 0; jp < packed.panels(); ++jp) {
      const float* panel = packed.panel(jp);
      for (int p = 0; p < packed.rows(); ++p) {
        for (int lane = 0; lane < P::kPanel; ++lane) {
          const int j = jp * P::kPanel + lane;
          const float expected = j < n ? want(p, j) : 0.0f;
          if (panel[p * P::kPanel + lane] != expected && wrong++ < 5) {
            ADD_FAILURE() << what << ": [" << p << ", " << j << "]";
          }
        }
      }
    }
  };
  for (int count : {1, 2, 3}) {
    set_threads(count);
    const std::string at = std::to_string(count) + " threads, ";
    P packed;
    packed.pack(Trans::kNo, k, n, b.data(), n);  // B [k, n]
    check(
        packed, [&](int p, int j) { return b[static_cast<std::size_t>(p) * n + j]; },
        at + "B as it is");
    packed.pack(Trans::kYes, k, n, b.data(), k);  // B [n, k]
    check(
        packed, [&](int p, int j) { return b[static_cast<std::size_t>(j) * k + p]; },
        at + "transposed");
    packed.pack_stacked(Trans::kYes, n, k1, b.data(), k1, k2, b2, k2);
    check(
        packed,
        [&](int p, int j) {
          return p < k1 ? b[static_cast<std::size_t>(j) * k1 + p]
                        : b2[static_cast<std::size_t>(j) * k2 + (p - k1)];
        },
        at + "two stacked, transposed");
    // GRU's blocks: [B1; B2] for columns [0, 600), B1 over zeros for [600, 800), zeros over
    // B2's rows 600.. for [800, 1000); the panels straddling a block's edge sum both.
    // (First a matrix with values in every lane of its panels: the blocks' must zero them.)
    constexpr int kFirst = 600, kSecond = 200;
    const int lanes = (n + P::kPanel - 1) / P::kPanel * P::kPanel;
    const std::vector<float> ones(static_cast<std::size_t>(k) * lanes, 1.0f);
    packed.pack(Trans::kYes, k, lanes, ones.data(), k);
    packed.pack_stacked(
        k1, k1, k2, k2,
        {{kFirst, b.data(), b2},
         {kSecond, b.data() + static_cast<std::size_t>(kFirst) * k1, nullptr},
         {n - kFirst - kSecond, nullptr, b2 + static_cast<std::size_t>(kFirst) * k2}});
    const auto in_first = [&](int j) { return j < kFirst + kSecond; };  // has B1's rows
    const auto in_second = [&](int j) { return j < kFirst || j >= kFirst + kSecond; };
    check(
        packed,
        [&](int p, int j) {
          if (p < k1) return in_first(j) ? b[static_cast<std::size_t>(j) * k1 + p] : 0.0f;
          const int row = j < kFirst ? j : j - kSecond;  // B2's row of column j
          return in_second(j) ? b2[static_cast<std::size_t>(row) * k2 + (p - k1)] : 0.0f;
        },
        at + "blocks");
    for (int jp = 0; jp < packed.panels(); ++jp) {
      bool first = false, second = false;
      for (int j = jp * P::kPanel; j < std::min(n, (jp + 1) * P::kPanel); ++j) {
        first = first || in_first(j);
        second = second || in_second(j);
      }
      EXPECT_EQ(packed.panel_rows(jp), std::make_pair(first ? 0 : k1, second ? k : k1))
          << at << "blocks, panel " << jp;
    }
  }
  set_threads(threads_before);
  EXPECT_EQ(wrong, 0);
}

// Weights of kFetchAheadFrom bytes or more (8 MB) are fetched ahead of the kernel's first
// call on each panel (packed_kernels.hpp): the products are still the definition's, within
// rounding, and each column bit for bit what it is over a packing of fewer columns, too few
// bytes to be fetched ahead, which sums in the same order. In float and double, one thread
// and two, 9 rows (calls of 4 and 5), a last panel of part width.
template <typename T>
void check_fetched_ahead(double epsilon) {
  const int threads_before = threads();
  const int m = 9, k = 1100, n = static_cast<int>((std::size_t{9} << 20) / (k * sizeof(T))) | 1;
  const int narrow_n = 3 * PackedMatrix<T>::kPanel;  // whole panels, summed as the wide one's
  NumpyRandom random(12);
  const auto a = random_matrix<T>(random, static_cast<std::size_t>(m) * k);
  const auto b = random_matrix<T>(random, static_cast<std::size_t>(n) * k);  // [n, k]
  PackedMatrix<T> wide, narrow;
  wide.pack(Trans::kYes, k, n, b.data(), k);
  narrow.pack(Trans::kYes, k, narrow_n, b.data(), k);
  ASSERT_GE(static_cast<std::size_t>(wide.panels()) * k * PackedMatrix<T>::kPanel * sizeof(T),
            kFetchAheadFrom);
  const std::vector<T> zeros(static_cast<std::size_t>(m) * n, T(0));
  const auto want = reference(false, true, m, n, k, 1.0, a, b, 0.0, zeros);
  std::vector<T> c_narrow(static_cast<std::size_t>(m) * narrow_n);
  gemm_packed(m, a.data(), k, narrow, T(0), c_narrow.data(), narrow_n);
  for (int count : {1, 2}) {
    set_threads(count);
    std::vector<T> c(static_cast<std::size_t>(m) * n, T(7));
    gemm_packed(m, a.data(), k, wide, T(0), c.data(), n);
    expect_close(c, want, k, epsilon, std::to_string(count) + " threads");
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < narrow_n; ++j) {
        ASSERT_EQ(c[static_cast<std::size_t>(i) * n + j],
                  c_narrow[static_cast<std::size_t>(i) * narrow_n + j])
            << "[" << i << ", " << j << "], " << count << " threads";
      }
    }
  }
  set_threads(threads_before);
}

TEST(PackedGemm, LargeWeightsFetchedAheadGiveTheSameProducts) {
  check_fetched_ahead<float>(6e-8);
  check_fetched_ahead<double>(1.2e-16);
}

TEST(PackedGemm, StackedBlocksSumOnlyTheirOwnRows) {
  check_stacked_blocks<float>(6e-8);
  check_stacked_blocks<double>(1.2e-16);
}

// A backward step's product with dLoss/dh from outside the layer taken in: [dG, dy] against
// W_hh [G, H] over W_o [O, H] packed as they are (pack_stacked, kNo); GRU's dG in two blocks;
// dy alone, the first step's, with dG's block of no values summing nothing. Against the dense
// product of the rows laid side by side.
template <typename T>
void check_outer_blocks(double epsilon) {
  NumpyRandom random(11);
  for (const auto& [batch, hidden, gates, outputs] :
       {std::tuple{1, 7, 3, 5}, {16, 64, 1, 65}, {9, 33, 4, 16}, {32, 40, 3, 1}}) {
    const int G = gates * hidden, k = G + outputs;
    const auto w_hh = random_matrix<T>(random, static_cast<std::size_t>(G) * hidden);
    const auto w_o = random_matrix<T>(random, static_cast<std::size_t>(outputs) * hidden);
    PackedMatrix<T> packed;
    packed.pack_stacked(Trans::kNo, hidden, G, w_hh.data(), hidden, outputs, w_o.data(), hidden);
    std::vector<T> w(w_hh);  // [W_hh; W_o], [k, H]
    w.insert(w.end(), w_o.begin(), w_o.end());
    auto d = random_matrix<T>(random, static_cast<std::size_t>(batch) * G);
    const auto dy = random_matrix<T>(random, static_cast<std::size_t>(batch) * outputs);
    std::vector<T> a(static_cast<std::size_t>(batch) * k), a_dy(a.size(), T(0));
    for (int i = 0; i < batch; ++i) {
      std::copy(d.begin() + i * G, d.begin() + (i + 1) * G, a.begin() + i * k);
      std::copy(dy.begin() + i * outputs, dy.begin() + (i + 1) * outputs, a.begin() + i * k + G);
      std::copy(dy.begin() + i * outputs, dy.begin() + (i + 1) * outputs, a_dy.begin() + i * k + G);
    }
    const auto c = random_matrix<T>(random, static_cast<std::size_t>(batch) * hidden);
    const std::string shape = std::to_string(batch) + "x" + std::to_string(hidden) + "x" +
                              std::to_string(gates) + "x" + std::to_string(outputs);
    std::vector<T> out(c);
    gemm_packed<T>(batch, {{d.data(), G, G}, {dy.data(), outputs, outputs}}, packed, T(1),
                   out.data(), hidden);
    expect_close(out, reference(false, false, batch, hidden, k, 1.0, a, w, 1.0, c), k, epsilon,
                 "[dG, dy] " + shape);
    // dG in two blocks stored apart, its last H columns rows H apart (GRU's dhw_n).
    const int k1 = G - hidden;
    std::vector<T> d2(static_cast<std::size_t>(batch) * hidden);
    for (int i = 0; i < batch; ++i) {
      std::copy(d.begin() + i * G + k1, d.begin() + (i + 1) * G, d2.begin() + i * hidden);
    }
    out.assign(out.size(), T(1e30));  // beta 0: unread
    gemm_packed<T>(batch,
                   {{d.data(), G, k1}, {d2.data(), hidden, hidden}, {dy.data(), outputs, outputs}},
                   packed, T(0), out.data(), hidden);
    const std::vector<T> zeros(c.size(), T(0));
    expect_close(out, reference(false, false, batch, hidden, k, 1.0, a, w, 0.0, zeros), k, epsilon,
                 "[dG r z, dG n, dy] " + shape);
    out.assign(out.size(), T(1e30));
    gemm_packed<T>(batch, {{nullptr, 0, G}, {dy.data(), outputs, outputs}}, packed, T(0),
                   out.data(), hidden);
    expect_close(out, reference(false, false, batch, hidden, k, 1.0, a_dy, w, 0.0, zeros), k,
                 epsilon, "[none, dy] " + shape);
  }
}

TEST(PackedGemm, OuterGradientTakenIntoTheBackwardProduct) {
  check_outer_blocks<float>(6e-8);
  check_outer_blocks<double>(1.2e-16);
}

// A stacked product splits by the rows its panels sum (split_panels): GRU's streaming step,
// I = 64 and H = 256 in float (32 columns a panel with AVX-512, 16 with AVX2): 2H columns of
// I + H rows, H of I rows and H of H rows. Each cut falls where the rows before it come
// nearest its share of the whole (checked against every other cut), cuts in order, from
// panel 0 to the last.
TEST(PackedGemm, StackedSplitsByTheRowsItsPanelsSum) {
  const int I = 64, H = 256;
  const std::vector<float> w_ih(static_cast<std::size_t>(3) * H * I), w_hh(3L * H * H);
  PackedMatrix<float> packed;
  packed.pack_stacked(I, I, H, H,
                      {{2 * H, w_ih.data(), w_hh.data()},
                       {H, w_ih.data() + 2L * H * I, nullptr},
                       {H, nullptr, w_hh.data() + 2L * H * H}});
  constexpr int W = PackedMatrix<float>::kPanel;
  const int panels = 4 * H / W;
  std::vector<long> before(panels + 1, 0);  // rows summed by panels [0, j)
  for (int j = 0; j < panels; ++j) {
    const auto [first, last] = packed.panel_rows(j);
    before[j + 1] = before[j] + (last - first);
  }
  EXPECT_EQ(before[panels], static_cast<long>(2 * H / W) * (I + H) + (H / W) * (I + H));
  for (int parts : {1, 2, 3, 5}) {
    EXPECT_EQ(packed.split_panels(parts, 0), 0);
    EXPECT_EQ(packed.split_panels(parts, parts), panels);
    for (int part = 1; part < parts; ++part) {
      const int cut = packed.split_panels(parts, part);
      EXPECT_LE(packed.split_panels(parts, part - 1), cut);
      const double share = static_cast<double>(before[panels]) * part / parts;
      for (int j = 0; j <= panels; ++j) {
        EXPECT_LE(std::abs(before[cut] - share), std::abs(before[j] - share) + 1e-9)
            << parts << " parts, cut " << part << " at panel " << cut << ", not " << j;
      }
    }
  }
  // Unstacked, the panels split evenly by count.
  PackedMatrix<float> plain;
  plain.pack(Trans::kYes, H, 3 * H, w_hh.data(), H);
  EXPECT_EQ(plain.split_panels(2, 1), 3 * H / W / 2);
  // panel_at, the cut for shares that are not even, cuts even shares where split_panels does.
  for (const PackedMatrix<float>* m : {&packed, &plain}) {
    for (int parts : {2, 3, 5}) {
      for (int part = 0; part <= parts; ++part) {
        EXPECT_EQ(m->panel_at(static_cast<double>(part) / parts), m->split_panels(parts, part))
            << parts << " parts, cut " << part;
      }
    }
  }
}

// Two parts' shares after 12 runs in which part 1 took `slower` times as long as part 0.
PartShares shares_after_runs(double slower) {
  PartShares shares;
  const double times[2] = {1.0, slower};
  for (int run = 0; run < 12; ++run) shares.update(2, times);
  return shares;
}

// A step product under ProductShares (a time loop split step by step by columns) cuts its
// panels where the shares put them, at least a panel a part, gives the unsplit product's
// values bit for bit wherever the cut falls, and moves the shares by its parts' times.
TEST(PackedGemm, StepProductsCutWhereTheirSharesSay) {
  const int m = 64, k = 1024, n = 8 * PackedMatrix<double>::kPanel;  // 8 panels, 4-8M multiply-adds
  NumpyRandom random(16);
  const auto w = random_matrix<double>(random, static_cast<std::size_t>(k) * n);
  const auto a = random_matrix<double>(random, static_cast<std::size_t>(m) * k);
  PackedMatrix<double> packed;
  packed.pack(Trans::kNo, k, n, w.data(), n);
  set_threads(1);
  std::vector<double> alone(static_cast<std::size_t>(m) * n);
  gemm_packed(m, a.data(), k, packed, 0.0, alone.data(), n);
  set_threads(2);
  for (const double slower : {1.0, 2.0, 4.0, 100.0}) {  // part 1's time against part 0's
    PartShares shares = shares_after_runs(slower);
    const int cut = packed.panel_at(shares.before(2, 1));
    if (slower == 1.0) {
      EXPECT_EQ(cut, 4);
    } else {
      EXPECT_GT(cut, 4);  // the faster part takes more panels
    }
    const double weight = shares.weight(2, 0);
    std::vector<double> split(alone.size(), -1.0);
    {
      const ProductShares use(&shares);
      gemm_packed(m, a.data(), k, packed, 0.0, split.data(), n);
    }
    EXPECT_EQ(split, alone) << "part 1 " << slower << "x as slow, cut at panel " << cut;
    // The product ran in two parts on the pool's threads, timed: the shares moved. (Weights
    // stay within [0.2, 5], so two parts' cut never reaches the last panel here and is never
    // held back.)
    EXPECT_LT(cut, 8);
    EXPECT_NE(shares.weight(2, 0), weight) << slower;
  }
}

// The streaming GRU step's product (Network::step cuts it by LayerBuffers::step_shares): [x,
// h] against the GRU's stacked blocks, whose panels sum I + H, I or H rows, one row of A (and
// three), cut where uneven shares say: each column as one thread computes it, and the shares
// move by the parts' times.
TEST(PackedGemm, StackedStepProductsCutWhereTheirSharesSay) {
  const int I = 64, H = 256, n = 4 * H;
  NumpyRandom random(17);
  const auto w_ih = random_matrix<double>(random, static_cast<std::size_t>(3) * H * I);
  const auto w_hh = random_matrix<double>(random, static_cast<std::size_t>(3) * H * H);
  PackedMatrix<double> packed;
  packed.pack_stacked(I, I, H, H,
                      {{2 * H, w_ih.data(), w_hh.data()},
                       {H, w_ih.data() + 2L * H * I, nullptr},
                       {H, nullptr, w_hh.data() + 2L * H * H}});
  const SplitSmallProducts split_small(true);  // as the step's tuner runs it split
  for (const int m : {1, 3}) {
    const auto x = random_matrix<double>(random, static_cast<std::size_t>(m) * I);
    const auto h = random_matrix<double>(random, static_cast<std::size_t>(m) * H);
    const auto product = [&](std::vector<double>& out) {
      gemm_packed<double>(m, {{x.data(), I, I}, {h.data(), H, H}}, packed, 0.0, out.data(), n);
    };
    set_threads(1);
    std::vector<double> alone(static_cast<std::size_t>(m) * n);
    product(alone);
    set_threads(2);
    for (const double slower : {1.0, 2.0, 4.0, 100.0}) {  // part 1's time against part 0's
      PartShares shares = shares_after_runs(slower);
      const int cut = packed.panel_at(shares.before(2, 1));
      if (slower > 1.0) {
        EXPECT_GT(cut, packed.split_panels(2, 1));  // the faster part takes more
      }
      const double weight = shares.weight(2, 0);
      std::vector<double> split(alone.size(), -1.0);
      {
        const ProductShares use(&shares);
        product(split);
      }
      EXPECT_EQ(split, alone) << m << " rows, part 1 " << slower << "x as slow, cut " << cut;
      EXPECT_NE(shares.weight(2, 0), weight) << m << " rows, " << slower;  // timed: moved
    }
  }
}

// The weight gradients' pair under ProductShares (the network's LayerBuffers::gradient_shares)
// cuts its rows where the shares say, gives one thread's values and sums bit for bit wherever
// the cut falls, and moves the shares by its parts' times. C 1.3 MB: not summed in halves, so
// split by rows; A^T copied out (lda 1024 floats) and read in place (1032).
TEST(PackedGemm, WeightGradientPairsCutWhereTheirSharesSay) {
  const int m = 1024, n1 = 64, n2 = 256, k = 300, groups = (m + kPackedRows - 1) / kPackedRows;
  ASSERT_FALSE(sums_depth_halves<float>(m, n1 + n2, k));
  NumpyRandom random(17);
  const auto b1 = random_matrix<float>(random, static_cast<std::size_t>(k) * n1);
  const auto b2 = random_matrix<float>(random, static_cast<std::size_t>(k) * n2);
  const int threads_before = threads();
  for (const int lda : {m, m + 8}) {
    const auto a = random_matrix<float>(random, static_cast<std::size_t>(k) * lda);  // [k, lda]
    std::vector<float> c1(static_cast<std::size_t>(m) * n1), c2(static_cast<std::size_t>(m) * n2);
    std::vector<float> sums(m);
    const auto run = [&] {
      gemm_tn_pair(m, k, a.data(), lda, n1, b1.data(), n1, c1.data(), n1, n2, b2.data(), n2,
                   c2.data(), n2, sums.data());
    };
    set_threads(1);
    run();
    const auto alone1 = c1, alone2 = c2, alone_sums = sums;
    set_threads(2);
    for (const double slower : {1.0, 2.0, 100.0}) {  // part 1's time against part 0's
      PartShares shares;
      const double times[2] = {1.0, slower};
      for (int i = 0; i < 12; ++i) shares.update(2, times);
      const int cut = PartSplit(shares, 2, groups, 1).begin(1);
      if (slower == 1.0) {
        EXPECT_EQ(cut, groups / 2);
      } else {
        EXPECT_GT(cut, groups / 2);  // the faster part takes more rows
      }
      const double weight = shares.weight(2, 0);
      std::fill(c1.begin(), c1.end(), -1.0f);
      std::fill(c2.begin(), c2.end(), -1.0f);
      std::fill(sums.begin(), sums.end(), -1.0f);
      {
        const ProductShares use(&shares);
        wake_workers();
        run();
      }
      const std::string what =
          "lda " + std::to_string(lda) + ", part 1 " + std::to_string(slower) + "x as slow";
      EXPECT_EQ(c1, alone1) << what;
      EXPECT_EQ(c2, alone2) << what;
      EXPECT_EQ(sums, alone_sums) << what;
      EXPECT_NE(shares.weight(2, 0), weight) << what << ": the pair's times moved no share";
    }
  }
  set_threads(threads_before);
}

// The bias gradients' column sums: each column's rows added in order, from 0, then added to
// out, so the vectorized blocks must give the plain loop's sums bit for bit. Widths cut
// through the 8-vector blocks, the leftover vectors and single columns, and the 1024-column
// and 32-row blocks.
template <typename T>
void check_column_sums() {
  NumpyRandom random(11);
  const int shapes[][2] = {{1, 1}, {33, 5}, {70, 16}, {45, 181}, {100, 2100}, {0, 7}, {64, 256}};
  for (const auto& [rows, cols] : shapes) {
    const auto a = random_matrix<T>(random, static_cast<std::size_t>(rows) * cols);
    std::vector<T> out(cols), want(cols);
    for (int j = 0; j < cols; ++j) out[j] = want[j] = static_cast<T>(random.randn());
    for (int j = 0; j < cols; ++j) {
      T sum = 0;
      for (int i = 0; i < rows; ++i) sum += a[static_cast<std::size_t>(i) * cols + j];
      want[j] += sum;
    }
    add_column_sums(rows, cols, a.data(), cols, out.data());
    EXPECT_EQ(out, want) << rows << " x " << cols;
    if (cols > 2) {  // the first cols - 2 columns only, rows still cols apart
      std::vector<T> part(out.begin(), out.end() - 2), part_want(part);
      for (int j = 0; j < cols - 2; ++j) {
        T sum = 0;
        for (int i = 0; i < rows; ++i) sum += a[static_cast<std::size_t>(i) * cols + j];
        part_want[j] += sum;
      }
      add_column_sums(rows, cols - 2, a.data(), cols, part.data());
      EXPECT_EQ(part, part_want) << rows << " x " << cols - 2 << ", lda " << cols;
    }
  }
}

TEST(ColumnSums, EachColumnSummedInRowOrder) {
  check_column_sums<float>();
  check_column_sums<double>();
  check_column_sums<long double>();
}

}  // namespace
}  // namespace recur

namespace recur {
namespace {

// Whole networks whose products take the fast paths (float, packed recurrent weights, the
// blocked kernel) against the same networks in long double, which take none of them: outputs
// and gradients agree within float rounding. Sizes cut through the kernels' edges: H not a
// multiple of the vector width, B = 1, T = 1; one direction and two (the products that take
// dLoss/dh from the layer above into each step's, OuterGradient, and those that do not), with
// sequences of different lengths or not.
struct Case {
  CellKind cell;
  int T, B, H;
  bool bidirectional = true;
  bool padded = false;
  int layers = 2;
  double dropout = 0;  // with training on
};

NetworkConfig config_of(const Case& c) {
  return {5, c.H, 3, Nonlinearity::kTanh, c.cell, c.layers, c.bidirectional, c.dropout};
}

// One forward and backward of both networks at c's T and B (c's shape otherwise theirs).
void expect_same_run(Network<float>& fast, Network<long double>& slow, const Case& c,
                     NumpyRandom& random) {
  const int T = c.T, B = c.B;
  std::vector<float> x(static_cast<std::size_t>(T) * B * 5),
      dy(static_cast<std::size_t>(T) * B * 3);
  for (float& v : x) v = static_cast<float>(random.randn());
  for (float& v : dy) v = static_cast<float>(random.randn());
  const std::vector<long double> x_slow(x.begin(), x.end()), dy_slow(dy.begin(), dy.end());
  std::vector<int> lengths;
  for (int b = 0; c.padded && b < B; ++b) lengths.push_back(T - b % T);  // T, T - 1, ..., 1, T, ..
  fast.set_training(c.dropout > 0);
  slow.set_training(c.dropout > 0);
  const auto y = fast.forward(x, T, B, lengths);
  const auto y_slow = slow.forward(x_slow, T, B, lengths);
  fast.backward(dy);
  slow.backward(dy_slow);
  const std::string what = std::string(cell_name(c.cell)) + " T=" + std::to_string(T) +
                           " B=" + std::to_string(B) + " H=" + std::to_string(c.H) +
                           " layers=" + std::to_string(c.layers) +
                           (c.bidirectional ? " bidirectional" : "") + (c.padded ? " padded" : "") +
                           (c.dropout > 0 ? " dropout" : "");
  for (std::size_t i = 0; i < y.size(); ++i) {
    ASSERT_NEAR(y[i], static_cast<double>(y_slow[i]), 2e-5 * (1 + std::abs(y[i]))) << what;
  }
  double scale = 0;
  for (long double g : slow.gradients()) scale = std::max(scale, std::abs(static_cast<double>(g)));
  for (std::size_t i = 0; i < fast.gradients().size(); ++i) {
    ASSERT_NEAR(fast.gradients()[i], static_cast<double>(slow.gradients()[i]), 1e-4 * scale)
        << what << " gradient " << i;
  }
}

void expect_fast_network_matches_reference(const Case& c) {
  Network<float> fast(config_of(c));
  Network<long double> slow(config_of(c));
  NumpyRandom random(8);
  draw_same_parameters(fast, slow, random, 0.3);
  expect_same_run(fast, slow, c, random);
}

TEST(FastPaths, NetworksMatchTheLongDoubleReference) {
  for (CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    expect_fast_network_matches_reference({cell, 7, 9, 67});   // packed, ragged edges
    expect_fast_network_matches_reference({cell, 1, 1, 181});  // B = T = 1, packed
    expect_fast_network_matches_reference({cell, 4, 17, 33});
    expect_fast_network_matches_reference({cell, 7, 9, 67, false});
    expect_fast_network_matches_reference({cell, 6, 10, 67, false, true});
    expect_fast_network_matches_reference({cell, 6, 10, 67, true, true});
  }
}

// Three layers in one direction: the middle layer's steps take the layer above's dxw W_ih
// from a layer that is not the top; with dropout (at packed sizes), whose mask applies to
// that gradient alone, no layer below the top takes it (Network::backward's below_fused).
// The dropout masks agree: both networks draw them from the same stream of doubles.
TEST(FastPaths, StacksAndDropoutMatchTheLongDoubleReference) {
  for (CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    expect_fast_network_matches_reference({cell, 5, 9, 67, false, false, 3});
    expect_fast_network_matches_reference({cell, 5, 9, 67, false, true, 3});
    expect_fast_network_matches_reference({cell, 5, 9, 67, false, false, 3, 0.4});
    expect_fast_network_matches_reference({cell, 5, 12, 67, true, true, 2, 0.4});
  }
}

// Time loops split by rows of the batch (two parts: a LoopTuner's warm-up runs split among
// all threads) whose steps take an outer gradient: each part reads its own rows of dy and of
// the layer above's dxw.
TEST(FastPaths, LoopsSplitByBatchWithAnOuterGradient) {
  const int threads_before = threads();
  set_threads(2);
  ASSERT_EQ(batch_parts(64, 1L << 30), 2);
  for (CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    expect_fast_network_matches_reference({cell, 5, 64, 67, false});
    expect_fast_network_matches_reference({cell, 5, 64, 67, false, true, 3});
  }
  set_threads(threads_before);
}

// One network run at batches whose backward steps take an outer gradient (B = 9, 20) and
// batches whose products are too small to pack (B = 1; for Elman 5 and 7 too), in turn: what
// one run grows or packs does not leak into the next. Without dropout, the top layer's steps
// take the readout's gradient at the larger batches, and layer 0's the layer above's, so no
// gradient over all steps is kept there: grad_out grows only at the small batches (Elman's 7
// after 1). With dropout, in training (masks drawn) layer 0's W_hh is packed alone, and out of
// training over the layer above's W_ih.
TEST(FastPaths, OneNetworkAtBatchesThatTakeTheOuterGradientOrNot) {
  for (CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    for (const auto& [layers, dropout] : {std::pair{1, 0.0}, {2, 0.0}, {2, 0.3}}) {
      const Case first{cell, 4, 1, 67, false, false, layers, dropout};
      Network<float> fast(config_of(first));
      Network<long double> slow(config_of(first));
      NumpyRandom random(15);
      draw_same_parameters(fast, slow, random, 0.3);
      for (const auto& [B, padded, training] : {std::tuple{1, false, true},
                                                {9, false, false},
                                                {7, true, false},
                                                {20, true, true},
                                                {5, false, true},
                                                {9, false, true},
                                                {1, true, false}}) {
        expect_same_run(fast, slow, {cell, 4, B, 67, false, padded, layers, training ? dropout : 0},
                        random);
      }
    }
  }
}

}  // namespace
}  // namespace recur

namespace recur {
namespace {

// Products split among threads by columns or rows, and time loops by rows of the batch:
// every element is computed by one thread in the same order, so results are identical, bit
// for bit, for any thread count. With one thread nothing is split, so the split runs are
// checked against the unsplit path.
void expect_same_for_any_thread_count(const NetworkConfig& config, int T, int B,
                                      const std::vector<int>& lengths) {
  std::vector<std::vector<double>> outputs, gradients;
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    Network<double> net(config);
    NumpyRandom random(9);
    for (double& p : net.parameters()) p = 0.2 * random.randn();
    std::vector<double> x(static_cast<std::size_t>(T) * B * config.input_size),
        dy(static_cast<std::size_t>(T) * B * config.output_size);
    for (double& v : x) v = random.randn();
    for (double& v : dy) v = random.randn();
    const auto y = net.forward(x, T, B, lengths);
    outputs.emplace_back(y.begin(), y.end());
    net.backward(dy);
    gradients.emplace_back(net.gradients().begin(), net.gradients().end());
  }
  set_threads(2);
  for (std::size_t t = 1; t < outputs.size(); ++t) {
    EXPECT_EQ(outputs[t], outputs[0]) << cell_name(config.cell) << " threads " << t + 1;
    EXPECT_EQ(gradients[t], gradients[0]) << cell_name(config.cell) << " threads " << t + 1;
  }
}

TEST(Threads, ResultsDoNotDependOnTheThreadCount) {
  // Products split, loops not: a loop splits only into parts of kMinSplitRows rows or more,
  // and each step's product (7 x 536 x 2048, 7.7M multiply-adds) splits by columns; its 7 rows
  // are kernel calls of 3 and 4 (AVX2) or one of 7 (AVX-512).
  expect_same_for_any_thread_count({24, 512, 40, Nonlinearity::kTanh, CellKind::kLstm}, 6,
                                   kMinSplitRows - 1, {});
  // Loops split by rows: 45 rows in 2 or 3 parts (22 and 23; 15 each), cut inside kernel
  // calls of the unsplit loop (8 calls of 5 or 6 rows with AVX2, 6 of 7 or 8 with AVX-512);
  // padded
  // sequences in both directions, so that each part marks its own rows. The loops are under
  // 256M multiply-adds, so a LoopTuner chooses their split, and its warm-up runs (all that
  // one forward and backward make) are split among all threads.
  constexpr int T = 24, B = 45;
  static_assert(LoopTuner::kWarmup >= 1);
  // From 256M on, loops split by batch_parts's rule (the same ranges): one part per 32M,
  // at most the free threads and the groups of rows.
  set_threads(3);
  EXPECT_EQ(batch_parts(B, 1L << 28), 3);
  EXPECT_EQ(batch_parts(B, 1L << 26), 2);
  EXPECT_EQ(batch_parts(2 * kMinSplitRows - 1, 1L << 30), 1);
  EXPECT_EQ(batch_parts(2 * kMinSplitRows, 1L << 30), 2);
  std::vector<int> lengths(B);
  for (int b = 0; b < B; ++b) lengths[b] = T - (b * 7) % T;
  expect_same_for_any_thread_count({24, 160, 40, Nonlinearity::kTanh, CellKind::kLstm, 1}, T, B,
                                   lengths);
  expect_same_for_any_thread_count({24, 180, 40, Nonlinearity::kTanh, CellKind::kGru, 1, true}, T,
                                   B, lengths);
  expect_same_for_any_thread_count({24, 310, 40, Nonlinearity::kRelu, CellKind::kElman, 1}, T, B,
                                   lengths);
}

// Loops over packed weights of kColumnWeightBytes or more run whole on the caller, each step's
// product split by columns and its gates by rows (22 and 23 of 45 rows at two threads, 15 each
// at three), padded sequences in both directions marking their own rows: the outputs and
// gradients of one thread, bit for bit. In double, 8 MB is 1M weights; packed here, 15% or
// more over: for the LSTM (one direction) [W_ih^T; W_hh^T] 568 x 2240 and [W_hh; W_o]
// 2248 x 560 (the readout's gradient taken into the steps), for the GRU (both directions)
// 648 x 2560 and W_hh (with W_o or not) at least 1920 x 640, for the Elman 1108 x 1100 and
// at least 1100 x 1100.
TEST(Threads, StepsSplitByColumnsOverLargeWeightsGiveOneThreadsAnswer) {
  constexpr int T = 3, B = 45;
  set_threads(2);
  PackedMatrix<double> large, small;
  large.reserve(1032, 1024);
  large.pack(Trans::kNo, 1032, 1024, std::vector<double>(1032 * 1024).data(), 1024);
  small.pack(Trans::kNo, 1000, 1024, std::vector<double>(1000 * 1024).data(), 1024);
  EXPECT_GE(static_cast<std::size_t>(large.rows()) * large.cols() * sizeof(double),
            kColumnWeightBytes);
  EXPECT_EQ(column_loop_parts(B, &large), 2);
  EXPECT_EQ(column_loop_parts(2 * kMinSplitRows - 1, &large), 1);  // no part under 8 rows
  EXPECT_EQ(column_loop_parts(B, &small), 1);                      // split by rows instead
  EXPECT_EQ(column_loop_parts<double>(B, nullptr), 1);
  {
    const InlineParts inside(true);  // no free threads
    EXPECT_EQ(column_loop_parts(B, &large), 1);
  }
  std::vector<int> lengths(B);
  for (int b = 0; b < B; ++b) lengths[b] = T - b % T;
  expect_same_for_any_thread_count({8, 560, 8, Nonlinearity::kTanh, CellKind::kLstm}, T, B,
                                   lengths);
  expect_same_for_any_thread_count({8, 640, 8, Nonlinearity::kTanh, CellKind::kGru, 1, true}, T, B,
                                   lengths);
  expect_same_for_any_thread_count({8, 1100, 8, Nonlinearity::kTanh, CellKind::kElman, 1, true}, T,
                                   B, lengths);
}

// Streaming steps whose products split (SplitSmallProducts, as Network::step's tuner chooses
// them for some of its calls) give the single-threaded answer bit for bit: a product splits
// only by columns, cut where the layer's shares, moved by each split step's times, say.
TEST(Threads, StreamingStepsDoNotDependOnTheSplit) {
  for (CellKind cell : {CellKind::kLstm, CellKind::kGru}) {
    std::vector<std::vector<double>> runs;
    for (int threads : {1, 2}) {
      set_threads(threads);
      Network<double> net({64, 256, 64, Nonlinearity::kTanh, cell});
      NumpyRandom random(12);
      for (double& p : net.parameters()) p = 0.1 * random.randn();
      std::vector<double> state(net.state_size(1), 0.0), x(64), y(64), all;
      for (int t = 0; t < 48; ++t) {  // past the tuner's warm-up and phases of each candidate
        for (double& v : x) v = random.randn();
        net.step(x, state, y, 1);
        all.insert(all.end(), y.begin(), y.end());
        all.insert(all.end(), state.begin(), state.end());
      }
      runs.push_back(all);
    }
    EXPECT_EQ(runs[1], runs[0]) << cell_name(cell);
  }
  // The same product with and without the split.
  NumpyRandom random(13);
  const int k = 256, n = 1024;
  const auto w = random_matrix<double>(random, static_cast<std::size_t>(n) * k);
  const auto h = random_matrix<double>(random, k);
  PackedMatrix<double> packed;
  packed.pack(Trans::kYes, k, n, w.data(), k);
  std::vector<double> alone(n), split(n);
  gemm_packed(1, h.data(), k, packed, 0.0, alone.data(), n);
  {
    const SplitSmallProducts on(true);
    gemm_packed(1, h.data(), k, packed, 0.0, split.data(), n);
  }
  EXPECT_EQ(split, alone);
  set_threads(2);
}

// `runs` forward and backward passes of one network at two threads, each giving the outputs
// and gradients of one pass at one thread, bit for bit (parameters `scale` times normal
// draws, inputs and output gradients normal, all from `seed`). Leaves two threads set.
void expect_passes_give_one_threads_answer(const NetworkConfig& config, int T, int B, int runs,
                                           double scale, std::uint32_t seed) {
  std::vector<std::vector<double>> passes;
  for (int threads : {1, 2}) {
    set_threads(threads);
    Network<double> net(config);
    NumpyRandom random(seed);
    for (double& p : net.parameters()) p = scale * random.randn();
    const auto x =
        random_matrix<double>(random, static_cast<std::size_t>(T) * B * config.input_size);
    const auto dy =
        random_matrix<double>(random, static_cast<std::size_t>(T) * B * config.output_size);
    for (int run = 0; run < (threads == 1 ? 1 : runs); ++run) {  // one thread: every run alike
      const auto y = net.forward(x, T, B);
      std::vector<double> values(y.begin(), y.end());
      net.backward(dy);
      values.insert(values.end(), net.gradients().begin(), net.gradients().end());
      passes.push_back(values);
    }
  }
  for (std::size_t run = 1; run < passes.size(); ++run) {
    EXPECT_EQ(passes[run], passes[0])
        << cell_name(config.cell) << " run " << run - 1 << " of two threads";
  }
  set_threads(2);
}

// A small pass (Network's forward or backward of 512K to 64M multiply-adds: 2M to 7M here)
// runs on one thread or with its loops and products split, as its LoopTuner times them: 18
// passes take that tuner past its warm-up, in which the layers' loop tuners run their loops
// split and on one thread, and a phase of each of its candidates; every pass gives the
// single-threaded answer bit for bit.
TEST(Threads, SmallPassesOnOneThreadOrSplitAlike) {
  constexpr int kRuns = 18;
  static_assert(LoopTuner::kOuterWarmup + 2 * LoopTuner::kPhase <= kRuns);
  for (CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    expect_passes_give_one_threads_answer({16, 64, 16, Nonlinearity::kTanh, cell}, 20,
                                          2 * kMinSplitRows, kRuns, 0.1, 14);
  }
  {
    const InlineParts one_thread(true);
    EXPECT_EQ(free_threads(), 1);
    {
      const InlineParts as_it_was(false);
      EXPECT_EQ(free_threads(), 1);
    }
    EXPECT_EQ(free_threads(), 1);
  }
  EXPECT_EQ(free_threads(), 2);
}

// Time loops split by rows in shares learned from their own parts' times (PartShares, moved
// after every split run by the parts' real times): over 40 passes the cut between 45 rows
// moves wherever the two threads' times differ (21 to 24 in one run on the Zen 5 host, where
// it was checked), and every pass gives the single-threaded answer bit for bit. Where the
// threads run alike the cut may not move; PackedGemm.RowsAlikeWhereverASplitLoopCutsItsBatch
// checks every cut of the products, deterministically.
TEST(Threads, LoopsSharedByTheirPartsTimesGiveOneThreadsAnswer) {
  for (CellKind cell : {CellKind::kElman, CellKind::kLstm, CellKind::kGru}) {
    expect_passes_give_one_threads_answer({24, 160, 40, Nonlinearity::kTanh, cell}, 24, 45, 40, 0.2,
                                          15);
  }
}

TEST(Threads, ProductsFromSeveralThreadsAtOnce) {
  // Two threads of a program each multiplying: one gets the pool, the other runs its parts
  // itself; both get the single-threaded answer.
  const int m = 96, n = 160, k = 300;
  NumpyRandom random(10);
  const auto a = random_matrix<double>(random, static_cast<std::size_t>(m) * k);
  const auto b = random_matrix<double>(random, static_cast<std::size_t>(k) * n);
  std::vector<double> expected(static_cast<std::size_t>(m) * n);
  set_threads(1);
  gemm_blocked(Trans::kNo, Trans::kNo, m, n, k, 1.0, a.data(), k, b.data(), n, 0.0, expected.data(),
               n);
  set_threads(2);
  std::vector<std::vector<double>> results(4, std::vector<double>(expected.size()));
  std::vector<std::thread> callers;
  for (auto& c : results) {
    callers.emplace_back([&] {
      for (int repeat = 0; repeat < 50; ++repeat) {
        gemm_blocked(Trans::kNo, Trans::kNo, m, n, k, 1.0, a.data(), k, b.data(), n, 0.0, c.data(),
                     n);
      }
    });
  }
  for (std::thread& t : callers) t.join();
  for (const auto& c : results) EXPECT_EQ(c, expected);
}

}  // namespace
}  // namespace recur

namespace recur {
namespace {

TEST(Threads, WorkersAreAwakeRightAfterAJobAndNotLongAfter) {
  // Products and time loops split more readily while the pool's workers still spin from the
  // last job (workers_awake): true moments after one, false once they may have gone to sleep.
  const int threads_before = threads();
  set_threads(2);
  std::array<int, 2> ran{};
  auto part = [&](int p) { ran[p] = 1; };
  bool awake = false;  // retried: a preemption of the test itself may outlast the spin
  for (int attempt = 0; attempt < 5 && !awake; ++attempt) {
    parallel_for_parts(2, part);
    awake = workers_awake();
  }
  EXPECT_EQ(ran, (std::array<int, 2>{1, 1}));
  EXPECT_TRUE(awake);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(workers_awake());
  set_threads(1);
  parallel_for_parts(2, part);
  EXPECT_FALSE(workers_awake()) << "one thread: no workers";
  set_threads(threads_before);
}

}  // namespace
}  // namespace recur
