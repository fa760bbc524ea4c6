#include "recur/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "recur/error.hpp"
#include "recur/limits.hpp"

namespace recur {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian bytes; recur copies them as they are");

namespace {

// Bytes per element of each dtype safetensors defines.
int dtype_size(const std::string& dtype) {
  static const std::map<std::string, int> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
      {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},  {"BOOL", 1}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

std::string errno_text() {
  return std::strerror(errno);
}

struct Range {
  std::uint64_t begin, end;
  std::string name;
};

}  // namespace

std::int64_t StoredTensor::elements() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

std::vector<double> StoredTensor::to_doubles() const {
  std::vector<double> out(static_cast<std::size_t>(elements()));
  if (dtype == "F64" && bytes.size() == out.size() * 8) {
    std::memcpy(out.data(), bytes.data(), bytes.size());
  } else if (dtype == "F32" && bytes.size() == out.size() * 4) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      float v;
      std::memcpy(&v, bytes.data() + 4 * i, 4);
      out[i] = v;
    }
  } else {
    throw Error("tensor of dtype " + dtype + ": expected F32 or F64");
  }
  return out;
}

StoredTensor StoredTensor::from_floats(std::span<const float> values,
                                       std::vector<std::int64_t> shape) {
  StoredTensor t{"F32", std::move(shape), std::vector<unsigned char>(values.size() * 4)};
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

StoredTensor StoredTensor::from_doubles(std::span<const double> values,
                                        std::vector<std::int64_t> shape) {
  StoredTensor t{"F64", std::move(shape), std::vector<unsigned char>(values.size() * 8)};
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

Safetensors parse_safetensors(std::span<const unsigned char> bytes, const std::string& source) {
  auto fail = [&](const std::string& what) -> Error { return Error(source + ": " + what); };
  if (bytes.size() < 8) {
    throw fail("not a safetensors file: " + std::to_string(bytes.size()) +
               " bytes, too short for the 8-byte header length");
  }
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const std::uint64_t after = bytes.size() - 8;
  if (header_len > after) {
    throw fail("header length " + std::to_string(header_len) + " runs past the end of the file (" +
               std::to_string(bytes.size()) + " bytes)");
  }
  if (header_len > kMaxSafetensorsHeader) {
    throw fail("header length " + std::to_string(header_len) + " is over the limit of " +
               std::to_string(kMaxSafetensorsHeader) + " bytes");
  }
  const char* header_begin = reinterpret_cast<const char*>(bytes.data() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_begin, header_begin + header_len);
  } catch (const nlohmann::json::exception& e) {
    std::string why = e.what();  // quotes the offending text, which may be huge or binary
    if (why.size() > 160) why = why.substr(0, 160) + "...";
    for (char& c : why) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    throw fail("header is not valid JSON: " + why);
  }
  if (!header.is_object()) throw fail("header is not a JSON object");

  const std::span<const unsigned char> data = bytes.subspan(8 + header_len);
  Safetensors file;
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw fail("__metadata__ is not an object of strings");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) throw fail("__metadata__ \"" + key + "\" is not a string");
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor \"" + name + "\"";
    if (!entry.is_object()) throw fail(where + " is not an object");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) {
      throw fail(where + " has no dtype string");
    }
    StoredTensor tensor;
    tensor.dtype = entry["dtype"].get<std::string>();
    const int element_size = dtype_size(tensor.dtype);
    if (element_size == 0) throw fail(where + " has unknown dtype \"" + tensor.dtype + "\"");
    if (!entry.contains("shape") || !entry["shape"].is_array()) {
      throw fail(where + " has no shape array");
    }
    std::uint64_t elements = 1;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) throw fail(where + " has a shape that is not whole numbers");
      const std::uint64_t dim = d.get<std::uint64_t>();
      if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
          (dim != 0 && elements > std::numeric_limits<std::uint64_t>::max() / 16 / dim)) {
        throw fail(where + " has a shape too large to hold");
      }
      elements *= dim;
      tensor.shape.push_back(static_cast<std::int64_t>(dim));
    }
    const auto& offsets = entry.contains("data_offsets") ? entry["data_offsets"] : nlohmann::json();
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      throw fail(where + " has no data_offsets [begin, end]");
    }
    const std::uint64_t begin = offsets[0].get<std::uint64_t>();
    const std::uint64_t end = offsets[1].get<std::uint64_t>();
    if (begin > end || end > data.size()) {
      throw fail(where + " has data_offsets [" + std::to_string(begin) + ", " +
                 std::to_string(end) + "] outside the " + std::to_string(data.size()) +
                 " bytes of data");
    }
    if (end - begin != elements * element_size) {
      throw fail(where + " has " + std::to_string(end - begin) + " bytes but its shape and dtype " +
                 tensor.dtype + " need " + std::to_string(elements * element_size));
    }
    tensor.bytes.assign(data.begin() + begin, data.begin() + end);
    ranges.push_back({begin, end, name});
    file.tensors.emplace(name, std::move(tensor));
  }
  // The data must be covered exactly: no overlaps, no bytes that belong to no tensor.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].begin < covered) {
      throw fail("tensor \"" + ranges[i].name + "\" overlaps tensor \"" + ranges[i - 1].name +
                 "\" (bytes from " + std::to_string(ranges[i].begin) + ")");
    }
    if (ranges[i].begin > covered) {
      throw fail("data bytes " + std::to_string(covered) + " to " +
                 std::to_string(ranges[i].begin) + " belong to no tensor");
    }
    covered = ranges[i].end;
  }
  if (covered != data.size()) {
    throw fail("data bytes " + std::to_string(covered) + " to " + std::to_string(data.size()) +
               " belong to no tensor");
  }
  return file;
}

