#include "capf/ctl/output.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace capf::ctl {

using json = nlohmann::json;

namespace {

void print_line(const std::vector<std::string>& cells, const std::vector<std::size_t>& width,
                std::ostream& out) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
        out << cells[i];
        if (i + 1 < cells.size())
            out << std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out << "\n";
}

/// One entry of print_nested: "label value", or "label" and the value's
/// entries indented below it.
void print_entry(const std::string& label, const json& value, std::ostream& out, int indent) {
    if (!value.is_structured()) {
        out << label << " " << cell(value) << "\n";
    } else if (value.empty()) {
        out << label << " (none)\n";
    } else {
        out << label << "\n";
        print_nested(value, out, indent + 2);
    }
}

}  // namespace

std::string cell(const json& value) {
    if (value.is_null())
        return "-";
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_boolean())
        return value.get<bool>() ? "yes" : "no";
    return value.dump();
}

const json& member(const json& object, const std::string& key) {
    static const json null_value;
    if (!object.is_object())
        return null_value;
    const auto it = object.find(key);
    return it == object.end() ? null_value : *it;
}

void print_table(const json& rows, const Columns& columns, std::ostream& out) {
    std::vector<std::vector<std::string>> lines(1);
    for (const auto& column : columns)
        lines[0].push_back(column.second);
    if (rows.is_array()) {
        for (const auto& row : rows) {
            std::vector<std::string>& line = lines.emplace_back();
            for (const auto& column : columns)
                line.push_back(cell(member(row, column.first)));
        }
    }
    std::vector<std::size_t> width(columns.size(), 0);
    for (const auto& line : lines) {
        for (std::size_t i = 0; i < line.size(); ++i)
            width[i] = std::max(width[i], line[i].size());
    }
    for (const auto& line : lines)
        print_line(line, width, out);
}

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"')
            quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

void print_csv(const json& rows, const Columns& columns, std::ostream& out) {
    for (std::size_t i = 0; i < columns.size(); ++i)
        out << (i ? "," : "") << csv_field(columns[i].first);
    out << "\n";
    if (!rows.is_array())
        return;
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            const json& value = member(row, columns[i].first);
            out << (i ? "," : "") << csv_field(value.is_null() ? "" : cell(value));
        }
        out << "\n";
    }
}

void print_nested(const json& value, std::ostream& out, int indent) {
    const std::string pad(static_cast<std::size_t>(std::max(indent, 0)), ' ');
    if (value.is_object()) {
        for (const auto& [key, entry] : value.items())
            print_entry(pad + key + ":", entry, out, indent);
    } else if (value.is_array()) {
        for (const auto& entry : value)
            print_entry(pad + "-", entry, out, indent);
    } else {
        out << pad << cell(value) << "\n";
    }
}

void set_if_given(json& params, const char* key, const std::string& value) {
    if (!value.empty())
        params[key] = value;
}

}  // namespace capf::ctl
