// CSV files with a header row, read as a table of text cells that remembers where each came
// from, so that every error can name the file, the line and the column.
#pragma once

#include <string>
#include <vector>

namespace recur {

struct CsvTable {
  std::string source;               // the path, for messages
  std::vector<std::string> header;  // column names
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;  // the file line of each row (1-based; the header is line 1 or later)

  // The index of a named column; throws Error naming the column and listing the others.
  int column(const std::string& name) const;
  // A cell as a finite number; throws Error with file:line, the column's number and name.
  double number(int row, int column) const;
};

// Parses CSV text: comma-separated, fields may be double-quoted ("" for a quote), blank lines
// skipped, CRLF accepted. Throws Error for an empty file, a ragged row, an unterminated quote,
// or a duplicate column name.
CsvTable parse_csv(const std::string& text, const std::string& source);
CsvTable read_csv(const std::string& path);

}  // namespace recur
