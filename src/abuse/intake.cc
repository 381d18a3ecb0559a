#include "bulwark/abuse/intake.h"

#include "bulwark/core/digest.h"

namespace bulwark::abuse {

Result<IntakeResult> TakeReport(const ReportReader& reader, incident::Incidents& incidents,
                                store::Store& store, std::string_view bytes,
                                const ReportInput& input) {
  IntakeResult result;
  std::string sha256 = Sha256Hex(bytes);
  auto known = store.GetReport(sha256);
  if (!known) return tl::unexpected(known.error());
  if (*known) {
    result.duplicate = true;
    result.summary.sha256 = sha256;
    result.summary.format = (*known)->format;
    result.summary.notes.push_back("taken before (" + (*known)->name + ", " +
                                   FormatTimestamp((*known)->received) + "): not read again");
    return result;
  }
  std::optional<Error> store_error;
  auto summary =
      reader.Read(bytes, input,
                  {[&](model::Finding finding) {
                     if (store_error) return;
                     auto taken = incidents.Take(finding);
                     if (!taken) {
                       store_error = taken.error();
                       return;
                     }
                     ++result.outcomes[incident::OutcomeName(taken->outcome)];
                     result.taken.push_back(*taken);
                   },
                   [&](Error error) { result.rejected_rows.push_back(std::move(error)); }});
  if (!summary) return tl::unexpected(summary.error());
  if (store_error) return tl::unexpected(*store_error);
  auto stored = store.PutReport(
      {summary->sha256, input.name, summary->format, input.received, std::string(bytes)});
  if (!stored) return tl::unexpected(stored.error());
  result.summary = std::move(*summary);
  return result;
}

}  // namespace bulwark::abuse
