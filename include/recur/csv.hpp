// CSV files with a header row, read as a table of text cells that remembers where each came
// from, so that every error can name the file, the line and the column.
#pragma once

#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace recur {

struct CsvTable {
  std::string source;               // the path, for messages
  std::vector<std::string> header;  // column names
  std::vector<int> lines;  // the file line of each row (1-based; the header is line 1 or later)

  int row_count() const { return static_cast<int>(lines.size()); }
  // The text of a cell, unquoted and trimmed.
  std::string_view cell(int row, int column) const;

  // The index of a named column; throws Error naming the column and listing the others.
  int column(const std::string& name) const;
  // A cell as a finite number; throws Error with file:line, the column's number and name.
  double number(int row, int column) const;

  // Every cell's text back to back, and where each begins: cell (r, c) is
  // text[starts[r * columns + c] .. starts[r * columns + c + 1]). About 8 bytes a cell beyond
  // the text itself, where one string per cell would take over 30.
  std::string text;
  std::vector<std::size_t> starts;
};

// Parses CSV text: comma-separated, fields may be double-quoted ("" for a quote), blank lines
// skipped, CRLF accepted. Throws Error for an empty file, a ragged row, an unterminated quote,
// or a duplicate column name, and a line longer than limits().max_line_length. read_csv reads
// a block at a time and refuses files over limits().max_file_size.
CsvTable parse_csv(std::string_view text, const std::string& source);
CsvTable read_csv(const std::string& path);
// What read_csv does after opening the file: reads a block at a time, so that memory holds
// the table's cells and one line, never the whole file, and a line over the limit is refused
// before it is held. The same table or the same Error as parse_csv of the whole text.
CsvTable read_csv_stream(std::istream& in, const std::string& source,
                         std::size_t block_size = 1 << 16);

}  // namespace recur
