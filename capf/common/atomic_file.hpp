// Files another program may read at any moment (a TFTP server, an export
// reader, node_exporter's textfile collector): they appear whole or not at all. A reader sees the
// old content or the new one, never half a file, and a crash leaves no torn target behind.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <stdexcept>

namespace capf {

/// A file could not be written, renamed or removed: names the path and the
/// system's reason.
class FileWriteError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Called just before a file is replaced or removed, when everything slow
/// (writing, fsync) is done: it may throw to leave the target as it was
/// (the TFTP side asks whether this node still holds the delivery).
using BeforeReplace = std::function<void()>;

/// Writes `bytes` to a temporary file in the target's directory (created
/// O_CREAT|O_EXCL with a unique name starting with ".", so TFTP listings and
/// globs skip it), fsyncs it, calls `before_replace` (when given), renames
/// it over `target` and fsyncs the directory. On failure, or when
/// `before_replace` throws (its exception goes through), the temporary file
/// is removed and `target` is left as it was. Throws FileWriteError naming
/// the path and strerror.
void write_file_atomically(const std::filesystem::path& target, std::span<const std::uint8_t> bytes,
                           mode_t mode = 0644, const BeforeReplace& before_replace = {});

/// Calls `before_replace` (when given), removes `target` and fsyncs its
/// directory; a missing file is fine. Throws FileWriteError naming the
/// path and strerror, or what `before_replace` throws.
void remove_file_durably(const std::filesystem::path& target,
                         const BeforeReplace& before_replace = {});

}  // namespace capf
