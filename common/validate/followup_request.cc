#include "common/validate/followup_request.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "common/config/text.h"
#include "common/text.h"
#include "common/validate/fields.h"
#include "common/zone.h"

namespace sb::validate {

bool ValidRequestId(std::string_view id) {
  return !id.empty() && id.size() <= kMaxIdBytes &&
         id.find_first_not_of(
             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
             "0123456789._:/-") == std::string_view::npos;
}

bool CallsCustomer(pb::FollowUpKind kind) {
  return kind == pb::FOLLOW_UP_KIND_CALLBACK || kind == pb::FOLLOW_UP_KIND_COMPLAINT_REPLY ||
         kind == pb::FOLLOW_UP_KIND_RETURN_VISIT || kind == pb::FOLLOW_UP_KIND_KNOWLEDGE_GAP;
}

Status CheckFollowUpRequest(const pb::FollowUpRequest& r, int64_t now_ms, std::string_view prefix) {
  const Fields f(prefix);
  if (!ValidRequestId(r.request_id())) {
    return f.Bad("request_id", "required, 1.." + std::to_string(kMaxIdBytes) +
                                   " of letters, digits and . _ : / - (got " +
                                   Quote(r.request_id()) + ")");
  }
  if (!pb::FollowUpKind_IsValid(r.kind()) || r.kind() == pb::FOLLOW_UP_KIND_UNSPECIFIED) {
    return f.Bad("kind",
                 "required (callback, complaint_reply, return_visit, knowledge_gap, "
                 "repair_stage, department_feedback)");
  }
  const pb::FollowUpKind kind = r.kind();
  SB_RETURN_IF_ERROR(f.Line("customer_id", r.customer_id(), kMaxIdBytes, true));
  const bool needs_phone = CallsCustomer(kind) || kind == pb::FOLLOW_UP_KIND_REPAIR_STAGE;
  if (needs_phone && r.customer_phone().empty()) {
    return f.Bad("customer_phone", "required for this kind (a confirmed contact number)");
  }
  if (!r.customer_phone().empty() && !ValidPhone(r.customer_phone())) {
    return f.Bad("customer_phone", "not a phone number (+ and 6 to 20 digits)");
  }
  SB_RETURN_IF_ERROR(f.Line("customer_surname", r.customer_surname(), kMaxSurnameBytes,
                            kind == pb::FOLLOW_UP_KIND_CALLBACK));
  if (!pb::ReturnVisitKind_IsValid(r.return_visit_kind()) ||
      (kind == pb::FOLLOW_UP_KIND_RETURN_VISIT &&
       r.return_visit_kind() == pb::RETURN_VISIT_KIND_UNSPECIFIED)) {
    return f.Bad("return_visit_kind",
                 "required for a return visit (inquiry, complaint or survey), known values only");
  }
  if (!pb::RepairArea_IsValid(r.repair_area()) ||
      (kind == pb::FOLLOW_UP_KIND_REPAIR_STAGE && r.repair_area() == pb::REPAIR_AREA_UNSPECIFIED)) {
    return f.Bad("repair_area", "required for a repair order (urban or rural), known values only");
  }
  SB_RETURN_IF_ERROR(f.Line("department", r.department(), kMaxIdBytes,
                            kind == pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK));
  if (kind == pb::FOLLOW_UP_KIND_DEPARTMENT_FEEDBACK && r.deadline_at_ms() == 0) {
    return f.Bad("deadline_at_ms", "required when forwarding a case to a department");
  }
  if (!r.time_zone().empty() && !LoadZone(r.time_zone()).ok()) {
    return f.Bad("time_zone", "unknown time zone " + Quote(r.time_zone()) +
                                  " (an IANA name such as Asia/Shanghai)");
  }
  if (!r.queue().empty() && (r.queue().size() > 64 || !config::ValidNameChars(r.queue()))) {
    return f.Bad("queue", Quote(r.queue()) + " is not a queue name");
  }
  SB_RETURN_IF_ERROR(f.Line("owner", r.owner(), kMaxIdBytes, false));
  SB_RETURN_IF_ERROR(f.Line("preferred_agent", r.preferred_agent(), kMaxIdBytes, false));
  SB_RETURN_IF_ERROR(f.Line("case_id", r.case_id(), kMaxIdBytes, false));
  SB_RETURN_IF_ERROR(f.Line("event_key", r.event_key(), kMaxIdBytes, false));
  SB_RETURN_IF_ERROR(f.Line("complaint_category", r.complaint_category(), kMaxIdBytes, false));
  SB_RETURN_IF_ERROR(f.Line("customer_category", r.customer_category(), kMaxIdBytes, false));
  SB_RETURN_IF_ERROR(f.Line("submitted_by", r.submitted_by(), kMaxIdBytes, false));
  SB_RETURN_IF_ERROR(f.Text("note", r.note(), kMaxFollowUpNoteBytes));
  SB_RETURN_IF_ERROR(f.Time("due_at_ms", r.due_at_ms()));
  SB_RETURN_IF_ERROR(f.Time("deadline_at_ms", r.deadline_at_ms()));
  SB_RETURN_IF_ERROR(f.Time("window_end_ms", r.window_end_ms()));
  if (r.deadline_at_ms() != 0 && r.deadline_at_ms() <= now_ms) {
    return f.Bad("deadline_at_ms", "already passed");
  }
  if (r.window_end_ms() != 0 && r.window_end_ms() <= std::max(now_ms, r.due_at_ms())) {
    return f.Bad("window_end_ms", "must be after the due time and now");
  }
  return Status::Ok();
}

}  // namespace sb::validate
