#include "emu/boot/image_file.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace btvm {

namespace {
constexpr uint64_t kMaxImageBytes = 3ull << 30;  // nothing larger fits in the largest guest RAM
}

std::vector<uint8_t> readImageFile(const std::string& path, const char* what) {
  // O_NONBLOCK: opening a FIFO with no writer must not hang; fstat then refuses it.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw ImageError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct FdCloser { int fd; ~FdCloser() { ::close(fd); } } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw ImageError(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw ImageError(fmt::format("{}: is a directory, not a {}", path, what));
  if (!S_ISREG(st.st_mode)) throw ImageError(fmt::format("{}: not a regular file, not a {}", path, what));
  if (st.st_size == 0) throw ImageError(fmt::format("{}: empty file", path));
  if (uint64_t(st.st_size) > kMaxImageBytes)
    throw ImageError(fmt::format("{}: too large for a {} ({} bytes)", path, what, st.st_size));
  std::vector<uint8_t> data(size_t(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ImageError(fmt::format("{}: read error: {}", path, std::strerror(errno)));
    if (n == 0) break;  // the file shrank under us: parse what is there
    got += size_t(n);
  }
  data.resize(got);
  if (data.empty()) throw ImageError(fmt::format("{}: empty file", path));
  return data;
}

}  // namespace btvm
