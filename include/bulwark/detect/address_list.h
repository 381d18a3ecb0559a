#pragma once
// Address lists (Spamhaus DROP, abuse.ch Feodo Tracker, or any list of networks) for rules: each
// list is a placeholder whose values are its networks, used as `field|expand|cidr: '%name%'` and
// matched with a radix tree (event::PrefixSet), however long the list.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/env.h"
#include "bulwark/core/result.h"
#include "bulwark/detect/field_map.h"

namespace bulwark::detect {

// Lists the built-in rules name. Placeholders of these names are always declared: empty when
// not configured, so that their rules match nothing until a list is given.
inline constexpr const char* kBuiltinAddressLists[] = {"spamhaus_drop", "feodo_c2"};

struct AddressList {
  std::vector<std::string> networks;  // as "address/length" or a bare address
  std::vector<Error> problems;        // lines without an address ("file:line")
};

// Reads the networks of a list. Understood: one entry per line, the first address or network
// of the line taken (Spamhaus DROP `1.10.16.0/20 ; SBL256894`, Feodo Tracker's plain list and
// CSV with quoted fields, plain lists); `#` and `;` start comments; JSON lines (DROP's
// drop_v4.json) give their "cidr" or "ip_address" member. A line that holds no address is a
// problem, named by `name`:line (except the first one, a CSV header); the others are still
// taken.
AddressList ReadAddressList(std::string_view text, const std::string& name);

// Reads each list file (name -> path) into `map`'s placeholders, and declares the built-in list
// names that are not configured as empty. Returns the problems of readable files; Errors: a
// file that cannot be read, or a list with no address at all.
Result<std::vector<Error>> AddAddressLists(const std::map<std::string, std::string>& files,
                                           FieldMap& map, const Env& env);

}  // namespace bulwark::detect
