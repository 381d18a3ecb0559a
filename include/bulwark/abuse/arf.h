#pragma once
// ARF feedback reports (RFC 5965): a multipart/report mail with a message/feedback-report part
// and usually the reported message. Read leniently, as real feedback loops need: Version 0.1 is
// accepted, a missing Source-IP is taken from the reported message's first Received header or
// the subject, a missing Arrival-Date from Received-Date or the mail's Date; every such guess is
// a note.

#include "bulwark/abuse/xarf.h"
#include "bulwark/mail/message.h"

namespace bulwark::abuse {

// Whether the mail carries a message/feedback-report part.
bool IsArf(const mail::Message& message);

// Errors: no feedback-report part, no source address anywhere, no time anywhere.
Result<ReportFields> ReadArf(const mail::Message& message);

}  // namespace bulwark::abuse
