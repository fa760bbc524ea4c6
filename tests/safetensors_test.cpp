// The safetensors reader and writer: round trips, the format's bytes, and damaged files.
#include "recur/safetensors.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "recur/error.hpp"

namespace recur {
namespace {

using Bytes = std::vector<unsigned char>;

// A file made by hand: header text and data bytes, with the length prefix.
Bytes make_file(const std::string& header, std::size_t data_bytes) {
  Bytes out(8 + header.size() + data_bytes, 0);
  const std::uint64_t len = header.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

std::string error_of(const Bytes& bytes) {
  try {
    parse_safetensors(bytes, "model.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Safetensors, RoundTripsTensorsAndMetadata) {
  Safetensors file;
  const std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 5.0f, 6.0f};
  const std::vector<double> b = {0.1, -0.2};
  file.tensors["a"] = StoredTensor::from_floats(a, {2, 3});
  file.tensors["b.bias"] = StoredTensor::from_doubles(b, {2});
  file.metadata["format"] = "recur-1";
  const Safetensors back = parse_safetensors(serialize_safetensors(file), "memory");
  EXPECT_EQ(back.metadata, file.metadata);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors.at("a").shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(back.tensors.at("a").dtype, "F32");
  EXPECT_EQ(back.tensors.at("a").to_doubles(), std::vector<double>(a.begin(), a.end()));
  EXPECT_EQ(back.tensors.at("b.bias").to_doubles(), b);
}

TEST(Safetensors, WritesTheDocumentedLayout) {
  Safetensors file;
  file.tensors["w"] = StoredTensor::from_doubles(std::vector<double>{2.0}, {1});
  const Bytes bytes = serialize_safetensors(file);
  std::uint64_t len = 0;
  std::memcpy(&len, bytes.data(), 8);
  EXPECT_EQ(len % 8, 0u);  // data starts 8-byte aligned
  ASSERT_EQ(bytes.size(), 8 + len + 8);
  const auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + len);
  EXPECT_EQ(header["w"]["dtype"], "F64");
  EXPECT_EQ(header["w"]["data_offsets"], nlohmann::json::array({0, 8}));
  double value = 0;
  std::memcpy(&value, bytes.data() + 8 + len, 8);
  EXPECT_EQ(value, 2.0);
}

TEST(Safetensors, RefusesDamagedFilesWithClearErrors) {
  const std::string good = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(error_of(make_file(good, 8)), "no error");
  EXPECT_NE(error_of(Bytes(5)).find("too short"), std::string::npos);
  Bytes past_end = make_file(good, 8);
  const std::uint64_t huge = 1ULL << 62;
  std::memcpy(past_end.data(), &huge, 8);
  EXPECT_NE(error_of(past_end).find("runs past the end of the file"), std::string::npos);
  EXPECT_NE(error_of(make_file(R"({"w": {"dtype": )", 8)).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of(make_file("[1, 2]", 0)).find("not a JSON object"), std::string::npos);
  const std::string outside = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})";
  EXPECT_NE(error_of(make_file(outside, 8)).find("outside the 8 bytes of data"), std::string::npos);
  const std::string overlap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_NE(error_of(make_file(overlap, 12)).find("overlaps"), std::string::npos);
  const std::string hole = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  EXPECT_NE(error_of(make_file(hole, 8)).find("belong to no tensor"), std::string::npos);
  const std::string wrong_size = R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_NE(error_of(make_file(wrong_size, 8)).find("need 16"), std::string::npos);
  const std::string dtype = R"({"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})";
  EXPECT_NE(error_of(make_file(dtype, 16)).find("unknown dtype"), std::string::npos);
  const std::string shape = R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})";
  EXPECT_NE(error_of(make_file(shape, 4)).find("shape"), std::string::npos);
  const std::string giant =
      R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})";
  EXPECT_NE(error_of(make_file(giant, 4)).find("too large"), std::string::npos);
  const std::string huge_dim =
      R"({"w":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}})";
  EXPECT_NE(error_of(make_file(huge_dim, 0)).find("too large"), std::string::npos);
  const std::string metadata = R"({"__metadata__":{"n":1}})";
  EXPECT_NE(error_of(make_file(metadata, 0)).find("not a string"), std::string::npos);
  // Every message starts with the file's name.
  EXPECT_EQ(error_of(Bytes(5)).rfind("model.safetensors: ", 0), 0u);
}

TEST(Safetensors, AcceptsAnEmptyTensorAtTheSameOffsetAsAnother) {
  // Zero-length ranges may share an offset with a real tensor; sorting must not call that an
  // overlap (the reference implementation sorts by begin, then end).
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})";
  EXPECT_EQ(error_of(make_file(header, 4)), "no error");
}

TEST(Safetensors, JsonErrorsAreShortAndPrintable) {
  std::string header = "{\"w\": \x1b[31m";
  header.append(100000, 'x');
  const std::string message = error_of(make_file(header, 0));
  EXPECT_LT(message.size(), 300u);
  EXPECT_EQ(message.find('\x1b'), std::string::npos);
}

TEST(Safetensors, EveryTruncationOfAGoodFileIsRefusedCleanly) {
  Safetensors file;
  file.tensors["w"] = StoredTensor::from_floats(std::vector<float>{1, 2, 3}, {3});
  file.metadata["k"] = "v";
  const Bytes bytes = serialize_safetensors(file);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const Bytes cut(bytes.begin(), bytes.begin() + n);
    EXPECT_THROW(parse_safetensors(cut, "cut"), Error) << n << " bytes";
  }
}

TEST(Safetensors, AtomicWriteReplacesWholeAndLeavesNoTemporaryFile) {
  const auto folder = std::filesystem::temp_directory_path() / "recur_safetensors_test";
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  const std::string path = (folder / "m.safetensors").string();
  Safetensors first, second;
  first.tensors["w"] = StoredTensor::from_floats(std::vector<float>{1}, {1});
  second.tensors["w"] = StoredTensor::from_floats(std::vector<float>{2, 3}, {2});
  write_safetensors(path, first);
  write_safetensors(path, second);
  EXPECT_EQ(read_safetensors(path).tensors.at("w").to_doubles(), (std::vector<double>{2, 3}));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(folder)) ++entries;
  EXPECT_EQ(entries, 1);
  // Replacing keeps the old file's permissions.
  std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::owner_write |
                                         std::filesystem::perms::group_read);
  write_safetensors(path, first);
  EXPECT_EQ(std::filesystem::status(path).permissions(), std::filesystem::perms::owner_read |
                                                             std::filesystem::perms::owner_write |
                                                             std::filesystem::perms::group_read);
  // A folder that does not exist: a clear error, and nothing written anywhere.
  try {
    write_safetensors((folder / "missing" / "m.safetensors").string(), first);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing/m.safetensors"), std::string::npos);
  }
  std::filesystem::remove_all(folder);
}

TEST(Safetensors, AFolderIsNotAFile) {
  try {
    read_safetensors(std::filesystem::temp_directory_path().string());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos);
  }
}

TEST(Safetensors, ReadingAMissingFileNamesIt) {
  try {
    read_safetensors("/nonexistent/recur.safetensors");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/nonexistent/recur.safetensors: cannot open", 0), 0u);
  }
}

}  // namespace
}  // namespace recur
