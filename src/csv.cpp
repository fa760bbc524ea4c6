#include "recur/csv.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "recur/error.hpp"
#include "recur/safetensors.hpp"

namespace recur {

namespace {

constexpr std::uint64_t kMaxCsvBytes = 1ULL << 30;  // 1 GiB

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

}  // namespace

CsvTable parse_csv(std::string_view text, const std::string& source) {
  CsvTable table;
  table.source = source;
  const std::size_t bom = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;  // UTF-8 byte order mark
  std::vector<std::string> fields;
  int line_number = 0;
  std::size_t pos = bom;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (++line_number == std::numeric_limits<int>::max()) {
      throw Error(source + ": more than " + std::to_string(line_number) + " lines");
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (!split_line(line, fields)) {
      throw Error(source + ":" + std::to_string(line_number) + ": a quoted field is not closed");
    }
    for (std::string& f : fields) f = trim(f);
    if (table.header.empty()) {
      std::set<std::string> seen;
      for (std::size_t c = 0; c < fields.size(); ++c) {
        if (!seen.insert(fields[c]).second) {
          throw Error(source + ":" + std::to_string(line_number) + ": column " +
                      std::to_string(c + 1) + " repeats the name \"" + fields[c] + "\"");
        }
      }
      table.header = fields;
      continue;
    }
    if (fields.size() != table.header.size()) {
      throw Error(source + ":" + std::to_string(line_number) + ": " +
                  std::to_string(fields.size()) + " columns, expected " +
                  std::to_string(table.header.size()) + " as in the header");
    }
    for (const std::string& f : fields) {
      table.starts.push_back(table.text.size());
      table.text += f;
    }
    table.lines.push_back(line_number);
  }
  if (table.header.empty()) throw Error(source + ": the file is empty; expected a header row");
  if (table.lines.empty()) throw Error(source + ": no data rows after the header");
  table.starts.push_back(table.text.size());
  return table;
}

CsvTable read_csv(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file(path, kMaxCsvBytes);
  return parse_csv({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path);
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
