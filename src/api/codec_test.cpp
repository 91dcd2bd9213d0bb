// The model-driven codecs: v1 form decoding and XML encoding, v2 routing and decoding,
// and model validation messages.
#include <gtest/gtest.h>

#include "api/codec.hpp"
#include "api/json_fast.hpp"

namespace sesame::api {
namespace {

TEST(JsonFast, ReadsWhatNlohmannReads) {
  const std::string body = R"({"FromEmailAddress":"a@b.test","Destination":{"ToAddresses":["x@y.test"]},)"
                           R"("Content":{"Simple":{"Subject":{"Data":"caf\u00e9 \"q\" \\ \/ €"},)"
                           R"("Body":{"Text":{"Data":"line\r\nnext\t"}}}},"N":-0,"M":[1,18446744073,true,null]})";
  auto fast = parse_json_fast(body, 64);
  ASSERT_TRUE(fast.has_value());
  EXPECT_EQ(*fast, json::parse(body));
  EXPECT_EQ((*fast)["Content"]["Simple"]["Subject"]["Data"], "caf\xc3\xa9 \"q\" \\ / \xe2\x82\xac");
  EXPECT_TRUE((*fast)["M"][1].is_number_unsigned());
  EXPECT_TRUE((*fast)["N"].is_number_integer());
}

TEST(JsonFast, GivesUpOnWhatItLeavesToNlohmannAndOnErrors) {
  for (const char* text : {"{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":1234567890123456789}", "\"\\ud83d\\ude00\"",
                           "{\"a\":01}", "{\"a\":\"\x01\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
                           "{\"a\":1} x", "{\"a\":1,}", "[1,2", "{\"a\" 1}", "tru", "\"\\x\"", ""})
    EXPECT_FALSE(parse_json_fast(text, 64).has_value()) << text;
  EXPECT_TRUE(parse_json_fast("[[[1]]]", 3).has_value());
  EXPECT_FALSE(parse_json_fast("[[[[1]]]]", 3).has_value());  // deeper than allowed
}

TEST(QueryCodec, DecodesNestedListsAndEmptyList) {
  auto params = parse_form(
      "Action=SendEmail&Version=2010-12-01&Source=a%40example.com&Destination.ToAddresses.member.1=b%40example.com"
      "&Destination.ToAddresses.member.2=c%40example.com&Destination.CcAddresses=&Message.Subject.Data=Hi+%26+bye"
      "&Message.Body.Text.Data=x+y&Tags.member.1.Name=k&Tags.member.1.Value=v&ConfigurationSetName=cs");
  ASSERT_TRUE(params.ok());
  const Operation* op = ses_v1_model().find("SendEmail");
  ASSERT_TRUE(op);
  auto v = decode_query(op->input, params.value());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value()["Source"], "a@example.com");
  EXPECT_EQ(v.value()["Destination"]["ToAddresses"], json::array({"b@example.com", "c@example.com"}));
  EXPECT_EQ(v.value()["Destination"]["CcAddresses"], json::array());
  EXPECT_EQ(v.value()["Message"]["Subject"]["Data"], "Hi & bye");
  EXPECT_EQ(v.value()["Tags"][0]["Name"], "k");
  EXPECT_FALSE(validate(*op->input, v.value()));
}

TEST(QueryCodec, RejectsBadScalarsAndEscapes) {
  EXPECT_FALSE(parse_form("a=%zz").ok());
  EXPECT_FALSE(parse_form("a=%4").ok());
  const Operation* op = ses_v1_model().find("ListIdentities");
  auto v = decode_query(op->input, parse_form("MaxItems=ten").value());
  EXPECT_FALSE(v.ok());
  auto huge = decode_query(op->input, parse_form("MaxItems=99999999999").value());
  EXPECT_FALSE(huge.ok());
}

