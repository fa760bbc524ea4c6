#include "model_metadata.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "recur/error.hpp"
#include "recur/text.hpp"

namespace recur::cli {

std::map<std::string, std::string> to_metadata(const DataMetadata& data) {
  if (!data.vocabulary.empty()) {
    return {{"data", "text"},
            {"vocabulary", nlohmann::json(data.vocabulary).dump()},
            {"loss", loss_name(data.loss)},
            {"target", "every"}};
  }
  const Normalization& n = data.normalization;
  return {
      {"data", "csv"},
      {"input_columns", nlohmann::json(data.spec.input_columns).dump()},
      {"target_columns", nlohmann::json(data.spec.target_columns).dump()},
      {"sequence_column", data.spec.sequence_column},
      {"forecast", data.spec.forecast ? "true" : "false"},
      {"loss", loss_name(data.loss)},
      {"target", data.last_step_only ? "last" : "every"},
      {"normalize", data.normalize},
      {"normalization", nlohmann::json{{"input_mean", n.input_mean},
                                       {"input_std", n.input_std},
                                       {"target_mean", n.target_mean},
                                       {"target_std", n.target_std}}
                            .dump()},
  };
}

DataMetadata data_metadata(const std::map<std::string, std::string>& metadata,
                           const std::string& source) {
  auto get = [&](const std::string& key) -> const std::string& {
    const auto it = metadata.find(key);
    if (it == metadata.end()) {
      throw Error(source + ": metadata has no \"" + key +
                  "\"; was this model trained by `recur train`?");
    }
    return it->second;
  };
  DataMetadata data;
  const auto kind = metadata.find("data");
  try {
    const std::string& loss = get("loss");
    if (loss != "sse" && loss != "mse" && loss != "cross-entropy") {
      throw Error(source + ": metadata loss is \"" + loss +
                  "\", expected sse, mse or cross-entropy");
    }
    data.loss = parse_loss(loss);
    if (kind != metadata.end() && kind->second == "text") {
      // Each symbol a whole number that fits (nlohmann's own conversion of a number out of
      // range, 1e29 say, is undefined behaviour: found by fuzz_metadata).
      const nlohmann::json symbols = nlohmann::json::parse(get("vocabulary"));
      if (!symbols.is_array()) throw Error(source + ": metadata vocabulary is not a list");
      for (const nlohmann::json& symbol : symbols) {
        if (!symbol.is_number_unsigned() || symbol.get<std::uint64_t>() > 0x10FFFF) {
          throw Error(source + ": metadata vocabulary holds " + symbol.dump() +
                      ", expected code points (0 to 1114111)");
        }
        data.vocabulary.push_back(static_cast<std::uint32_t>(symbol.get<std::uint64_t>()));
      }
      Vocabulary::from_symbols(data.vocabulary, source);  // checks each symbol
      if (data.vocabulary.empty() || data.loss != LossKind::kCrossEntropy) {
        throw Error(source + ": a text model needs a vocabulary and the cross-entropy loss");
      }
      return data;
    }
    if (kind != metadata.end() && kind->second != "csv") {
      throw Error(source + ": metadata data is \"" + kind->second + "\", expected csv or text");
    }
    data.spec.input_columns =
        nlohmann::json::parse(get("input_columns")).get<std::vector<std::string>>();
    data.spec.target_columns =
        nlohmann::json::parse(get("target_columns")).get<std::vector<std::string>>();
    data.spec.sequence_column = get("sequence_column");
    const std::string& forecast = get("forecast");
    if (forecast != "true" && forecast != "false") {
      throw Error(source + ": metadata forecast is \"" + forecast + "\", expected true or false");
    }
    data.spec.forecast = forecast == "true";
    const auto target = metadata.find("target");
    if (target != metadata.end() && target->second != "every" && target->second != "last") {
      throw Error(source + ": metadata target is \"" + target->second +
                  "\", expected every or last");
    }
    data.last_step_only = target != metadata.end() && target->second == "last";
    data.normalize = get("normalize");
    const auto n = nlohmann::json::parse(get("normalization"));
    data.normalization.input_mean = n.at("input_mean").get<std::vector<double>>();
    data.normalization.input_std = n.at("input_std").get<std::vector<double>>();
    data.normalization.target_mean = n.at("target_mean").get<std::vector<double>>();
    data.normalization.target_std = n.at("target_std").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": malformed metadata: " + e.what());
  }
  const Normalization& n = data.normalization;
  if (n.input_mean.size() != data.spec.input_columns.size() ||
      n.input_std.size() != data.spec.input_columns.size() ||
      n.target_mean.size() != data.spec.target_columns.size() ||
      n.target_std.size() != data.spec.target_columns.size()) {
    throw Error(source + ": normalisation statistics do not match the columns");
  }
  for (const auto* v : {&n.input_std, &n.target_std}) {
    for (double s : *v) {
      if (!(s > 0) || !std::isfinite(s)) {
        throw Error(source + ": a normalisation standard deviation is not a positive number");
      }
    }
  }
  return data;
}

std::string position_metadata(const EpochPosition& p) {
  const nlohmann::json j = {{"epoch", p.epoch + 1},    {"batches", p.batches},
                            {"loss_sum", p.total.sum}, {"loss_count", p.total.count},
                            {"norm_sum", p.norm_sum},  {"updates", p.updates}};
  return j.dump();
}

EpochPosition parse_position(const std::string& text, const std::string& source) {
  const auto malformed = [&](const std::string& why) {
    return Error(source + ": metadata epoch_position " + why);
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw malformed("is not valid JSON");
  }
  if (!j.is_object()) throw malformed("is not a JSON object");
  const auto whole = [&](const char* key, long long least) {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<long long>() < least ||
        j[key].get<long long>() > std::numeric_limits<int>::max()) {
      throw malformed(std::string("has its \"") + key + "\" count missing or out of range");
    }
    return static_cast<int>(j[key].get<long long>());
  };
  const auto number = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number() || !std::isfinite(j[key].get<double>()) ||
        j[key].get<double>() < 0) {
      throw malformed(std::string("has its \"") + key + "\" sum missing or out of range");
    }
    return j[key].get<double>();
  };
  EpochPosition p;
  p.epoch = whole("epoch", 1) - 1;  // stored counted from 1, as messages count
  p.batches = whole("batches", 0);
  p.updates = whole("updates", 0);
  p.total.sum = number("loss_sum");
  p.total.count = number("loss_count");
  p.norm_sum = number("norm_sum");
  return p;
}

}  // namespace recur::cli
