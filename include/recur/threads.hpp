// How many threads recur's matrix products and time loops use. Results do not depend on it:
// the products are split by columns (or by rows), the time loops by rows of the batch, and
// each element is computed by one thread in the same order whatever the count, so float64
// results are identical for any setting (tested) and float32 ones too.
#pragma once

namespace recur {

// The default is the machine's cores (std::thread::hardware_concurrency). Values below 1 are
// taken as 1. Not to be changed while another thread is inside recur.
void set_threads(int threads);
int threads();

}  // namespace recur
