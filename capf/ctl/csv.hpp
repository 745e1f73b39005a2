// CSV as spreadsheets write it (RFC 4180): the device import of capfctl.
#pragma once

#include <istream>
#include <stdexcept>
#include <string>
#include <vector>

namespace capf {

class CsvError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Reads every record: fields separated by commas, optionally "quoted" (a
/// quoted field may hold commas, "" for a quote, and line breaks). Blank
/// lines are skipped; \r\n and \n both end a record. Throws CsvError naming
/// the line of an unterminated quote or text after a closing quote.
std::vector<std::vector<std::string>> read_csv(std::istream& in);

}  // namespace capf
