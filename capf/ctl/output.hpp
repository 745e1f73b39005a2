// How capfctl prints results: tables, CSV and nested key/value lines. Every
// function writes whole lines, each ending with "\n", to the stream it gets.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace capf::ctl {

/// The columns of a table or CSV: the key in each row, and the title of the
/// table column (CSV headers use the key).
using Columns = std::vector<std::pair<std::string, std::string>>;

/// A value as one cell: strings as given (times are ISO 8601 UTC from capfd
/// and stay so), null as "-", booleans as yes/no, anything else as JSON.
std::string cell(const nlohmann::json& value);

/// `object[key]`, or null when `object` is not an object or lacks the key
/// (a result from an older or newer capfd may).
const nlohmann::json& member(const nlohmann::json& object, const std::string& key);

/// A header line of titles, then one line per row (missing keys as "-"),
/// columns padded to their widest cell. An empty or missing `rows` prints
/// the header alone.
void print_table(const nlohmann::json& rows, const Columns& columns, std::ostream& out);

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line
/// break, with quotes doubled.
std::string csv_field(const std::string& text);

/// A header line of keys, then one line per row; null and missing as empty.
void print_csv(const nlohmann::json& rows, const Columns& columns, std::ostream& out);

/// "key: value" lines; an object or list value as "key:" followed by its
/// entries indented two more spaces (list items as "- value"); an empty one
/// as "key: (none)". `indent` spaces before the top level.
void print_nested(const nlohmann::json& value, std::ostream& out, int indent = 0);

/// Sets params[key] unless `value` is empty: capfd then applies its default.
void set_if_given(nlohmann::json& params, const char* key, const std::string& value);

}  // namespace capf::ctl
