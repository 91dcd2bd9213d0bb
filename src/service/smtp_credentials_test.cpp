// SES SMTP password derivation against the reference's test vectors (§4.1).
#include "service/smtp_credentials.hpp"

#include <gtest/gtest.h>

namespace sesame::service {
namespace {
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

TEST(SmtpCredentials, DerivesSesPasswordsPerRegion) {
  EXPECT_EQ(smtp_password(kSecret, "us-east-1"), "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9");
  EXPECT_EQ(smtp_password(kSecret, "us-west-2"), "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd");
  EXPECT_EQ(smtp_password(kSecret, "eu-west-1"), "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk");
}

TEST(SmtpCredentials, ChecksPasswords) {
  EXPECT_EQ(check_smtp_password(kSecret, "us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"), SmtpPasswordCheck::kMatch);
  // Another region's password does not open this region.
  EXPECT_EQ(check_smtp_password(kSecret, "us-east-1", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd"), SmtpPasswordCheck::kMismatch);
  EXPECT_EQ(check_smtp_password(kSecret, "us-east-1", "An60U4ZD3sd4fg+FvXUjayOipTt8LO4rUUmhpdX6ctDy"), SmtpPasswordCheck::kLegacyV2);
  EXPECT_EQ(check_smtp_password(kSecret, "us-east-1", kSecret), SmtpPasswordCheck::kMismatch);
  EXPECT_EQ(check_smtp_password(kSecret, "us-east-1", ""), SmtpPasswordCheck::kMismatch);
  EXPECT_EQ(check_smtp_password(kSecret, "us-east-1", "!!!"), SmtpPasswordCheck::kMismatch);
}
}  // namespace
}  // namespace sesame::service
