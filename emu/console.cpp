#include "emu/console.h"

#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace btvm {

namespace {

constexpr uint8_t kEscapeChar = 0x01;     // Ctrl-A, as QEMU
constexpr size_t kReadAheadMax = 64 << 10;  // typed ahead but not yet taken by the guest

const char kEscapeHelp[] =
    "\r\n"
    "C-a h    print this help\r\n"
    "C-a x    exit btvm\r\n"
    "C-a C-a  sends C-a\r\n";

bool readable(int fd, int64_t timeout_ns) {
  pollfd p{fd, POLLIN, 0};
  timespec ts{time_t(timeout_ns / 1000000000), long(timeout_ns % 1000000000)};
  int r = ppoll(&p, 1, timeout_ns < 0 ? nullptr : &ts, nullptr);
  return r > 0;  // POLLIN, or POLLHUP/POLLERR: a read() will tell
}

}  // namespace

void HostConsole::transmit(uint8_t byte) {
  if (cfg_.out_fd < 0) return;
  out_.push_back(char(byte));
  if (byte == '\n' || out_.size() >= 4096) flush();
}

void HostConsole::flush() {
  writeAll(out_.data(), out_.size());
  out_.clear();
}

void HostConsole::writeAll(const char* p, size_t n) {
  while (n > 0 && cfg_.out_fd >= 0) {
    ssize_t w = ::write(cfg_.out_fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // a closed or broken output: the guest's bytes are lost, as on a wire
    p += w;
    n -= size_t(w);
  }
}

size_t HostConsole::readInput(uint8_t* buf, size_t max) {
  if (cfg_.in_fd < 0 || eof_ || max == 0) return 0;
  if (!readable(cfg_.in_fd, 0)) return 0;
  ssize_t n;
  do n = ::read(cfg_.in_fd, buf, max);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  if (n <= 0) {  // end of file, or an input that failed for good
    eof_ = true;
    return 0;
  }
  return size_t(n);
}

size_t HostConsole::receive(uint8_t* buf, size_t max) {
  flush();  // the guest looks for input: whatever it printed before (a prompt) must show
  if (cfg_.interactive) {
    if (ahead_.size() < max) pollEscapes();
    size_t n = 0;
    while (n < max && !ahead_.empty()) {
      buf[n++] = ahead_.front();
      ahead_.pop_front();
    }
    return n;
  }
  return readInput(buf, max);
}

void HostConsole::pollEscapes() {
  if (!cfg_.interactive) return;
  uint8_t buf[256];
  while (ahead_.size() < kReadAheadMax) {
    size_t n = readInput(buf, std::min(sizeof buf, kReadAheadMax - ahead_.size()));
    if (n == 0) return;
    for (size_t i = 0; i < n; ++i) {
      uint8_t b = buf[i];
      if (escape_) {
        escape_ = false;
        escapeKey(b);
      } else if (b == kEscapeChar) {
        escape_ = true;
      } else {
        ahead_.push_back(b);
      }
    }
  }
}

// QEMU's mux keys; an unknown key after Ctrl-A is dropped, as there.
void HostConsole::escapeKey(uint8_t key) {
  switch (key) {
    case kEscapeChar: ahead_.push_back(kEscapeChar); break;
    case 'h':
    case '?':
      flush();
      writeAll(kEscapeHelp, sizeof kEscapeHelp - 1);
      break;
    case 'x':
      flush();
      if (on_quit) on_quit();
      break;
    default: break;
  }
}

bool HostConsole::inputEnded() const { return cfg_.in_fd >= 0 && !inputOpen(); }

bool HostConsole::waitReadable(int64_t timeout_ns) {
  if (cfg_.in_fd < 0 || eof_) {
    if (timeout_ns > 0) {
      timespec ts{time_t(timeout_ns / 1000000000), long(timeout_ns % 1000000000)};
      while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
    }
    return false;
  }
  return readable(cfg_.in_fd, timeout_ns);
}

// ---- the terminal's mode -------------------------------------------------------------------

namespace {

termios g_saved;
int g_fd = -1;
volatile sig_atomic_t g_raw = 0;

void onSignal(int sig) {
  restoreTerminal();  // tcsetattr is async-signal-safe
  // SA_RESETHAND put back the default action: die by the same signal, as without us.
  raise(sig);
}

}  // namespace

void restoreTerminal() {
  if (!g_raw) return;
  g_raw = 0;
  tcsetattr(g_fd, TCSANOW, &g_saved);
}

bool enterRawMode(int fd) {
  if (!isatty(fd) || tcgetattr(fd, &g_saved) != 0) return false;
  g_fd = fd;
  termios raw = g_saved;
  raw.c_iflag &= ~tcflag_t(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  raw.c_oflag |= OPOST;
  raw.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
  raw.c_cflag &= ~tcflag_t(CSIZE | PARENB);
  raw.c_cflag |= CS8;
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  static bool hooked = false;
  if (!hooked) {
    hooked = true;
    std::atexit(restoreTerminal);
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = onSignal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL})
      sigaction(sig, &sa, nullptr);
  }
  if (tcsetattr(fd, TCSAFLUSH, &raw) != 0) return false;
  g_raw = 1;
  return true;
}

}  // namespace btvm