TEST(QueryCodec, BoundsListLength) {
  std::string form;
  for (int i = 1; i <= 20; ++i) form += "Identities.member." + std::to_string(i) + "=x&";
  DecodeLimits lim;
  lim.max_list_items = 10;
  const Operation* op = ses_v1_model().find("GetIdentityVerificationAttributes");
  EXPECT_FALSE(decode_query(op->input, parse_form(form).value(), lim).ok());
  lim.max_params = 5;
  EXPECT_FALSE(parse_form(form, lim).ok());
}

TEST(QueryCodec, EncodesResultWrapperMapsAndEscapes) {
  const Model& m = ses_v1_model();
  const Operation* op = m.find("GetIdentityVerificationAttributes");
  json out{{"VerificationAttributes", {{"a&b.com", {{"VerificationStatus", "Pending"}, {"VerificationToken", "<t>"}}}}}};
  std::string xml = encode_query_response(m, *op, out, "rid");
  EXPECT_NE(xml.find("<GetIdentityVerificationAttributesResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">"
                     "<GetIdentityVerificationAttributesResult><VerificationAttributes><entry><key>a&amp;b.com</key>"
                     "<value><VerificationStatus>Pending</VerificationStatus><VerificationToken>&lt;t&gt;"),
            std::string::npos);
  EXPECT_NE(xml.find("<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>"), std::string::npos);
  // An empty output still carries its Result element (botocore looks it up by name).
  std::string empty = encode_query_response(m, *m.find("DeleteIdentity"), json::object(), "r");
  EXPECT_NE(empty.find("<DeleteIdentityResult></DeleteIdentityResult>"), std::string::npos);
  // No output shape: only the metadata.
  std::string none = encode_query_response(m, *m.find("VerifyEmailAddress"), json::object(), "r");
  EXPECT_EQ(none.find("Result>"), std::string::npos);
}

TEST(QueryCodec, EncodesTimestampsAndDoubles) {
  const Model& m = ses_v1_model();
  std::string xml = encode_query_response(m, *m.find("GetSendQuota"),
                                          json{{"Max24HourSend", 200.0}, {"MaxSendRate", 1.5}, {"SentLast24Hours", 0}}, "r");
  EXPECT_NE(xml.find("<Max24HourSend>200.0</Max24HourSend>"), std::string::npos);
  EXPECT_NE(xml.find("<MaxSendRate>1.5</MaxSendRate>"), std::string::npos);
  std::string t = encode_query_response(m, *m.find("ListTemplates"),
                                        json{{"TemplatesMetadata", {{{"Name", "t"}, {"CreatedTimestamp", 1705320000.5}}}}}, "r");
  EXPECT_NE(t.find("<CreatedTimestamp>2024-01-15T12:00:00.500Z</CreatedTimestamp>"), std::string::npos);
}

TEST(RestJson, RoutesPreferLiteralSegments) {
  RestJsonRouter router(ses_v2_model());
  bool exists = false;
  auto m = router.match("POST", "/v2/email/contact-lists/news/contacts/list", &exists);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op->name, "ListContacts");
  m = router.match("GET", "/v2/email/contact-lists/news/contacts/a%2Bb%40c.com", &exists);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op->name, "GetContact");
  EXPECT_EQ(m->labels.at(1).second, "a+b@c.com");
  m = router.match("GET", "/v2/email/insights/abc/", &exists);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op->name, "GetMessageInsights");
  EXPECT_FALSE(router.match("PATCH", "/v2/email/account", &exists));
  EXPECT_TRUE(exists);
  EXPECT_FALSE(router.match("GET", "/v2/email/nothing-here", &exists));
  EXPECT_FALSE(exists);
}

