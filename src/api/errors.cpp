// The error table. v1 codes are listed in reference §2.1 (each is HTTP 400, Sender);
// v2 exceptions in §2.2. Auth rejections in §3.5.
#include "api/errors.hpp"

#include <map>
#include <utility>

namespace sesame::api {
namespace {
using base::ErrorCode;
using service::Api;

struct Entry {
  const char* code;
  int status;
};

// v1: (code, subject) -> wire code. Subject "" is the fallback for the code.
const std::map<std::pair<ErrorCode, std::string>, Entry>& v1_table() {
  static const std::map<std::pair<ErrorCode, std::string>, Entry> t = {
      {{ErrorCode::kValidation, ""}, {"ValidationError", 400}},
      {{ErrorCode::kInvalidParameter, ""}, {"InvalidParameterValue", 400}},
      {{ErrorCode::kInvalidParameter, "policy"}, {"InvalidPolicy", 400}},
      {{ErrorCode::kInvalidParameter, "template"}, {"InvalidTemplate", 400}},
      {{ErrorCode::kInvalidParameter, "sns-destination"}, {"InvalidSNSDestination", 400}},
      {{ErrorCode::kInvalidParameter, "cloudwatch-destination"}, {"InvalidCloudWatchDestination", 400}},
      {{ErrorCode::kInvalidParameter, "firehose-destination"}, {"InvalidFirehoseDestination", 400}},
      {{ErrorCode::kInvalidParameter, "configuration-set"}, {"InvalidConfigurationSet", 400}},
      {{ErrorCode::kInvalidParameter, "delivery-options"}, {"InvalidDeliveryOptions", 400}},
      {{ErrorCode::kInvalidParameter, "tracking-options"}, {"InvalidTrackingOptions", 400}},
      {{ErrorCode::kInvalidParameter, "sns-topic"}, {"InvalidSnsTopic", 400}},
      {{ErrorCode::kInvalidParameter, "s3-configuration"}, {"InvalidS3Configuration", 400}},
      {{ErrorCode::kInvalidParameter, "lambda-function"}, {"InvalidLambdaFunction", 400}},
      {{ErrorCode::kInvalidParameter, "custom-verification-content"}, {"CustomVerificationEmailInvalidContent", 400}},
      {{ErrorCode::kInvalidParameter, "from-address"}, {"FromEmailAddressNotVerified", 400}},
      {{ErrorCode::kInvalidParameter, "rendering-parameter"}, {"InvalidRenderingParameter", 400}},
      {{ErrorCode::kRejected, "production-access"}, {"ProductionAccessNotGranted", 400}},
      {{ErrorCode::kNotFound, ""}, {"InvalidParameterValue", 400}},
      {{ErrorCode::kNotFound, "rendering-attribute"}, {"MissingRenderingAttribute", 400}},
      {{ErrorCode::kNotFound, "identity"}, {"MessageRejected", 400}},
      {{ErrorCode::kNotFound, "template"}, {"TemplateDoesNotExist", 400}},
      {{ErrorCode::kNotFound, "configuration-set"}, {"ConfigurationSetDoesNotExist", 400}},
      {{ErrorCode::kNotFound, "event-destination"}, {"EventDestinationDoesNotExist", 400}},
      {{ErrorCode::kNotFound, "rule-set"}, {"RuleSetDoesNotExist", 400}},
      {{ErrorCode::kNotFound, "rule"}, {"RuleDoesNotExist", 400}},
      {{ErrorCode::kNotFound, "custom-verification-template"}, {"CustomVerificationEmailTemplateDoesNotExist", 400}},
      {{ErrorCode::kNotFound, "tracking-options"}, {"TrackingOptionsDoesNotExistException", 400}},
      {{ErrorCode::kAlreadyExists, ""}, {"AlreadyExists", 400}},
      {{ErrorCode::kAlreadyExists, "configuration-set"}, {"ConfigurationSetAlreadyExists", 400}},
      {{ErrorCode::kAlreadyExists, "event-destination"}, {"EventDestinationAlreadyExists", 400}},
      {{ErrorCode::kAlreadyExists, "custom-verification-template"}, {"CustomVerificationEmailTemplateAlreadyExists", 400}},
      {{ErrorCode::kAlreadyExists, "tracking-options"}, {"TrackingOptionsAlreadyExistsException", 400}},
      {{ErrorCode::kLimitExceeded, ""}, {"LimitExceeded", 400}},
      {{ErrorCode::kCannotDelete, ""}, {"CannotDelete", 400}},
      {{ErrorCode::kConflict, ""}, {"InvalidParameterValue", 400}},
      {{ErrorCode::kNotImplemented, ""}, {"NotImplemented", 501}},
      {{ErrorCode::kInternal, ""}, {"InternalFailure", 500}},
      {{ErrorCode::kUnavailable, ""}, {"ServiceUnavailable", 503}},
      {{ErrorCode::kRejected, ""}, {"MessageRejected", 400}},
      {{ErrorCode::kRejected, "mail-from"}, {"MailFromDomainNotVerifiedException", 400}},
      {{ErrorCode::kThrottled, ""}, {"Throttling", 400}},
      {{ErrorCode::kPaused, ""}, {"AccountSendingPausedException", 400}},
      {{ErrorCode::kPaused, "configuration-set"}, {"ConfigurationSetSendingPausedException", 400}},
  };
  return t;
}

const std::map<std::pair<ErrorCode, std::string>, Entry>& v2_table() {
  static const std::map<std::pair<ErrorCode, std::string>, Entry> t = {
      {{ErrorCode::kValidation, ""}, {"BadRequestException", 400}},
      {{ErrorCode::kInvalidParameter, ""}, {"BadRequestException", 400}},
      {{ErrorCode::kNotFound, ""}, {"NotFoundException", 404}},
      {{ErrorCode::kNotFound, "rendering-attribute"}, {"BadRequestException", 400}},
      {{ErrorCode::kRejected, "production-access"}, {"MessageRejected", 400}},
      {{ErrorCode::kAlreadyExists, ""}, {"AlreadyExistsException", 400}},
      {{ErrorCode::kLimitExceeded, ""}, {"LimitExceededException", 400}},
      {{ErrorCode::kCannotDelete, ""}, {"BadRequestException", 400}},
      {{ErrorCode::kConflict, ""}, {"ConflictException", 409}},
      {{ErrorCode::kNotImplemented, ""}, {"NotImplemented", 501}},
      {{ErrorCode::kInternal, ""}, {"InternalFailure", 500}},
      {{ErrorCode::kUnavailable, ""}, {"ServiceUnavailable", 503}},
      {{ErrorCode::kRejected, ""}, {"MessageRejected", 400}},
      {{ErrorCode::kRejected, "mail-from"}, {"MailFromDomainNotVerifiedException", 400}},
      {{ErrorCode::kThrottled, ""}, {"TooManyRequestsException", 429}},
      {{ErrorCode::kPaused, ""}, {"SendingPausedException", 400}},
  };
  return t;
}
// SNS (Query protocol, codes from the SNS model's exception shapes).
const std::map<std::pair<ErrorCode, std::string>, Entry>& sns_table() {
  static const std::map<std::pair<ErrorCode, std::string>, Entry> t = {
      {{ErrorCode::kValidation, ""}, {"InvalidParameter", 400}},
      {{ErrorCode::kInvalidParameter, ""}, {"InvalidParameter", 400}},
      {{ErrorCode::kNotFound, ""}, {"NotFound", 404}},
      {{ErrorCode::kAlreadyExists, ""}, {"InvalidParameter", 400}},
      {{ErrorCode::kConflict, ""}, {"InvalidParameter", 400}},
      {{ErrorCode::kLimitExceeded, ""}, {"InvalidParameter", 400}},
      {{ErrorCode::kLimitExceeded, "topic"}, {"TopicLimitExceeded", 403}},
      {{ErrorCode::kLimitExceeded, "subscription"}, {"SubscriptionLimitExceeded", 403}},
      {{ErrorCode::kCannotDelete, ""}, {"InvalidParameter", 400}},
      {{ErrorCode::kRejected, ""}, {"AuthorizationError", 403}},
      {{ErrorCode::kPaused, ""}, {"AuthorizationError", 403}},
      {{ErrorCode::kThrottled, ""}, {"Throttled", 429}},
      {{ErrorCode::kNotImplemented, ""}, {"NotImplemented", 501}},
      {{ErrorCode::kInternal, ""}, {"InternalError", 500}},
      {{ErrorCode::kUnavailable, ""}, {"ServiceUnavailable", 503}},
  };
  return t;
}
}  // namespace

WireError to_wire(Api api, const base::Error& e) {
  const auto& t = api == Api::kV1 ? v1_table() : api == Api::kV2 ? v2_table() : sns_table();
  auto it = t.find({e.code, e.subject});
  if (it == t.end()) it = t.find({e.code, ""});
  WireError w{it->second.code, e.message, it->second.status, it->second.status < 500};
  return w;
}

WireError to_wire(Api api, const AuthRejection& r) {
  bool v1 = api != Api::kV2;  // SNS speaks the Query protocol too
  switch (r.failure) {
    case AuthFailure::kMissing:
      return {v1 ? "MissingAuthenticationToken" : "MissingAuthenticationTokenException", r.message, 403, true};
    case AuthFailure::kIncomplete:
      return {v1 ? "IncompleteSignature" : "IncompleteSignatureException", r.message, v1 ? 400 : 403, true};
    case AuthFailure::kUnknownKey:
      return {v1 ? "InvalidClientTokenId" : "UnrecognizedClientException", r.message, 403, true};
    case AuthFailure::kExpired:
    case AuthFailure::kNotYetCurrent:
    case AuthFailure::kWrongService:
    case AuthFailure::kBadRegion:
    case AuthFailure::kBadSignature:
    case AuthFailure::kPayloadMismatch:
      return {v1 ? "SignatureDoesNotMatch" : "InvalidSignatureException", r.message, 403, true};
  }
  return {"InternalFailure", r.message, 500, false};
}

}  // namespace sesame::api
