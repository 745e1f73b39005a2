// The bytes a frame reader has been fed and not yet returned as messages,
// shared by the CAPF and the TVS readers: appended at the back, consumed at
// the front, compacted so that it stays near one message in size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace capf::protocol {

class StreamBuffer {
  public:
    /// Copies `bytes`; compacts first rather than growing past what was
    /// consumed.
    void append(std::span<const std::uint8_t> bytes) {
        if (start_ > 0 && (start_ == bytes_.size() || start_ >= bytes_.size() / 2)) {
            bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(start_));
            start_ = 0;
        }
        bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    }
    /// What is buffered; valid until the next append() or consume().
    std::span<const std::uint8_t> pending() const noexcept {
        return std::span<const std::uint8_t>(bytes_).subspan(start_);
    }
    /// Drops the first `n` pending bytes (at most size()).
    void consume(std::size_t n) noexcept {
        start_ += n;
        if (start_ == bytes_.size()) {
            bytes_.clear();
            start_ = 0;
        }
    }
    std::size_t size() const noexcept { return bytes_.size() - start_; }

  private:
    std::vector<std::uint8_t> bytes_;
    std::size_t start_ = 0;
};

}  // namespace capf::protocol
