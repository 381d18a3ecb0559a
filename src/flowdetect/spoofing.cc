// Spoofing: a system sending with an address the inventory does not give it at that time.

#include "bulwark/flow/flow.h"
#include "detectors.h"

namespace bulwark::flowdetect {

namespace {

class Spoofing : public Detector {
 public:
  explicit Spoofing(std::shared_ptr<const AddressBook> book) : book_(std::move(book)) {}

  // Only a MAC address the inventory knows names a sender: other MACs (a router's, on routed
  // traffic; devices nobody registered) say nothing about who sent the packet.
  void Observe(const Observation& o, std::vector<Detection>& out) override {
    if (o.source_mac == 0) return;
    std::string sender = book_->SystemOfMac(o.source_mac, o.time);
    if (sender.empty()) return;
    std::string holder = book_->SystemOfAddress(o.source, o.time);
    if (holder == sender) return;
    out.push_back(Detection{{{"host.id", sender},
                             {"source.ip", o.source.ToString()},
                             {"source.mac", flow::MacText(o.source_mac)}},
                            1});
  }
  size_t keys() const override { return 0; }
  size_t memory_bytes() const override { return 0; }

 private:
  std::shared_ptr<const AddressBook> book_;
};

}  // namespace

std::unique_ptr<Detector> MakeSpoofing(std::shared_ptr<const AddressBook> book) {
  return std::make_unique<Spoofing>(std::move(book));
}

}  // namespace bulwark::flowdetect
