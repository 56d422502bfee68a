#include "emu/boot/bios.h"

#include <fmt/core.h>

#include "emu/boot/image_file.h"

namespace btvm {

void loadBiosImage(const std::string& path, PhysMemory& mem) {
  std::vector<uint8_t> image = readImageFile(path, "BIOS image");
  if (image.size() % (64u << 10) != 0 || image.size() > PhysMemory::kMaxRomBytes)
    throw ImageError(fmt::format("{}: a BIOS image must be a multiple of 64 KiB, at most {} MiB ({} bytes)", path,
                                 PhysMemory::kMaxRomBytes >> 20, image.size()));
  mem.mapRom(image);
}

}  // namespace btvm
