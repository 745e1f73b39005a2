// The partial configuration a phone downloads as SEP<MAC>.cnf.xml.sgn when
// its configuration is encrypted (protocol/README.md, section 8.3): just
// enough to reach CAPF and to decide whether its certificate is current.
#pragma once

#include <string>
#include <string_view>

namespace capf::tftp {

/// Builds the partial `<device>` document from the full configuration
/// `full_xml`. It holds exactly, in this order: fullConfig=false,
/// ipAddressMode, loadInformation, capfAuthMode, capfList (each <capf> with
/// only phonePort and processNodeName), certHash=`cert_hash` (an empty
/// element when empty: the phone goes back to CAPF), encrConfig=true. The
/// four copied elements are omitted when the source lacks them.
/// Throws EncryptorError naming `file_name_for_errors` when `full_xml` does
/// not parse (with the parser's message and offset) or its root element is
/// not <device> (naming what was found). Nothing is written anywhere.
std::string partial_config(std::string_view full_xml, const std::string& file_name_for_errors,
                           std::string_view cert_hash);

}  // namespace capf::tftp
