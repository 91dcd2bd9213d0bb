// SigV4 against the reference vectors (ses-wire.md §3.6) and the rejection cases of §3.5.
#include "api/sigv4.hpp"

#include <gtest/gtest.h>

#include "base/encoding.hpp"
#include "support/fakes.hpp"

namespace sesame::api {
namespace {
const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

base::HttpRequest v2_get() {
  base::HttpRequest r;
  r.method = "GET";
  r.target = "/v2/email/identities/user%40example.com";
  r.headers = {{"Host", "email.us-east-1.amazonaws.com"}, {"X-Amz-Date", "20240115T120000Z"}};
  return r;
}

TEST(SigV4, SigningKeyMatchesReferenceVector) {
  EXPECT_EQ(base::hex_lower(signing_key(kSecret, "20240115", "us-east-1", "ses")),
            "298200d981d47a7dd4a05f2032b685d535e598e6ba26494a498c73610ba73b25");
}

TEST(SigV4, V2GetDoubleEncodesThePath) {
  auto r = v2_get();
  std::string canonical = canonical_request(r, {"host", "x-amz-date"}, base::hex_lower(base::sha256("")));
  EXPECT_EQ(canonical,
            "GET\n/v2/email/identities/user%2540example.com\n\nhost:email.us-east-1.amazonaws.com\n"
            "x-amz-date:20240115T120000Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string sts = string_to_sign("20240115T120000Z", "20240115/us-east-1/ses/aws4_request", canonical);
  EXPECT_NE(sts.find("166692f7140451a6b6a604f219e679b0e6a025f216e6d4fc7191d64cbbf05a13"), std::string::npos);
  EXPECT_EQ(base::hex_lower(base::hmac_sha256(signing_key(kSecret, "20240115", "us-east-1", "ses"), sts)),
            "9dce36b00442ff40822ffcf758ee0e1dd83497a4430845b06e39934dc0c18fde");
}

TEST(SigV4, V1PostVector) {
  base::HttpRequest r;
  r.method = "POST";
  r.target = "/";
  r.body = "Action=GetSendQuota&Version=2010-12-01";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"Host", "email.us-east-1.amazonaws.com"},
               {"X-Amz-Date", "20240115T120000Z"}};
  std::string canonical =
      canonical_request(r, {"content-type", "host", "x-amz-date"}, base::hex_lower(base::sha256(r.body)));
  std::string sts = string_to_sign("20240115T120000Z", "20240115/us-east-1/ses/aws4_request", canonical);
  EXPECT_EQ(base::hex_lower(base::hmac_sha256(signing_key(kSecret, "20240115", "us-east-1", "ses"), sts)),
            "2042c3a82f26c104e05868c7773da7e5008e7471ced6cbc7c03fcf5ca4f3556c");
}

TEST(SigV4, CanonicalQuerySortsAndReencodes) {
  EXPECT_EQ(canonical_query("b=2&a=x%2By&a=%20&TagKeys=k1"), "TagKeys=k1&a=%20&a=x%2By&b=2");
  EXPECT_EQ(canonical_query(""), "");
  EXPECT_EQ(canonical_query("flag"), "flag=");
}

TEST(SigV4, CanonicalUriNormalizes) {
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("//a/./b/../c/"), "/a/c/");
  EXPECT_EQ(canonical_uri("/v2/email/identities/a@b.com"), "/v2/email/identities/a%40b.com");
}

TEST(SigV4, ParsesTolerantly) {
  auto a = parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AKID/20240115/us-east-1/ses/aws4_request,SignedHeaders=host;x-amz-date,"
      "Signature=abc");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->access_key_id, "AKID");
  EXPECT_EQ(a->region, "us-east-1");
  EXPECT_EQ(a->signed_headers.size(), 2u);
  EXPECT_FALSE(parse_authorization("AWS4-HMAC-SHA256 Credential=AKID/20240115/us-east-1/ses"));
  EXPECT_FALSE(parse_authorization("AWS3-HTTPS AWSAccessKeyId=x,Algorithm=HmacSHA256,Signature=y"));
  EXPECT_FALSE(parse_authorization("AWS4-HMAC-SHA256 Signature=abc"));
  EXPECT_FALSE(parse_authorization(""));
}

class VerifierTest : public ::testing::Test {
 protected:
  testing::FakeClock clock{1705320000};  // 2024-01-15T12:00:00Z
  Verifier verifier{[](const std::string& id) -> base::Result<std::optional<KeyRecord>> {
                      if (id == "AKIDEXAMPLE") return std::optional<KeyRecord>(KeyRecord{kSecret, "123456789012"});
                      return std::optional<KeyRecord>();
                    },
                    clock};

  base::HttpRequest signed_request(double at, std::string_view secret = kSecret) {
    base::HttpRequest r;
    r.method = "POST";
    r.target = "/v2/email/identities";
    r.body = R"({"EmailIdentity":"a@b.com"})";
    r.headers = {{"Host", "127.0.0.1:4579"}, {"Content-Type", "application/json"}};
    sign_request(r, "AKIDEXAMPLE", secret, "eu-west-1", "ses", at);
    return r;
  }
  AuthFailure reject(const base::HttpRequest& r) {
    AuthRejection rej{};
    auto res = verifier.verify(r, &rej);
    EXPECT_TRUE(res.ok());
    EXPECT_FALSE(res.value().has_value());
    return rej.failure;
  }
};

TEST_F(VerifierTest, AcceptsAndScopesRegion) {
  AuthRejection rej{};
  auto res = verifier.verify(signed_request(clock.now()), &rej);
  ASSERT_TRUE(res.ok());
  ASSERT_TRUE(res.value().has_value());
  EXPECT_EQ(res.value()->account_id, "123456789012");
  EXPECT_EQ(res.value()->region, "eu-west-1");
}

TEST_F(VerifierTest, RejectsEachFailure) {
  base::HttpRequest unsigned_req;
  unsigned_req.method = "GET";
  unsigned_req.target = "/";
  EXPECT_EQ(reject(unsigned_req), AuthFailure::kMissing);
  EXPECT_EQ(reject(signed_request(clock.now(), "wrong")), AuthFailure::kBadSignature);
  EXPECT_EQ(reject(signed_request(clock.now() - 301)), AuthFailure::kExpired);
  EXPECT_EQ(reject(signed_request(clock.now() + 301)), AuthFailure::kNotYetCurrent);
  auto tampered = signed_request(clock.now());
  tampered.body += " ";
  EXPECT_EQ(reject(tampered), AuthFailure::kBadSignature);
  auto unknown = signed_request(clock.now());
  for (auto& [k, v] : unknown.headers)
    if (k == "Authorization") v.replace(v.find("AKIDEXAMPLE"), 11, "AKIDUNKNOWN");
  EXPECT_EQ(reject(unknown), AuthFailure::kUnknownKey);
  auto garbled = signed_request(clock.now());
  for (auto& [k, v] : garbled.headers)
    if (k == "Authorization") v = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE";
  EXPECT_EQ(reject(garbled), AuthFailure::kIncomplete);
}

TEST_F(VerifierTest, PayloadHashHeaderMustMatchBody) {
  auto r = signed_request(clock.now());
  r.headers.emplace_back("X-Amz-Content-Sha256", std::string(64, 'a'));
  EXPECT_EQ(reject(r), AuthFailure::kBadSignature);  // signed with the real hash, so it no longer matches
}

}  // namespace
}  // namespace sesame::api
