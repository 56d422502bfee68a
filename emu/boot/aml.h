// A few AML (ACPI Machine Language) encoders, enough to write a small DSDT as nested calls that
// read like the ASL they stand for. Encodings: ACPI 6.x section 20.2 (AML grammar) and 6.4
// (resource descriptors). Package lengths are computed, never counted by hand.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace btvm::aml {

using Bytes = std::vector<uint8_t>;

Bytes join(std::initializer_list<Bytes> parts);
// A name path: "\\_SB_", "KBD_"; each segment exactly 4 characters (pad with '_').
Bytes name(const std::string& path);
Bytes integer(uint32_t v);              // ZeroOp, OneOp or the smallest constant prefix
Bytes eisaId(const char* id);           // EisaId ("PNP0303"): a compressed DWORD
Bytes nameDecl(const std::string& path, const Bytes& value);  // Name (path, value)
Bytes package(std::initializer_list<Bytes> elements);         // Package () { ... }
Bytes buffer(const Bytes& data);                              // Buffer () { data }
Bytes device(const std::string& seg, std::initializer_list<Bytes> terms);  // Device (seg) { ... }
Bytes scope(const std::string& path, std::initializer_list<Bytes> terms);  // Scope (path) { ... }

// Resource template items; resourceTemplate() appends the end tag.
Bytes io16(uint16_t min, uint16_t max, uint8_t align, uint8_t len);  // IO (Decode16, ...)
Bytes irqNoFlags(unsigned irq);                                       // IRQNoFlags () {irq}
// Address space descriptors a bridge produces (MinFixed, MaxFixed, PosDecode, no translation):
// WordBusNumber, WordIO (EntireRange) and DWordMemory (ReadWrite, cacheable or not).
Bytes wordBusNumber(uint16_t min, uint16_t max);
Bytes wordIo(uint16_t min, uint16_t max);
Bytes dwordMemory(uint32_t min, uint32_t max, bool cacheable);
Bytes resourceTemplate(std::initializer_list<Bytes> items);          // a Buffer

}  // namespace btvm::aml