std::ifstream open_input(const std::string& path, std::uint64_t& size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + errno_text());
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": not a regular file");
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  if (end < 0) throw Error(path + ": cannot read its size");
  const std::uint64_t max_bytes = limits().max_file_size;
  if (static_cast<std::uint64_t>(end) > max_bytes) {
    throw Error(path + ": " + std::to_string(end) + " bytes, over the max-file-size limit of " +
                std::to_string(max_bytes));
  }
  in.seekg(0, std::ios::beg);
  size = static_cast<std::uint64_t>(end);
  return in;
}

std::vector<unsigned char> read_file(const std::string& path) {
  std::uint64_t size = 0;
  std::ifstream in = open_input(path, size);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  if (size > 0 &&
      !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw Error(path + ": read failed");
  }
  return bytes;
}

void read_blocks(std::istream& in, const std::string& source, std::size_t block_size,
                 const std::function<void(std::string_view)>& each) {
  std::vector<char> block(std::max<std::size_t>(block_size, 1));
  while (in.read(block.data(), static_cast<std::streamsize>(block.size())) || in.gcount() > 0) {
    each({block.data(), static_cast<std::size_t>(in.gcount())});
  }
  if (in.bad()) throw Error(source + ": read failed: " + errno_text());
}

Safetensors read_safetensors(const std::string& path) {
  return parse_safetensors(read_file(path), path);
}

std::vector<unsigned char> serialize_safetensors(const Safetensors& file) {
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    const std::uint64_t size = tensor.bytes.size();
    header[name] = {{"dtype", tensor.dtype},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::vector<unsigned char> out(8 + text.size() + offset);
  const std::uint64_t header_len = text.size();
  std::memcpy(out.data(), &header_len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  unsigned char* data = out.data() + 8 + text.size();
  for (const auto& [name, tensor] : file.tensors) {
    std::copy(tensor.bytes.begin(), tensor.bytes.end(), data);
    data += tensor.bytes.size();
  }
  return out;
}

void write_safetensors(const std::string& path, const Safetensors& file) {
  write_file_atomic(path, serialize_safetensors(file));
}

void write_file_atomic(const std::string& path, std::span<const unsigned char> bytes) {
  const std::filesystem::path target(path);
  const std::filesystem::path folder =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string temp = (folder / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = mkstemp(temp.data());
  if (fd < 0) throw Error(path + ": cannot create a temporary file beside it: " + errno_text());
  auto abandon = [&](const std::string& what) -> Error {
    const std::string reason = errno_text();
    ::close(fd);
    ::unlink(temp.c_str());
    return Error(path + ": " + what + ": " + reason + "; the old file, if any, is unchanged");
  };
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw abandon("write failed");
    written += static_cast<std::size_t>(n);
  }
  // mkstemp makes the file 0600: give it the old file's mode, or what a new file would get.
  struct stat old_file;
  mode_t mode = 0;
  if (::stat(path.c_str(), &old_file) == 0) {
    mode = old_file.st_mode & 07777;
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  if (::fchmod(fd, mode) != 0) throw abandon("cannot set permissions");
  if (::fsync(fd) != 0) throw abandon("cannot flush to disk");
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    throw Error(path + ": close failed: " + errno_text());
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(temp.c_str());
    throw Error(path + ": cannot rename the new file into place: " + reason);
  }
  // Make the rename itself durable.
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace recur
