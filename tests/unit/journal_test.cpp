// The journal of record and replay (emu/debug/journal.h): a recorded sequence of hook calls
// replays to the same answers; a call at another count, of another kind, past the end of a cut
// recording, or a header that differs, is a divergence.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "emu/debug/journal.h"

using namespace btvm;

namespace {

struct Stopped {
  std::string message;
  bool diverged;
};

std::vector<JournalItem> items(const std::string& append = "") { return {{"-append", append}, {"tty", "yes", false}}; }

std::string tempPath(const char* name) { return std::string("/tmp/btvm-journal-test-") + name; }

// The calls a guest might make, with the host's answers; returns what the journal answered.
std::string session(Journal& j, uint64_t& count, uint64_t input_at = 20) {
  std::string got;
  count = 0;  // power-on comes before the machine's first instruction
  got += std::to_string(j.powerOn(1700000000)) + ";";
  count = 10;
  got += std::to_string(j.clock(5000)) + ";";
  uint8_t buf[16];
  size_t n = j.receive(buf, sizeof buf, [](uint8_t*, size_t) { return size_t(0); });  // nothing yet
  got += std::to_string(n) + ";";
  got += std::to_string(j.inputOpen(true)) + ";";
  count = input_at;
  n = j.receive(buf, sizeof buf, [](uint8_t* b, size_t) {
    std::memcpy(b, "ab", 2);
    return size_t(2);
  });
  got += std::string(reinterpret_cast<char*>(buf), n) + ";";
  got += std::to_string(j.inputOpen(true)) + ";";
  got += std::to_string(j.readable([] { return false; })) + ";";
  got += std::to_string(j.readAhead(true)) + ";";
  count = 30;
  got += std::to_string(j.clock(4000)) + ";";  // clocks may go back across deltas
  got += std::to_string(j.inputOpen(false)) + ";";
  return got;
}

}  // namespace

TEST_CASE("journal: a replay answers as the recording, without asking the host") {
  std::string path = tempPath("roundtrip");
  uint64_t count = 0;
  std::string recorded;
  {
    auto j = Journal::record(path, items("a"));
    j->attach([&] { return count; }, [](const std::string& m, bool d) { throw Stopped{m, d}; });
    recorded = session(*j, count);
    CHECK(j->end(30, 33, false).empty());
  }
  CHECK(recorded == "1700000000;5000;0;1;ab;1;0;1;4000;0;");
  auto r = Journal::replay(path, items("a"));
  CHECK(r->replaying());
  CHECK(r->item("tty") == "yes");
  r->attach([&] { return count; }, [](const std::string& m, bool d) { throw Stopped{m, d}; });
  // The host's answers are ignored in replay: the session passes the same lambdas, and the
  // journal must not call them (receive's would give "ab" at once).
  CHECK(session(*r, count) == recorded);
  CHECK(r->end(30, 33, false).empty());
  std::remove(path.c_str());
}

TEST_CASE("journal: the run's end must match") {
  std::string path = tempPath("end");
  uint64_t count = 0;
  {
    auto j = Journal::record(path, items());
    j->attach([&] { return count; }, [](const std::string& m, bool d) { throw Stopped{m, d}; });
    session(*j, count);
    j->end(30, 33, false);
  }
  auto r = Journal::replay(path, items());
  r->attach([&] { return count; }, [](const std::string& m, bool d) { throw Stopped{m, d}; });
  session(*r, count);
  std::string msg = r->end(31, 33, false);
  CHECK(msg.find("replay diverged at instruction 31") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("journal: input asked for at another count diverges, naming the count") {
  std::string path = tempPath("diverge");
  uint64_t count = 0;
  {
    auto j = Journal::record(path, items());
    j->attach([&] { return count; }, [](const std::string& m, bool d) { throw Stopped{m, d}; });
    session(*j, count, 20);
    j->end(30, 33, false);
  }
  auto r = Journal::replay(path, items());
  r->attach([&] { return count; }, [](const std::string& m, bool d) { throw Stopped{m, d}; });
  try {
    session(*r, count, 25);
    FAIL("no divergence");
  } catch (const Stopped& s) {
    CHECK(s.diverged);
    CHECK(s.message.find("replay diverged at instruction 25") != std::string::npos);
    CHECK(s.message.find("at instruction 20") != std::string::npos);
  }
  std::remove(path.c_str());
}

TEST_CASE("journal: another header item, a cut recording, not a recording") {
  std::string path = tempPath("header");
  uint64_t count = 0;
  {
    auto j = Journal::record(path, items("a"));
    j->attach([&] { return count; }, [](const std::string& m, bool d) { throw Stopped{m, d}; });
    session(*j, count);
    j->end(30, 33, false);
  }
  CHECK_THROWS_AS(Journal::replay(path, items("b")), ReplayDiverged);
  // Cut inside its events: the replay runs out where the recording does.
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string cut = tempPath("cut");
  std::ofstream(cut, std::ios::binary) << data.substr(0, data.size() - 12);
  auto r = Journal::replay(cut, items("a"));
  r->attach([&] { return count; }, [](const std::string& m, bool d) { throw Stopped{m, d}; });
  try {
    session(*r, count);
    FAIL("no divergence");
  } catch (const Stopped& s) {
    CHECK(s.message.find("cut short") != std::string::npos);
  }
  std::ofstream(cut, std::ios::binary) << "hello";
  CHECK_THROWS_AS(Journal::replay(cut, items("a")), std::runtime_error);
  std::remove(path.c_str());
  std::remove(cut.c_str());
}
