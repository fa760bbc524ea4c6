#include "recur/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>

#include "recur/error.hpp"
#include "recur/limits.hpp"
#include "recur/safetensors.hpp"

namespace recur {

namespace {

// Splits one line into fields; false if a quote is left open.
bool split_line(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(std::move(field));
  return !quoted;
}

std::string trim(const std::string& s) {
  const std::size_t first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// Builds a table from text fed in pieces of any size (a whole file, or blocks of one), a line
// at a time, numbering the lines. A line over the limit is refused before it is held.
class TableBuilder {
 public:
  explicit TableBuilder(const std::string& source) : line_limit_(limits().max_line_length) {
    table_.source = source;
  }

  void feed(std::string_view text) {
    while (!text.empty()) {
      const std::size_t end = text.find('\n');
      if (pending_.size() + std::min(end, text.size()) > line_limit_) too_long();
      if (end == std::string_view::npos) {  // the line goes on in the next piece
        pending_.append(text);
        return;
      }
      if (pending_.empty()) {
        add(text.substr(0, end));
      } else {
        pending_.append(text.substr(0, end));
        add(pending_);
        pending_.clear();
      }
      text.remove_prefix(end + 1);
    }
  }

  CsvTable finish() {
    if (!pending_.empty()) add(pending_);  // a last line without a newline
    if (table_.header.empty()) {
      throw Error(table_.source + ": the file is empty; expected a header row");
    }
    if (table_.lines.empty()) throw Error(table_.source + ": no data rows after the header");
    table_.starts.push_back(table_.text.size());
    return std::move(table_);
  }

 private:
  void add(std::string_view line) {
    if (++line_number_ == std::numeric_limits<int>::max()) {
      throw Error(table_.source + ": more than " + std::to_string(line_number_) + " lines");
    }
    if (line_number_ == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // BOM
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;
    const std::string where = table_.source + ":" + std::to_string(line_number_);
    if (!split_line(line, fields_)) throw Error(where + ": a quoted field is not closed");
    for (std::string& f : fields_) f = trim(f);
    if (table_.header.empty()) {
      std::set<std::string> seen;
      for (std::size_t c = 0; c < fields_.size(); ++c) {
        if (!seen.insert(fields_[c]).second) {
          throw Error(where + ": column " + std::to_string(c + 1) + " repeats the name \"" +
                      fields_[c] + "\"");
        }
      }
      table_.header = fields_;
      return;
    }
    if (fields_.size() != table_.header.size()) {
      throw Error(where + ": " + std::to_string(fields_.size()) + " columns, expected " +
                  std::to_string(table_.header.size()) + " as in the header");
    }
    for (const std::string& f : fields_) {
      table_.starts.push_back(table_.text.size());
      table_.text += f;
    }
    table_.lines.push_back(line_number_);
  }

  // The line after the last one added is longer than the limit.
  [[noreturn]] void too_long() const {
    throw Error(table_.source + ":" + std::to_string(line_number_ + 1) +
                ": a line longer than the max-line-length limit of " + std::to_string(line_limit_) +
                " bytes");
  }

  CsvTable table_;
  std::uint64_t line_limit_;
  std::string pending_;  // the part of a line that ran past the end of a piece
  std::vector<std::string> fields_;
  int line_number_ = 0;
};

}  // namespace

CsvTable parse_csv(std::string_view text, const std::string& source) {
  TableBuilder builder(source);
  builder.feed(text);
  return builder.finish();
}

CsvTable read_csv(const std::string& path) {
  std::uint64_t size = 0;
  std::ifstream in = open_input(path, size);
  return read_csv_stream(in, path);
}

CsvTable read_csv_stream(std::istream& in, const std::string& source, std::size_t block_size) {
  TableBuilder builder(source);
  read_blocks(in, source, block_size, [&](std::string_view block) { builder.feed(block); });
  return builder.finish();
}

int CsvTable::column(const std::string& name) const {
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (header[c] == name) return static_cast<int>(c);
  }
  std::string names;
  for (const std::string& h : header) names += (names.empty() ? "" : ", ") + h;
  throw Error(source + ": no column named \"" + name + "\"; the columns are: " + names);
}

std::string_view CsvTable::cell(int row, int column) const {
  const std::size_t at = static_cast<std::size_t>(row) * header.size() + column;
  return std::string_view(text).substr(starts[at], starts[at + 1] - starts[at]);
}

double CsvTable::number(int row, int column) const {
  const std::string cell(this->cell(row, column));
  const std::string where = source + ":" + std::to_string(lines[row]) + ": column " +
                            std::to_string(column + 1) + " (\"" + header[column] + "\")";
  double value = 0.0;
  const char* first = cell.data();
  const char* last = first + cell.size();
  if (first != last && *first == '+' && last - first > 1 && first[1] != '-') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range && ptr == last) {
    throw Error(where + ": " + cell + " is outside the range of a double");
  }
  if (cell.empty() || ec != std::errc() || ptr != last) {
    throw Error(where + ": \"" + cell + "\" is not a number");
  }
  if (!std::isfinite(value)) throw Error(where + ": " + cell + " is not a finite number");
  return value;
}

}  // namespace recur
