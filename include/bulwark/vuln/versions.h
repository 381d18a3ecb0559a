#pragma once
// Version orders: Debian's (dpkg's, for package versions of the Debian OSV ecosystem) and the
// loose order of upstream version strings that NVD's CPE ranges use. Pure; thread-safe.

#include <string_view>

namespace bulwark::vuln {

// Compares two Debian package versions ([epoch:]upstream[-revision]) as `dpkg --compare-versions`
// does: negative, zero or positive. Letters sort before non-letters, '~' before everything, even
// the end of the string.
int CompareDebianVersions(std::string_view a, std::string_view b);

// Compares two upstream versions ("9.2p1", "2.4.62", "1.0.0-rc1"): runs of digits numerically,
// runs of letters by bytes, '.', '-', '_' and '+' separate; at the first difference, a run of
// digits beats a run of letters. Where one version ends, the other's rest decides: only zeros
// are equal ("2.4.0" = "2.4"), a pre-release tag (alpha, beta, rc, pre, dev) is less
// ("1.0-rc1" < "1.0"), anything else more ("9.2p1" > "9.2"). Negative, zero or positive.
int CompareVersions(std::string_view a, std::string_view b);

}  // namespace bulwark::vuln
