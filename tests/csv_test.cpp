// The CSV reader: what it accepts, and the file:line:column of everything it refuses.
#include "recur/csv.hpp"

#include <gtest/gtest.h>

#include "recur/error.hpp"

namespace recur {
namespace {

std::string error_of(const std::string& text, int row = -1, int column = -1) {
  try {
    const CsvTable t = parse_csv(text, "d.csv");
    if (row >= 0) t.number(row, column);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Csv, ReadsHeaderQuotesCrlfAndBlankLines) {
  const CsvTable t = parse_csv("a, \"b,c\"\r\n\n1,\"2\"\r\n  3 ,\"say \"\"hi\"\"\"\n", "d.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b,c"}));
  ASSERT_EQ(t.row_count(), 2);
  EXPECT_EQ(t.lines, (std::vector<int>{3, 4}));
  EXPECT_EQ(t.cell(1, 1), "say \"hi\"");
  EXPECT_EQ(t.number(0, 1), 2.0);
  EXPECT_EQ(t.number(1, 0), 3.0);
  EXPECT_EQ(t.column("b,c"), 1);
}

TEST(Csv, SkipsAByteOrderMark) {
  const CsvTable t = parse_csv("\xEF\xBB\xBFx,y\n1,+2\n", "d.csv");
  EXPECT_EQ(t.column("x"), 0);
  EXPECT_EQ(t.number(0, 1), 2.0);
}

TEST(Csv, RefusesBadFilesNamingWhere) {
  EXPECT_EQ(error_of(""), "d.csv: the file is empty; expected a header row");
  EXPECT_EQ(error_of("a,b\n"), "d.csv: no data rows after the header");
  EXPECT_EQ(error_of("a,b\n1,2\n3\n"), "d.csv:3: 1 columns, expected 2 as in the header");
  EXPECT_EQ(error_of("a,a\n1,2\n"), "d.csv:1: column 2 repeats the name \"a\"");
  EXPECT_EQ(error_of("a\n\"1\n"), "d.csv:2: a quoted field is not closed");
  EXPECT_EQ(error_of("a,b\n1,x\n", 0, 1), "d.csv:2: column 2 (\"b\"): \"x\" is not a number");
  EXPECT_EQ(error_of("a,b\n1,\n", 0, 1), "d.csv:2: column 2 (\"b\"): \"\" is not a number");
  EXPECT_EQ(error_of("a,b\n1,nan\n", 0, 1),
            "d.csv:2: column 2 (\"b\"): nan is not a finite number");
  EXPECT_EQ(error_of("a,b\n1,-inf\n", 0, 1),
            "d.csv:2: column 2 (\"b\"): -inf is not a finite number");
  EXPECT_EQ(error_of("a,b\n1,1e999\n", 0, 1),
            "d.csv:2: column 2 (\"b\"): 1e999 is outside the range of a double");
  EXPECT_EQ(error_of("a,b\n1,1e-400\n", 0, 1),
            "d.csv:2: column 2 (\"b\"): 1e-400 is outside the range of a double");
  EXPECT_EQ(error_of("a,b\n1,+-1\n", 0, 1), "d.csv:2: column 2 (\"b\"): \"+-1\" is not a number");
  try {
    parse_csv("a,b\n1,2\n", "d.csv").column("c");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "d.csv: no column named \"c\"; the columns are: a, b");
  }
}

}  // namespace
}  // namespace recur