TEST(RestJson, DecodesLabelsQueryAndBody) {
  RestJsonRouter router(ses_v2_model());
  base::HttpRequest req;
  req.method = "GET";
  req.target = "/v2/email/suppression/addresses";
  auto m = router.match("GET", "/v2/email/suppression/addresses", nullptr);
  ASSERT_TRUE(m);
  auto v = decode_rest_json(*m->op, *m, "Reason=BOUNCE&Reason=COMPLAINT&StartDate=2024-01-02T03%3A04%3A05Z&PageSize=5", req);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value()["Reasons"], json::array({"BOUNCE", "COMPLAINT"}));
  EXPECT_DOUBLE_EQ(v.value()["StartDate"].get<double>(), 1704164645.0);
  EXPECT_EQ(v.value()["PageSize"], 5);

  req.method = "POST";
  req.body = R"({"ConfigurationSetName":"cs","DeliveryOptions":{"TlsPolicy":"REQUIRE","MaxDeliverySeconds":600}})";
  m = router.match("POST", "/v2/email/configuration-sets", nullptr);
  v = decode_rest_json(*m->op, *m, "", req);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value()["DeliveryOptions"]["MaxDeliverySeconds"], 600);
  EXPECT_FALSE(validate(*m->op->input, v.value()));
}

TEST(RestJson, RejectsWrongTypesAndDeepNesting) {
  RestJsonRouter router(ses_v2_model());
  auto m = router.match("POST", "/v2/email/configuration-sets", nullptr);
  base::HttpRequest req;
  req.body = R"({"ConfigurationSetName":5})";
  EXPECT_FALSE(decode_rest_json(*m->op, *m, "", req).ok());
  req.body = "[1,2]";
  EXPECT_FALSE(decode_rest_json(*m->op, *m, "", req).ok());
  req.body = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(decode_rest_json(*m->op, *m, "", req).ok());
  req.body = "{\"ConfigurationSetName\":";
  EXPECT_FALSE(decode_rest_json(*m->op, *m, "", req).ok());
}

TEST(RestJson, EncodesTimestampsAsEpochNumbers) {
  const Operation* op = ses_v2_model().find("ListEmailTemplates");
  std::string out = encode_json_output(op->output, json{{"TemplatesMetadata", {{{"TemplateName", "t"}, {"CreatedTimestamp", 1705320000.5}}}},
                                                        {"internal", "dropped"}});
  EXPECT_EQ(out, R"({"TemplatesMetadata":[{"CreatedTimestamp":1705320000.5,"TemplateName":"t"}]})");
}

TEST(Validate, ReportsSesStyleMessages) {
  const Operation* op = ses_v2_model().find("CreateEmailIdentity");
  auto msg = validate(*op->input, json::object());
  ASSERT_TRUE(msg);
  EXPECT_EQ(*msg, "1 validation error detected: Value null at 'emailIdentity' failed to satisfy constraint: Member must not be null");
  op = ses_v1_model().find("ListIdentities");
  msg = validate(*op->input, json{{"IdentityType", "Bogus"}});
  ASSERT_TRUE(msg);
  EXPECT_NE(msg->find("Member must satisfy enum value set: [EmailAddress, Domain]"), std::string::npos);
}

TEST(Models, EveryOperationHasARoute) {
  RestJsonRouter router(ses_v2_model());
  for (const auto& op : ses_v2_model().operations()) {
    std::string path = op.request_uri.substr(0, op.request_uri.find('?'));
    std::string concrete;
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (path[i] == '{') {
        concrete += "x";
        i = path.find('}', i);
      } else {
        concrete += path[i];
      }
    }
    auto m = router.match(op.method, concrete, nullptr);
    ASSERT_TRUE(m) << op.name;
    EXPECT_EQ(m->op->name, op.name) << concrete;
  }
  EXPECT_EQ(ses_v1_model().operations().size(), 71u);
  EXPECT_EQ(ses_v2_model().operations().size(), 110u + 12u);  // botocore model + overlay routes
}

}  // namespace
}  // namespace sesame::api

namespace sesame::api {
namespace {
TEST(QueryCodec, ErrorsStayWellFormedXmlForHostileBytes) {
  std::string xml = encode_query_error(ses_v1_model(), "InvalidParameterValue",
                                       std::string("bad <\xff\xfe.example> \x01 ok \xc3\xa9"), true, "r");
  EXPECT_NE(xml.find("bad &lt;\xEF\xBF\xBD\xEF\xBF\xBD.example&gt; \xEF\xBF\xBD ok \xc3\xa9"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<Type>Sender</Type>"), std::string::npos);
}
}  // namespace
}  // namespace sesame::api
