// Text for character models: UTF-8 by hand-encoded bytes, the vocabulary, the windows.
#include "recur/text.hpp"

#include <gtest/gtest.h>

#include <string>

#include "recur/error.hpp"

namespace recur {
namespace {

std::u32string decode(const std::string& bytes) {
  return decode_utf8({reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()}, "t.txt");
}

std::string error_of(const std::string& bytes) {
  try {
    decode(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Text, DecodesEveryLengthOfUtf8) {
  // 'a', e-acute (2 bytes), euro sign (3 bytes), G clef (4 bytes).
  const std::string bytes = "a\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9E";
  EXPECT_EQ(decode(bytes), (std::u32string{U'a', 0xE9, 0x20AC, 0x1D11E}));
  EXPECT_EQ(encode_utf8(decode(bytes)), bytes);
}

TEST(Text, NamesLineAndColumnOfBadBytes) {
  EXPECT_EQ(error_of("ab\ncd\xFF"),
            "t.txt:2:3: byte 0xFF cannot start a character; expected UTF-8 text");
  EXPECT_NE(error_of("x\xC0\xAF").find("t.txt:1:2: byte 0xC0 cannot start"), std::string::npos);
  EXPECT_NE(error_of("\xE0\x80\xAF").find("overlong"), std::string::npos);
  EXPECT_NE(error_of("\xED\xA0\x80").find("surrogate"), std::string::npos);
  EXPECT_NE(error_of("\xF4\x90\x80\x80").find("past U+10FFFF"), std::string::npos);
  EXPECT_NE(error_of("ok\xE2\x82").find("cuts short"), std::string::npos);
  EXPECT_NE(error_of("\xE2(x").find("not completed"), std::string::npos);
}

TEST(Text, VocabularyIsTheDistinctCharactersInOrder) {
  const Vocabulary v = Vocabulary::of(decode("b\xC3\xA9"
                                             "aab"),
                                      "t");
  ASSERT_EQ(v.size(), 3);
  EXPECT_EQ(v.symbol(0), U'a');
  EXPECT_EQ(v.symbol(2), char32_t{0xE9});
  EXPECT_EQ(v.find(U'b'), 1);
  EXPECT_EQ(v.find(U'z'), -1);
  EXPECT_THROW(Vocabulary::of(U"aaaa", "t"), Error);
  EXPECT_THROW(Vocabulary::from_symbols({97, 97}, "m"), Error);
  EXPECT_THROW(Vocabulary::from_symbols({0xD800}, "m"), Error);
}

TEST(Text, WindowsPairEachCharacterWithTheNext) {
  const std::u32string text = U"abcab";
  const Vocabulary v = Vocabulary::of(text, "t");
  const auto sequences = text_sequences(text, v, 3);
  ASSERT_EQ(sequences.size(), 2u);  // 4 steps: a window of 3 and one of 1
  EXPECT_EQ(sequences[0].input_classes, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(sequences[0].target_classes, (std::vector<int>{1, 2, 0}));
  EXPECT_EQ(sequences[1].length, 1);
  EXPECT_EQ(sequences[1].input_classes, (std::vector<int>{0}));
  EXPECT_EQ(sequences[1].target_classes, (std::vector<int>{1}));
}

}  // namespace
}  // namespace recur
