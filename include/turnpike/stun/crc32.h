// CRC-32 as FINGERPRINT uses it (RFC 8489 §14.7: ISO/IEC 3309 / ITU-T V.42, the reflected
// polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF — the CRC of zlib and Ethernet).
// Every message a browser sends carries FINGERPRINT and parse() checks it, so this is on the
// packet path: x86-64 CPUs with PCLMULQDQ fold 64 bytes per step with carry-less multiplication
// (Intel, "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ", 2009); elsewhere, and
// for the bytes that do not fill a 16-byte block, a slicing-by-8 table loop.
#pragma once

#include <cstdint>

#include "turnpike/util/bytes.h"

namespace turnpike::stun {

uint32_t crc32(ByteView bytes) noexcept;
// The table-only version (the reference the accelerated one is tested against).
uint32_t crc32_portable(ByteView bytes) noexcept;
// Whether crc32() uses carry-less multiplication on this CPU.
bool crc32_accelerated() noexcept;

}  // namespace turnpike::stun
