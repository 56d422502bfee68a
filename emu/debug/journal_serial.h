// COM1's input through the journal (--record/--replay): the UART and the dispatcher ask this
// instead of the host console; recording, it asks the console and journals the answers,
// replaying, it answers from the recording and never reads the host's input. Output goes to the
// host console either way.
#pragma once
#include <functional>

#include "emu/console.h"
#include "emu/debug/journal.h"

namespace btvm {

class JournalSerial : public SerialInput {
 public:
  JournalSerial(HostConsole& host, Journal& journal);

  void transmit(uint8_t byte) override {
    if (!(muted && muted())) host_.transmit(byte);
  }
  // Reverse execution re-runs instructions whose output was printed already: it is not
  // printed again (emu/debug/snapshot.h). Empty: never muted.
  std::function<bool()> muted;
  size_t receive(uint8_t* buf, size_t max) override;
  bool inputOpen() const override;
  bool interactive() const override { return interactive_; }
  bool inputEnded() const override { return was_open_ && !journal_.inputOpen(host_.inputOpen()); }
  bool hasReadAhead() const override;
  bool waitReadable(int64_t timeout_ns) override;
  // Whether the input was ever open: part of a machine snapshot (emu/debug/snapshot.h).
  bool wasOpen() const { return was_open_; }
  void setWasOpen(bool v) { was_open_ = v; }

 private:
  HostConsole& host_;
  Journal& journal_;
  bool interactive_;          // as the recording's console was
  mutable bool was_open_ = false;
};

}  // namespace btvm
