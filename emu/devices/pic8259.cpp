#include "emu/devices/pic8259.h"

#include "emu/devices/devices.h"

namespace btvm {

int Pic8259::Chip::highestIn(uint8_t bits) const {
  for (unsigned p = 0; p < 8; ++p) {
    unsigned line = (lowest + 1 + p) & 7;
    if (bits & (1u << line)) return int(line);
  }
  return -1;
}

int Pic8259::Chip::pendingLine() const {
  int req = highestIn(uint8_t(irr & ~imr));
  if (req < 0) return -1;
  uint8_t blocking = isr;
  if (special_mask) blocking &= uint8_t(~imr);  // masked levels in service do not block (OCW3 SMM)
  if (sfnm) blocking &= uint8_t(~0x04);         // special fully nested: the slave may nest
  int served = highestIn(blocking);
  if (served >= 0 && priorityOf(unsigned(served)) <= priorityOf(unsigned(req))) return -1;
  return req;
}

void Pic8259::Chip::setLine(unsigned line, bool high) {
  uint8_t bit = uint8_t(1u << line);
  bool level_mode = ltim || (elcr & bit);
  if (level_mode) {
    irr = high ? uint8_t(irr | bit) : uint8_t(irr & ~bit);
  } else if (high && !(level & bit)) {
    irr |= bit;  // rising edge; stays latched after the line falls, as in QEMU
  }
  level = high ? uint8_t(level | bit) : uint8_t(level & ~bit);
}

unsigned Pic8259::Chip::acknowledge(bool* spurious) {
  int line = pendingLine();
  if (line < 0) {  // the request went away before INTA: the chip answers with IR7, ISR untouched
    *spurious = true;
    return 7;
  }
  *spurious = false;
  uint8_t bit = uint8_t(1u << line);
  if (!(ltim || (elcr & bit))) irr &= uint8_t(~bit);
  if (!auto_eoi) isr |= bit;
  else if (rotate_aeoi) lowest = uint8_t(line);
  return unsigned(line);
}

void Pic8259::Chip::eoi(unsigned line, bool rotate) {
  isr &= uint8_t(~(1u << line));
  if (rotate) lowest = uint8_t(line);
}

void Pic8259::Chip::writeCommand(uint8_t v) {
  if (v & 0x10) {  // ICW1: IMR, ISR and priorities reset; edge-latched requests are dropped
    uint8_t keep_elcr = elcr, keep_level = level;
    *this = Chip{};
    elcr = keep_elcr;
    level = keep_level;
    irr = uint8_t(level & elcr);
    ic4 = v & 0x01;
    single = v & 0x02;
    ltim = v & 0x08;
    if (ltim) irr = level;
    init_step = 2;
    return;
  }
  if (v & 0x08) {  // OCW3
    if (v & 0x04) poll = true;
    if (v & 0x02) read_isr = v & 0x01;
    if (v & 0x40) special_mask = v & 0x20;
    return;
  }
  unsigned line = v & 7;  // OCW2
  switch (v >> 5) {
    case 0: rotate_aeoi = false; break;
    case 4: rotate_aeoi = true; break;
    case 1:
    case 5: {
      int served = highestIn(isr);
      if (served >= 0) eoi(unsigned(served), (v >> 5) == 5);
      break;
    }
    case 3: eoi(line, false); break;
    case 7: eoi(line, true); break;
    case 6: lowest = uint8_t(line); break;
    default: break;  // 2: no operation
  }
}

void Pic8259::Chip::writeData(uint8_t v) {
  switch (init_step) {
    case 2:
      vector_base = v & 0xf8;
      init_step = single ? (ic4 ? 4 : 0) : 3;
      break;
    case 3:  // ICW3: cascade wiring, fixed on a PC
      init_step = ic4 ? 4 : 0;
      break;
    case 4:  // ICW4: bit 1 AEOI, bit 4 SFNM; 8086 mode and buffering do not matter here
      auto_eoi = v & 0x02;
      sfnm = v & 0x10;
      init_step = 0;
      break;
    default: imr = v; break;
  }
}

uint8_t Pic8259::Chip::readCommand() {
  if (poll) {  // a poll is an INTA by software: the answer is 0x80 | level, or 0 if none
    poll = false;
    if (pendingLine() < 0) return 0;
    bool spurious;
    return uint8_t(0x80 | acknowledge(&spurious));
  }
  return read_isr ? isr : irr;
}

Pic8259::Pic8259() {
  // As SeaBIOS leaves the PICs when it jumps to a Multiboot kernel: the master at vector 0x08,
  // the slave at 0x70, only the timer, keyboard and cascade lines unmasked.
  master_.vector_base = 0x08;
  slave_.vector_base = 0x70;
  master_.imr = 0xb8;
  slave_.imr = 0x8e;
}

void Pic8259::attach(IoBus& bus, std::function<void()> sync) {
  sync_ = std::move(sync);
  auto chip = [this](uint16_t port) -> Chip& { return (port & 0x80) ? slave_ : master_; };
  for (uint16_t base : {uint16_t(0x20), uint16_t(0xa0)})
    bus.add(base, 2,
            [this, chip](uint16_t port, unsigned) -> uint32_t {
              sync_();
              Chip& c = chip(port);
              uint8_t v = (port & 1) ? c.readData() : c.readCommand();
              if (&c == &slave_) cascade();
              return v;
            },
            [this, chip](uint16_t port, unsigned, uint32_t v) {
              sync_();
              Chip& c = chip(port);
              if (port & 1) c.writeData(uint8_t(v));
              else c.writeCommand(uint8_t(v));
              cascade();
            });
  // ELCR: lines 0-2 of the master and 8 and 13 of the slave are always edge-triggered.
  bus.add(0x4d0, 2,
          [this](uint16_t port, unsigned) -> uint32_t { return (port & 1) ? slave_.elcr : master_.elcr; },
          [this](uint16_t port, unsigned, uint32_t v) {
            if (port & 1) slave_.elcr = uint8_t(v) & 0xde;
            else master_.elcr = uint8_t(v) & 0xf8;
          });
}

void Pic8259::setIrq(unsigned irq, bool high) {
  if (!(cut_lines >> irq & 1)) setIrqUncut(irq, high);
}

void Pic8259::setIrqUncut(unsigned irq, bool high) {
  if (line_observer) line_observer(irq, high);
  if (irq < 8) {
    if (irq != 2) master_.setLine(irq, high);  // IR2 carries the slave
    return;
  }
  slave_.setLine(irq & 7, high);
  cascade();
}

bool Pic8259::wouldInterrupt(unsigned irq) const {
  Pic8259 probe = *this;
  probe.line_observer = nullptr;
  probe.setIrqUncut(irq, true);
  return probe.pending();
}

uint8_t Pic8259::acknowledge() {
  bool spurious;
  unsigned line = master_.acknowledge(&spurious);
  if (spurious) {
    ++spurious_;
    return uint8_t(master_.vector_base + 7);
  }
  if (line != 2) {
    ++delivered_[line];
    return uint8_t(master_.vector_base + line);
  }
  unsigned sline = slave_.acknowledge(&spurious);
  cascade();
  if (spurious) {
    ++spurious_;
    return uint8_t(slave_.vector_base + 7);
  }
  ++delivered_[8 + sline];
  return uint8_t(slave_.vector_base + sline);
}

}  // namespace btvm
