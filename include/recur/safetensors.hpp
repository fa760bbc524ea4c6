// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON naming each
// tensor's dtype, shape and byte range, then the raw little-endian tensor bytes.
//
// Every file read is treated as hostile: parse_safetensors checks every length, offset, shape
// and dtype against the bytes actually there before touching them, and throws recur::Error
// naming the file and what is wrong. It never reads outside the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <functional>
#include <istream>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace recur {

struct StoredTensor {
  std::string dtype;                // as in the file: "F32", "F64", "F16", "I64", ...
  std::vector<std::int64_t> shape;  // row-major
  std::vector<unsigned char> bytes;

  std::int64_t elements() const;
  // The values as double; throws Error unless the dtype is F32 or F64.
  std::vector<double> to_doubles() const;
  static StoredTensor from_floats(std::span<const float> values, std::vector<std::int64_t> shape);
  static StoredTensor from_doubles(std::span<const double> values, std::vector<std::int64_t> shape);
};

struct Safetensors {
  std::map<std::string, StoredTensor> tensors;
  std::map<std::string, std::string> metadata;  // the header's "__metadata__"
};

// The header may be at most this long (the reference implementation's own limit).
constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;

// `source` names the bytes in error messages (the file's path).
Safetensors parse_safetensors(std::span<const unsigned char> bytes, const std::string& source);
Safetensors read_safetensors(const std::string& path);

std::vector<unsigned char> serialize_safetensors(const Safetensors& file);
// Serializes and writes atomically (see write_file_atomic).
void write_safetensors(const std::string& path, const Safetensors& file);

// Writes `bytes` to a new temporary file in path's folder, flushes it to disk, then renames
// it over path: path holds either its old content or the new, whole, never a part. Throws
// Error naming the path and the system's reason; the old file is left as it was.
void write_file_atomic(const std::string& path, std::span<const unsigned char> bytes);

// A file opened for reading at its start, and its size: throws Error naming the path if it
// cannot be opened, is not a regular file or is larger than limits().max_file_size.
std::ifstream open_input(const std::string& path, std::uint64_t& size);
// The whole file, opened as open_input does.
std::vector<unsigned char> read_file(const std::string& path);
// Reads `in` to its end block_size bytes at a time (the last block shorter), calling
// each(block) for every block, so that memory never holds more than one block; throws Error
// naming `source` if a read fails.
void read_blocks(std::istream& in, const std::string& source, std::size_t block_size,
                 const std::function<void(std::string_view)>& each);

}  // namespace recur
