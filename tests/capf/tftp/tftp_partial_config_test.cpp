#include <catch2/catch.hpp>
#include <pugixml.hpp>
#include <string>
#include <vector>

#include "capf/tftp/encryptor.hpp"
#include "capf/tftp/partial_config.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tftp_partial_config_test_cases {

using namespace capf::tftp;

namespace {

const char* const full_config = R"(<?xml version="1.0" encoding="UTF-8"?>
<device xsi:type="axl:XIPPhone" ctiid="12">
  <fullConfig>true</fullConfig>
  <deviceProtocol>SIP</deviceProtocol>
  <sshUserId>admin</sshUserId>
  <sshPassword>secret-that-must-not-leak</sshPassword>
  <ipAddressMode>0</ipAddressMode>
  <devicePool><name>Default</name></devicePool>
  <loadInformation>SIP78xx.14-1-1-0001-136</loadInformation>
  <capfAuthMode>0</capfAuthMode>
  <capfList>
    <capf>
      <phonePort>3804</phonePort>
      <processNodeName>capf.example.net</processNodeName>
      <secret>not copied</secret>
    </capf>
    <capf>
      <phonePort>3805</phonePort>
      <processNodeName>capf2.example.net</processNodeName>
    </capf>
  </capfList>
  <certHash>0123456789abcdef0123456789abcdef</certHash>
  <encrConfig>false</encrConfig>
</device>
)";

pugi::xml_document parse(const std::string& text) {
    pugi::xml_document doc;
    REQUIRE(doc.load_string(text.c_str()));
    return doc;
}

std::vector<std::string> child_names(const pugi::xml_node& node) {
    std::vector<std::string> out;
    for (const auto& c : node.children())
        out.emplace_back(c.name());
    return out;
}

}  // namespace

TEST_CASE("the partial configuration holds exactly the elements of 8.3, in order") {
    const std::string md5 = "d41d8cd98f00b204e9800998ecf8427e";
    const auto doc = parse(partial_config(full_config, "SEP001122334455.cnf.xml", md5));
    const pugi::xml_node device = doc.document_element();
    CHECK(std::string(device.name()) == "device");
    CHECK(child_names(device) == std::vector<std::string>{"fullConfig", "ipAddressMode",
                                                          "loadInformation", "capfAuthMode",
                                                          "capfList", "certHash", "encrConfig"});
    CHECK(std::string(device.child_value("fullConfig")) == "false");
    CHECK(std::string(device.child_value("ipAddressMode")) == "0");
    CHECK(std::string(device.child_value("loadInformation")) == "SIP78xx.14-1-1-0001-136");
    CHECK(std::string(device.child_value("capfAuthMode")) == "0");
    CHECK(std::string(device.child_value("certHash")) == md5);
    CHECK(std::string(device.child_value("encrConfig")) == "true");
    // Each <capf> keeps only phonePort and processNodeName.
    const auto capfs = device.child("capfList").children("capf");
    std::vector<std::string> ports;
    for (const auto& capf : capfs) {
        CHECK(child_names(capf) == std::vector<std::string>{"phonePort", "processNodeName"});
        ports.emplace_back(capf.child_value("phonePort"));
    }
    CHECK(ports == std::vector<std::string>{"3804", "3805"});
    CHECK(std::string(device.child("capfList").first_child().child_value("processNodeName")) ==
          "capf.example.net");
}

TEST_CASE("the partial configuration carries nothing else of the full one") {
    const std::string partial = partial_config(full_config, "SEP001122334455.cnf.xml", "ab");
    for (const char* secret : {"secret-that-must-not-leak", "sshUserId", "devicePool", "not copied",
                               "0123456789abcdef", "ctiid", "SIP</"}) {
        INFO(secret);
        CHECK(partial.find(secret) == std::string::npos);
    }
}

TEST_CASE("an empty certHash is an empty element, which sends the phone back to CAPF") {
    const auto doc = parse(partial_config(full_config, "SEP001122334455.cnf.xml", ""));
    const pugi::xml_node hash = doc.document_element().child("certHash");
    REQUIRE(hash);
    CHECK_FALSE(hash.first_child());
    CHECK(std::string(hash.child_value()).empty());
}

TEST_CASE("elements missing from the source are left out of the partial configuration") {
    // 8.3 lists the copied elements; one the source lacks has no value to
    // copy, so it is omitted rather than invented.
    const auto doc = parse(partial_config(
        "<device><loadInformation>L1</loadInformation><capfList><capf><phonePort>3804"
        "</phonePort></capf></capfList></device>",
        "SEP001122334455.cnf.xml", "ab"));
    const pugi::xml_node device = doc.document_element();
    CHECK(child_names(device) == std::vector<std::string>{"fullConfig", "loadInformation",
                                                          "capfList", "certHash", "encrConfig"});
    CHECK(child_names(device.child("capfList").child("capf")) ==
          std::vector<std::string>{"phonePort"});

    const auto bare = parse(partial_config("<device/>", "SEP001122334455.cnf.xml", ""));
    CHECK(child_names(bare.document_element()) ==
          std::vector<std::string>{"fullConfig", "certHash", "encrConfig"});
}

TEST_CASE("malformed XML is refused naming the file and the parser's message") {
    const std::string file = "/var/lib/provisioning/cnf/SEP001122334455.cnf.xml";
    for (const char* bad :
         {"<device><fullConfig>true</device>", "", "not xml at all <", "<device>"}) {
        INFO(bad);
        try {
            (void)partial_config(bad, file, "ab");
            FAIL("accepted");
        } catch (const EncryptorError& e) {
            CHECK_THAT(e.what(), Catch::Contains(file) && Catch::Contains("not an XML document"));
        }
    }
    CHECK_THROWS_WITH(partial_config("<device><a></b></device>", file, "ab"),
                      Catch::Contains("mismatch"));
}

TEST_CASE("a document whose root is not <device> is refused naming the file and the root") {
    const std::string file = "SEP001122334455.cnf.xml";
    CHECK_THROWS_WITH(
        partial_config("<html><body/></html>", file, "ab"),
        Catch::Contains(file) && Catch::Contains("<html>") && Catch::Contains("not <device>"));
    CHECK_THROWS_AS(partial_config("<Device/>", file, "ab"), EncryptorError);
}

}  // namespace tftp_partial_config_test_cases
