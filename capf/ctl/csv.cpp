#include "capf/ctl/csv.hpp"

namespace capf {

std::vector<std::vector<std::string>> read_csv(std::istream& in) {
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> record;
    std::string field;
    bool quoted = false;       // inside a quoted field
    bool after_quote = false;  // a quoted field just closed
    bool any = false;          // the record has content
    std::size_t line = 1, quote_line = 0;
    auto end_field = [&] {
        record.push_back(std::move(field));
        field.clear();
        after_quote = false;
    };
    auto end_record = [&] {
        if (any) {
            end_field();
            records.push_back(std::move(record));
        }
        record.clear();
        field.clear();
        any = false;
        after_quote = false;
    };
    char c = 0;
    while (in.get(c)) {
        if (quoted) {
            if (c == '"') {
                if (in.peek() == '"') {
                    in.get(c);
                    field.push_back('"');
                } else {
                    quoted = false;
                    after_quote = true;
                }
            } else {
                if (c == '\n')
                    ++line;
                field.push_back(c);
            }
            continue;
        }
        if (c == '\r' && in.peek() == '\n')
            continue;
        if (c == '\n') {
            end_record();
            ++line;
            continue;
        }
        any = true;
        if (c == ',') {
            end_field();
        } else if (after_quote) {
            throw CsvError("line " + std::to_string(line) + ": text after a closing quote");
        } else if (c == '"' && field.empty()) {
            quoted = true;
            quote_line = line;
        } else {
            field.push_back(c);
        }
    }
    if (quoted)
        throw CsvError("line " + std::to_string(quote_line) + ": a quote is never closed");
    end_record();
    return records;
}

}  // namespace capf
