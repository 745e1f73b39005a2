// Distinguished names as people read them in logs, tables and errors.
#pragma once

#include <botan/pkix_types.h>

#include <string>

namespace capf::ca {

/// "CN=CAPF-main, O=Example Hospital": attributes in certificate order,
/// short names for the common ones (the OID otherwise), and ',' '+' '"' '\'
/// escaped with a backslash as RFC 4514 does. Botan's own to_string quotes
/// every value, which reads badly in a table.
std::string dn_text(const Botan::X509_DN& dn);

}  // namespace capf::ca
