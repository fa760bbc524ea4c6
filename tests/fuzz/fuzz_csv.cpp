// CSV data: the table, every cell as a number, and sequences from its first columns as
// `recur train --data` builds them (the last column the target, the first the sequence id
// when the first byte is odd, windows of a length taken from the second byte).
#include <cstdint>
#include <string_view>

#include "recur/csv.hpp"
#include "recur/dataset.hpp"
#include "recur/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const recur::CsvTable table = recur::parse_csv(text, "fuzz.csv");
    const int columns = static_cast<int>(table.header.size());
    for (int r = 0; r < table.row_count(); ++r) {
      for (int c = 0; c < columns; ++c) {
        try {
          table.number(r, c);
        } catch (const recur::Error&) {
        }
      }
    }
    recur::DataSpec spec;
    const bool grouped = size > 0 && (data[0] & 1) && columns > 2;
    if (grouped) spec.sequence_column = table.header[0];
    for (int c = grouped ? 1 : 0; c + 1 < columns; ++c) {
      spec.input_columns.push_back(table.header[c]);
    }
    spec.target_columns.push_back(table.header[columns - 1]);
    if (spec.input_columns.empty()) spec.forecast = true, spec.input_columns = spec.target_columns;
    spec.window = size > 1 ? data[1] % 8 : 0;
    const auto sequences = recur::build_sequences(table, spec);
    const int inputs = static_cast<int>(spec.input_columns.size());
    auto normalization = recur::Normalization::fit(sequences, inputs, 1);
    for (auto s : sequences) normalization.apply(s);
  } catch (const recur::Error&) {
  }
  return 0;
}
