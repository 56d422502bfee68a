#include "emu/debug/journal_serial.h"

namespace btvm {

JournalSerial::JournalSerial(HostConsole& host, Journal& journal)
    : host_(host),
      journal_(journal),
      interactive_(journal.replaying() ? journal.item("interactive") == "yes" : host.interactive()) {}

size_t JournalSerial::receive(uint8_t* buf, size_t max) {
  host_.flush();  // the guest looks for input: what it printed (a prompt) shows first
  return journal_.receive(buf, max, [this](uint8_t* b, size_t m) { return host_.receive(b, m); });
}

bool JournalSerial::inputOpen() const {
  bool open = journal_.inputOpen(journal_.replaying() ? false : host_.inputOpen());
  was_open_ |= open;
  return open;
}

bool JournalSerial::hasReadAhead() const {
  return journal_.readAhead(journal_.replaying() ? false : host_.hasReadAhead());
}

bool JournalSerial::waitReadable(int64_t timeout_ns) {
  // A replay never sleeps: the recorded answer says whether input came.
  return journal_.readable([&] { return host_.waitReadable(timeout_ns); });
}

}  // namespace btvm
