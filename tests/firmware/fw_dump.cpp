// Writes btvm's firmware tables to DIR/NAME.dat (one file per table) for tools such as
// `iasl -d` and `dmidecode --from-dump`: fw_dump DIR [RAM_MIB]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "emu/boot/firmware.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fw_dump DIR [RAM_MIB]\n");
    return 2;
  }
  uint64_t mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 128;
  for (const btvm::FirmwareBlob& t : btvm::firmwareTables(mib << 20)) {
    std::string path = std::string(argv[1]) + "/" + t.name + ".dat";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(t.bytes.data(), 1, t.bytes.size(), f) != t.bytes.size()) {
      std::perror(path.c_str());
      return 1;
    }
    std::fclose(f);
  }
  return 0;
}
