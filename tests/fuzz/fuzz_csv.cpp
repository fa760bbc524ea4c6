// CSV data: the table, every cell as a number, and sequences from its first columns as
// `recur train --data` builds them (the last column the target, the first the sequence id
// when the first byte is odd, windows of a length taken from the second byte). The streaming
// reader, with blocks of 1 to 16 bytes and a line cap of 1 to 256 bytes (third and fourth
// bytes), must give the same table or the same error as parsing the whole text.
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "recur/csv.hpp"
#include "recur/dataset.hpp"
#include "recur/error.hpp"
#include "recur/limits.hpp"

namespace {

bool same(const recur::CsvTable& a, const recur::CsvTable& b) {
  return a.header == b.header && a.lines == b.lines && a.text == b.text && a.starts == b.starts;
}

void use(const recur::CsvTable& table, const std::uint8_t* data, std::size_t size) {
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
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  recur::Limits limits;
  limits.max_line_length = size > 3 ? 1 + data[3] : limits.max_line_length;
  recur::set_limits(limits);
  std::optional<recur::CsvTable> whole, streamed;
  std::string whole_error, streamed_error;
  try {
    whole = recur::parse_csv(text, "fuzz.csv");
  } catch (const recur::Error& e) {
    whole_error = e.what();
  }
  try {
    std::istringstream in(text);
    streamed = recur::read_csv_stream(in, "fuzz.csv", size > 2 ? 1 + data[2] % 16 : 1);
  } catch (const recur::Error& e) {
    streamed_error = e.what();
  }
  if (whole.has_value() != streamed.has_value() || whole_error != streamed_error ||
      (whole && !same(*whole, *streamed))) {
    __builtin_trap();  // the two readers disagree
  }
  if (!whole) return 0;
  try {
    use(*whole, data, size);
  } catch (const recur::Error&) {
  }
  return 0;
}
