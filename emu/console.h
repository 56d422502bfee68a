// The host end of the guest's serial console (COM1): where the UART's bytes go and come from.
//
// Output is buffered and written at every newline, when the machine flushes (the guest idles in
// HLT, the run ends) and whenever the UART looks for input, so a prompt without a newline shows
// at once. Input is read from a file descriptor only as far as the UART has room, so piped
// input waits in the pipe and is never dropped.
//
// Interactive mode (a terminal on the input): the terminal is put in raw mode (enterRawMode,
// restored on every exit path) and QEMU's escape keys work: Ctrl-A x quits, Ctrl-A h prints
// help, Ctrl-A Ctrl-A sends Ctrl-A. So that Ctrl-A x works while the guest takes no input,
// pollEscapes() reads typed bytes ahead into a queue that receive() serves first.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "emu/devices/uart16550.h"

namespace btvm {

struct ConsoleConfig {
  int in_fd = -1;            // -1: no input (the line is silent)
  int out_fd = 1;            // -1: output discarded
  bool interactive = false;  // in_fd is a terminal: escape keys and read-ahead
};

// COM1's input as the machine sees it: the UART's Backend plus what the dispatcher and an idle
// guest's HLT ask. HostConsole, or the journal's wrapper around it (emu/debug/journal_serial.h)
// under --record/--replay.
struct SerialInput : Uart16550::Backend {
  virtual bool interactive() const = 0;   // a person types: the dispatcher slices for the keys
  virtual bool inputEnded() const = 0;    // there was input, and it has ended
  virtual bool hasReadAhead() const = 0;  // typed-ahead bytes wait (interactive mode)
  // Sleeps until input is readable (true) or `timeout_ns` passes (false; < 0: no limit).
  virtual bool waitReadable(int64_t timeout_ns) = 0;
};

class HostConsole : public SerialInput {
 public:
  explicit HostConsole(const ConsoleConfig& c) : cfg_(c) {}
  ~HostConsole() override { flush(); }

  void transmit(uint8_t byte) override;
  size_t receive(uint8_t* buf, size_t max) override;
  bool inputOpen() const override { return cfg_.in_fd >= 0 && (!eof_ || !ahead_.empty()); }

  void flush();
  bool interactive() const override { return cfg_.interactive; }
  bool inputEnded() const override;  // there was input, and it has ended
  // Bytes typed ahead (interactive mode) that the UART has not taken yet.
  bool hasReadAhead() const override { return !ahead_.empty(); }
  // Interactive mode: takes what was typed into the read-ahead queue, acting on escape keys.
  void pollEscapes();
  // Sleeps until the input descriptor is readable (true) or `timeout_ns` passes (false);
  // timeout_ns < 0 waits without limit. Without input it only sleeps.
  bool waitReadable(int64_t timeout_ns) override;
  // Called when Ctrl-A x is typed (the machine ends the run; it need not return).
  std::function<void()> on_quit;

 private:
  size_t readInput(uint8_t* buf, size_t max);  // one read(); sets eof_
  void escapeKey(uint8_t key);
  void writeAll(const char* p, size_t n);

  ConsoleConfig cfg_;
  std::string out_;
  std::deque<uint8_t> ahead_;
  bool eof_ = false;
  bool escape_ = false;  // Ctrl-A seen, waiting for the command key
};

// Puts the terminal on `fd` in raw mode as QEMU's stdio does (no echo, no line editing, no
// signals from keys: Ctrl-C goes to the guest; output processing kept) and restores it at exit,
// on SIGINT, SIGTERM, SIGHUP, SIGQUIT and on fatal signals (then re-raised). Returns false if
// fd is not a terminal.
bool enterRawMode(int fd);
// Restores the terminal now (idempotent; also registered with atexit).
void restoreTerminal();

}  // namespace btvm
