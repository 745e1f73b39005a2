#include "capf/tftp/partial_config.hpp"

#include <pugixml.hpp>
#include <sstream>

#include "capf/tftp/encryptor.hpp"

namespace capf::tftp {
namespace {

pugi::xml_document parse_device(std::string_view full_xml, const std::string& file_name) {
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed =
        doc.load_buffer(full_xml.data(), full_xml.size(), pugi::parse_default, pugi::encoding_auto);
    if (!parsed) {
        throw EncryptorError(file_name + ": not an XML document: " + parsed.description() +
                             " at byte " + std::to_string(parsed.offset));
    }
    const pugi::xml_node root = doc.document_element();
    if (std::string_view(root.name()) != "device") {
        throw EncryptorError(file_name + ": the root element is <" + std::string(root.name()) +
                             ">, not <device>");
    }
    return doc;
}

void copy_if_present(const pugi::xml_node& from, pugi::xml_node& to, const char* name) {
    if (const pugi::xml_node source = from.child(name))
        to.append_copy(source);
}

/// capfList with each <capf> reduced to phonePort and processNodeName: the
/// rest of a CAPF entry is not the partial configuration's business.
void copy_capf_list(const pugi::xml_node& from, pugi::xml_node& to) {
    const pugi::xml_node source = from.child("capfList");
    if (!source)
        return;
    pugi::xml_node list = to.append_child("capfList");
    for (const pugi::xml_node capf : source.children("capf")) {
        pugi::xml_node entry = list.append_child("capf");
        copy_if_present(capf, entry, "phonePort");
        copy_if_present(capf, entry, "processNodeName");
    }
}

}  // namespace

std::string partial_config(std::string_view full_xml, const std::string& file_name_for_errors,
                           std::string_view cert_hash) {
    const pugi::xml_document full = parse_device(full_xml, file_name_for_errors);
    const pugi::xml_node source = full.document_element();

    pugi::xml_document out;
    pugi::xml_node decl = out.append_child(pugi::node_declaration);
    decl.append_attribute("version") = "1.0";
    decl.append_attribute("encoding") = "UTF-8";
    pugi::xml_node device = out.append_child("device");
    device.append_child("fullConfig").text() = "false";
    // Section 8.3 lists these; a source without one simply has nothing to
    // copy, and the phone keeps its own value, so it is left out.
    copy_if_present(source, device, "ipAddressMode");
    copy_if_present(source, device, "loadInformation");
    copy_if_present(source, device, "capfAuthMode");
    copy_capf_list(source, device);
    const std::string hash(cert_hash);
    pugi::xml_node cert_hash_node = device.append_child("certHash");
    if (!hash.empty())
        cert_hash_node.text() = hash.c_str();
    device.append_child("encrConfig").text() = "true";

    std::ostringstream text;
    out.save(text, "  ", pugi::format_default, pugi::encoding_utf8);
    return text.str();
}

}  // namespace capf::tftp
