// GET /_aws/ses (optionally ?email=ADDRESS) and DELETE /_aws/ses (optionally ?id=MESSAGEID)
// in capture mode, in the shape LocalStack uses, so test code written for LocalStack works.
// Like LocalStack's, the endpoint is unauthenticated: capture mode is for development.
#pragma once

#include "base/http_message.hpp"
#include "service/services.hpp"

namespace sesame::app {
base::HttpResponse capture_view(service::Services& services, const base::HttpRequest& request);

/// GET /_sesame/verify-email?account=&region=&identity=&token= : the link in a verification
/// mail. Unauthenticated (the token is the credential); answers a short HTML page.
base::HttpResponse verification_link_view(service::Services& services, const base::HttpRequest& request);
/// GET /t/o/... (open pixel) and /t/c/... (click redirect): records the Open or Click event;
/// 404 when the URL is not one Sesame signed or its message is gone.
base::HttpResponse tracking_view(service::Services& services, const base::HttpRequest& request);
}
