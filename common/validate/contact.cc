#include "common/validate/contact.h"

#include <string>

#include "common/text.h"
#include "common/validate/fields.h"

namespace sb::validate {
namespace {

template <typename IsValid>
Status Enum(const Fields& f, std::string_view field, int value, IsValid is_valid, bool required) {
  if (!is_valid(value)) return f.Bad(field, "unknown value " + std::to_string(value));
  if (required && value == 0) return f.Bad(field, "required (UNSPECIFIED is not allowed)");
  return Status::Ok();
}

Status Proficiency(const Fields& f, const std::string& field, uint32_t p) {
  if (p < 1 || p > 5) return f.Bad(field, "must be 1..5, not " + std::to_string(p));
  return Status::Ok();
}

// A skill named in a list entry: present and known to the config.
Status Skill(const Fields& f, const std::string& field, const std::string& skill,
             const KnownNames& known) {
  SB_RETURN_IF_ERROR(f.Line(field, skill, kMaxIdBytes, true));
  if (!known.skill(skill)) return f.Bad(field, "unknown skill " + Quote(skill));
  return Status::Ok();
}

}  // namespace

Status CheckContactId(std::string_view id, std::string_view field) {
  return Fields("").Line(field, std::string(id), kMaxContactIdBytes, true);
}

Status CheckContact(const pb::Contact& c, const KnownNames& known, Source source,
                    std::string_view prefix) {
  const Fields f(prefix);
  SB_RETURN_IF_ERROR(f.Line("idempotency_key", c.idempotency_key(), kMaxIdBytes, false));
  SB_RETURN_IF_ERROR(f.Line("queue", c.queue(), kMaxIdBytes, true));
  if (!known.queue(c.queue())) return f.Bad("queue", "unknown queue " + Quote(c.queue()));
  SB_RETURN_IF_ERROR(Enum(f, "channel", c.channel(), pb::Channel_IsValid, true));
  if (c.required_skills_size() > static_cast<int>(kMaxListItems)) {
    return f.Bad("required_skills", "more than " + std::to_string(kMaxListItems) + " entries");
  }
  for (int i = 0; i < c.required_skills_size(); ++i) {
    const std::string at = "required_skills[" + std::to_string(i) + "]";
    SB_RETURN_IF_ERROR(Skill(f, at + ".skill", c.required_skills(i).skill(), known));
    SB_RETURN_IF_ERROR(
        Proficiency(f, at + ".min_proficiency", c.required_skills(i).min_proficiency()));
  }
  SB_RETURN_IF_ERROR(Enum(f, "priority", c.priority(), pb::Priority_IsValid, false));
  SB_RETURN_IF_ERROR(Enum(f, "origin", c.origin(), pb::Origin_IsValid, false));
  SB_RETURN_IF_ERROR(Enum(f, "segment", c.segment(), pb::Segment_IsValid, false));
  SB_RETURN_IF_ERROR(f.Line("preferred_agent", c.preferred_agent(), kMaxIdBytes, false));
  if (!c.language().empty() && !known.skill(c.language())) {
    return f.Bad("language", "unknown skill " + Quote(c.language()));
  }
  SB_RETURN_IF_ERROR(f.Line("customer_id", c.customer_id(), kMaxIdBytes, false));
  SB_RETURN_IF_ERROR(f.Time("created_at_ms", c.created_at_ms()));
  if (c.attributes_size() > static_cast<int>(kMaxAttributes)) {
    return f.Bad("attributes", "more than " + std::to_string(kMaxAttributes) + " entries");
  }
  for (const auto& [k, v] : c.attributes()) {
    SB_RETURN_IF_ERROR(f.Line("attributes", k, kMaxIdBytes, true));
    if (source == Source::kCaller && k.starts_with(kReservedAttributePrefix)) {
      return f.Bad("attributes", "key " + Quote(k) + " is reserved (keys starting " +
                                     Quote(kReservedAttributePrefix) + " are the router's own)");
    }
    SB_RETURN_IF_ERROR(f.Text("attributes[" + Quote(k) + "]", v, kMaxAttributeValueBytes));
  }
  return Status::Ok();
}

Status CheckAgent(const pb::Agent& a, const KnownNames& known, std::string_view prefix) {
  const Fields f(prefix);
  SB_RETURN_IF_ERROR(f.Line("id", a.id(), kMaxIdBytes, true));
  SB_RETURN_IF_ERROR(f.Line("domain", a.domain(), kMaxIdBytes, true));
  if (!known.domain(a.domain())) {
    return f.Bad("domain", "unknown domain " + Quote(a.domain()));
  }
  if (a.skills_size() > static_cast<int>(kMaxListItems)) {
    return f.Bad("skills", "more than " + std::to_string(kMaxListItems) + " entries");
  }
  for (int i = 0; i < a.skills_size(); ++i) {
    const std::string at = "skills[" + std::to_string(i) + "]";
    SB_RETURN_IF_ERROR(Skill(f, at + ".skill", a.skills(i).skill(), known));
    SB_RETURN_IF_ERROR(Proficiency(f, at + ".proficiency", a.skills(i).proficiency()));
  }
  if (a.capacity_units() > kMaxCapacityUnits) {
    return f.Bad("capacity_units", "at most " + std::to_string(kMaxCapacityUnits) + ", got " +
                                       std::to_string(a.capacity_units()));
  }
  return Status::Ok();
}

}  // namespace sb::validate
